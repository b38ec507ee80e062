// Package healthgate is the board-side health gate of a deployed service:
// `edgecnn healthcheck`, run by the unit's ExecStartPost=, waits until
// the agent's /healthz answers 2xx and fails the start otherwise, so a
// release that does not become healthy counts as a failed start and,
// after the unit's StartLimitBurst= of them, triggers the board-side
// rollback (see deploy's edgecnn-rollback). It uses only the standard
// library, so it is part of the board binary.
package healthgate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout is how long Wait waits unless told otherwise.
const DefaultTimeout = 30 * time.Second

// Options configure Wait.
type Options struct {
	// Timeout bounds the whole wait (default 30s); Interval is the pause
	// between tries (default 500ms).
	Timeout  time.Duration `flag:"timeout" usage:"how long to wait for a 2xx answer"`
	Interval time.Duration
	// Client does the requests (nil: a client with a 5 s timeout per try
	// that uses no proxy from the environment).
	Client *http.Client
}

// Wait fetches rawURL until it answers 2xx or the timeout ends, and
// returns the last failure then. Only http and https URLs are accepted.
func Wait(ctx context.Context, rawURL string, o Options) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("healthcheck: %q is not an http(s) URL", rawURL)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	tries := 0
	var last error
	for {
		tries++
		err := once(ctx, o.Client, u.String())
		if err == nil {
			return nil
		}
		// An attempt cut short by the deadline says less than the one
		// before it (a 503 with its reason, a refused connection).
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("healthcheck: %s not healthy after %s (%d tries): %w", u, o.Timeout, tries, last)
		case <-time.After(o.Interval):
		}
	}
}

func once(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return errors.New("no answer")
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
