package publish

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// hook is a real local HTTP server whose answers a test scripts.
type hook struct {
	mu     sync.Mutex
	got    []uint64 // seqs of accepted readings
	answer func(r Reading) int
	calls  atomic.Int64
	srv    *httptest.Server
}

func newHook(t *testing.T, answer func(Reading) int) *hook {
	h := &hook{answer: answer}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.calls.Add(1)
		b, _ := io.ReadAll(req.Body)
		var r Reading
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &r) != nil {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		code := h.answer(r)
		if code == 200 {
			h.mu.Lock()
			h.got = append(h.got, r.Seq)
			h.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) seqs() []uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]uint64(nil), h.got...)
}

func newWebhook(t *testing.T, url string, timeout time.Duration) *Webhook {
	w, err := NewWebhook(WebhookConfig{URL: url, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWebhook500ThenOK: a server answering 500 for a while gets every
// reading, in order, once it recovers; one warning line, not one per retry.
func TestWebhook500ThenOK(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	h := newHook(t, func(Reading) int {
		if failing.Load() {
			return 500
		}
		return 200
	})
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log}, newWebhook(t, h.srv.URL+"/in", time.Second))
	for i := 1; i <= 10; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 10*time.Second, "several failed attempts", func() bool { return h.calls.Load() >= 4 })
	waitUntil(t, 10*time.Second, "10 readings queued during the 500s", func() bool { return p.queued() == 10 })
	failing.Store(false)
	waitUntil(t, 10*time.Second, "10 readings accepted", func() bool { return len(h.seqs()) == 10 })
	checkInOrder(t, h.seqs(), 10)
	if w := lb.lines("level=WARN", "500"); len(w) != 1 {
		t.Errorf("want one warning about the 500s, got %d: %q", len(w), w)
	}
	if got := testutil.ToFloat64(p.m.retries.WithLabelValues("webhook")); got < 3 {
		t.Errorf("retries counter %v", got)
	}
}

// TestWebhookHangs: a server that never answers is given up on after the
// timeout, and the reading is delivered once it answers again.
func TestWebhookHangs(t *testing.T) {
	var hang atomic.Bool
	hang.Store(true)
	release := make(chan struct{})
	h := newHook(t, func(Reading) int {
		if hang.Load() {
			<-release
			return 200 // too late: the client gave up
		}
		return 200
	})
	defer close(release)
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log}, newWebhook(t, h.srv.URL, 100*time.Millisecond))
	p.Offer(reading(1))
	p.Offer(reading(2))
	waitUntil(t, 10*time.Second, "a timed-out request", func() bool { return len(lb.lines("no answer within")) >= 1 })
	hang.Store(false)
	waitUntil(t, 10*time.Second, "2 readings", func() bool { return len(h.seqs()) >= 2 })
	checkInOrder(t, h.seqs(), 2)
}

// TestWebhook4xxDropped: a 400 is not retried (documented: the request
// itself is wrong), the reading is counted as rejected and the next one
// goes through; 429 and 408 are retried.
func TestWebhook4xxDropped(t *testing.T) {
	var n429 atomic.Int64
	h := newHook(t, func(r Reading) int {
		switch r.Seq {
		case 2:
			return 400
		case 3:
			if n429.Add(1) <= 2 {
				return 429
			}
		case 4:
			if n429.Add(1) <= 4 {
				return 408
			}
		}
		return 200
	})
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log}, newWebhook(t, h.srv.URL, time.Second))
	for i := 1; i <= 5; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 10*time.Second, "4 readings accepted", func() bool { return len(h.seqs()) == 4 })
	if got := h.seqs(); got[0] != 1 || got[1] != 3 || got[2] != 4 || got[3] != 5 {
		t.Fatalf("accepted %v, want [1 3 4 5]", got)
	}
	if got := testutil.ToFloat64(p.m.rejected.WithLabelValues("webhook")); got != 1 {
		t.Errorf("rejected counter %v, want 1", got)
	}
	if e := lb.lines("level=ERROR", "rejected", "400"); len(e) != 1 {
		t.Errorf("want one error line for the 400, got %q", e)
	}
}

