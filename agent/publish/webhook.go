package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// WebhookConfig configures the webhook sink.
type WebhookConfig struct {
	URL     string        // http:// or https://
	Timeout time.Duration // per request, including reading the answer (default 10 s)
	Client  *http.Client  // default: a client with Timeout
}

// Webhook POSTs each reading's JSON to a URL. A 2xx answer confirms it;
// 408, 429, 5xx, time-outs and network errors are retried (the reading
// stays queued); any other 4xx means the server will never accept this
// request, so the reading is dropped (counted and logged) rather than
// blocking every later reading behind it.
type Webhook struct {
	cfg   WebhookConfig
	where string
}

// NewWebhook validates cfg.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook: URL: %w", redact(err, cfg.URL))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: URL %q: want http://host/path or https://host/path", u.Redacted())
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	return &Webhook{cfg: cfg, where: u.Scheme + "://" + u.Host + u.Path}, nil
}

// RetryAfterError is a transient failure whose server asked to wait
// (HTTP Retry-After in seconds); the publisher waits at least that long,
// up to its maximum backoff.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Name implements Sink.
func (w *Webhook) Name() string { return "webhook" }

// Start implements Sink (nothing to do: every delivery is one request).
func (w *Webhook) Start(context.Context) {}

// Close implements Sink.
func (w *Webhook) Close() error { return nil }

// Deliver implements Sink.
func (w *Webhook) Deliver(ctx context.Context, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("webhook: %w", errors.Join(ErrPermanent, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "edgecnn")
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold credentials
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("webhook %s: no answer within %v", w.where, w.cfg.Timeout)
		}
		return fmt.Errorf("webhook %s: %w", w.where, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		err := fmt.Errorf("webhook %s: HTTP %s", w.where, resp.Status)
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return &RetryAfterError{Err: err, After: time.Duration(min(s, 3600)) * time.Second}
		}
		return err
	default:
		return fmt.Errorf("webhook %s: HTTP %s: %w", w.where, resp.Status, ErrPermanent)
	}
}
