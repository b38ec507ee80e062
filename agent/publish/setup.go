package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Setup is everything `edgecnn run` needs to publish readings.
type Setup struct {
	MQTT    *MQTTConfig    // nil: no MQTT
	Webhook *WebhookConfig // nil: no webhook
	Options
}

// Open makes the sinks and the publisher; it returns nil, nil when no
// sink is configured.
func Open(s Setup) (*Publisher, error) {
	var sinks []Sink
	if s.MQTT != nil {
		m, err := NewMQTT(*s.MQTT)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, m)
	}
	if s.Webhook != nil {
		w, err := NewWebhook(*s.Webhook)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, w)
	}
	if len(sinks) == 0 {
		if s.Plausibility != (Plausibility{}) {
			return nil, errors.New("publish: --monotonic, --max-delta and --agree need --mqtt or --webhook")
		}
		return nil, nil
	}
	if s.QueueDir == "" {
		s.QueueDir = DefaultQueueDir()
	}
	return New(s.Options, sinks...)
}

// Start runs p in the background; stop it with the returned function,
// which first waits up to drain for the queues to empty, and reports how
// many readings are left queued on disk for the next start.
func (p *Publisher) Start(drain time.Duration) (stop func() int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return func() int {
		dctx, dcancel := context.WithTimeout(context.Background(), drain)
		left := p.Drain(dctx)
		dcancel()
		cancel()
		<-done
		if err := p.Close(); err != nil {
			p.log.Warn("publish: closing", "err", err)
		}
		return left
	}
}

// DefaultQueueDir is $STATE_DIRECTORY/publish under systemd (the unit
// `edgecnn flash` installs sets StateDirectory=), else
// ~/.local/state/edgecnn/publish.
func DefaultQueueDir() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		d, _, _ = strings.Cut(d, ":")
		return filepath.Join(d, "publish")
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "edgecnn", "publish")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "edgecnn", "publish")
	}
	return filepath.Join(os.TempDir(), "edgecnn-publish")
}

// ModelVersion names a model file's version as published: its base name
// and the first 12 hex digits of its SHA-256.
func ModelVersion(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("publish: model version: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("publish: model version: %w", err)
	}
	return filepath.Base(path) + "@sha256:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}