// TestWebhookRefused: nothing listens (connection refused); readings wait
// and go out once a server listens on that address.
func TestWebhookRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log}, newWebhook(t, "http://"+addr+"/hook", time.Second))
	for i := 1; i <= 3; i++ {
		p.Offer(reading(i))
	}
	waitUntil(t, 10*time.Second, "a refused connection", func() bool { return len(lb.lines("refused")) >= 1 })
	waitUntil(t, 10*time.Second, "3 readings queued", func() bool { return p.queued() == 3 })
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen on %s again (taken by another process meanwhile): %v", addr, err)
	}
	h := newHook(t, func(Reading) int { return 200 })
	h.srv.Close()
	srv := &http.Server{Handler: h.srv.Config.Handler}
	go srv.Serve(l)
	defer srv.Close()
	waitUntil(t, 10*time.Second, "3 readings", func() bool { return len(h.seqs()) == 3 })
	checkInOrder(t, h.seqs(), 3)
}

func TestWebhookConfigErrors(t *testing.T) {
	for _, u := range []string{"ftp://x/y", "http://", "://", "localhost:8080"} {
		if _, err := NewWebhook(WebhookConfig{URL: u}); err == nil {
			t.Errorf("NewWebhook(%q) accepted", u)
		}
	}
	_, err := NewWebhook(WebhookConfig{URL: "ftp://user:hunter2@x/"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v (must not show the password)", err)
	}
}

// TestPublisherMetricsAndDrops: a full queue drops the oldest with a
// counter that /metrics shows, and the gate's held-back readings are
// counted by rule.
func TestPublisherMetricsAndDrops(t *testing.T) {
	var block atomic.Bool
	block.Store(true)
	h := newHook(t, func(Reading) int {
		if block.Load() {
			return 503
		}
		return 200
	})
	log, lb := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Plausibility: Plausibility{Monotonic: true},
		Queue: QueueOptions{MaxRecords: 5}, Log: log}, newWebhook(t, h.srv.URL, time.Second))
	for i := 1; i <= 8; i++ {
		p.Offer(Reading{Seq: uint64(i), Digits: "10" + string(rune('0'+i))})
	}
	p.Offer(Reading{Seq: 9, Digits: "100"}) // lower: held back
	waitUntil(t, 5*time.Second, "a full queue", func() bool { return p.outs[0].q.Dropped() == 3 })
	waitUntil(t, 5*time.Second, "the held-back reading counted", func() bool {
		return testutil.ToFloat64(p.m.held.WithLabelValues("monotonic")) == 1
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collectors()...)
	if n, err := testutil.GatherAndCount(reg, "edgecnn_publish_dropped_total", "edgecnn_publish_queued", "edgecnn_publish_held_total"); err != nil || n != 3 {
		t.Fatalf("metrics: %d series, %v", n, err)
	}
	want := `
# HELP edgecnn_publish_dropped_total Oldest readings dropped because the queue was full (over the queue's life).
# TYPE edgecnn_publish_dropped_total counter
edgecnn_publish_dropped_total{sink="webhook"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "edgecnn_publish_dropped_total"); err != nil {
		t.Fatal(err)
	}
	if n := len(lb.lines("level=WARN", "queue full")); n != 1 {
		t.Errorf("%d log lines for the 3 dropped readings, want 1 (the counter has every drop)", n)
	}
	block.Store(false)
	waitUntil(t, 10*time.Second, "the 5 newest readings", func() bool { return len(h.seqs()) == 5 })
	if got := h.seqs(); got[0] != 4 || got[4] != 8 {
		t.Fatalf("delivered %v, want 4..8", got)
	}
}

// TestWebhookRetryAfter: a 503 with Retry-After: 1 is retried no sooner
// than a second later (the publisher's own backoff starts at 20 ms here).
func TestWebhookRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var calls []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		calls = append(calls, time.Now())
		n := len(calls)
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	log, _ := testLogger(t)
	p := startPublisher(t, Options{Policy: Policy{Mode: Every}, Log: log, BackoffMin: 20 * time.Millisecond, BackoffMax: 5 * time.Second},
		newWebhook(t, srv.URL, time.Second))
	p.Offer(reading(1))
	waitUntil(t, 10*time.Second, "the retry", func() bool { mu.Lock(); defer mu.Unlock(); return len(calls) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if gap := calls[1].Sub(calls[0]); gap < time.Second {
		t.Fatalf("retried after %v despite Retry-After: 1", gap)
	}
}
