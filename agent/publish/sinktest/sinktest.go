// Package sinktest is the contract every publish.Sink passes (MQTT,
// webhook, and any sink added later): run it from the sink's tests with a
// live far side.
package sinktest

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/agent/publish"
)

// Far is the live far side a sink delivers to.
type Far struct {
	// Received returns the payloads received so far, in order.
	Received func() []string
}

var nameRE = regexp.MustCompile(`^[a-z0-9-]+$`)

// Run checks the Sink contract on sinks made by open (a fresh one per
// subtest, aimed at far):
//   - Name is a short lower-case word (it names the queue directory);
//   - after Start, Deliver returns nil once the far side confirmed the
//     payload (a broker's PUBACK, an HTTP 2xx), and payloads arrive in the
//     order delivered;
//   - Deliver with a cancelled context returns an error promptly;
//   - Close returns promptly after Start's context ended, and also
//     without Start.
func Run(t *testing.T, open func(t *testing.T) publish.Sink, far Far) {
	t.Run("Name", func(t *testing.T) {
		if n := open(t).Name(); !nameRE.MatchString(n) {
			t.Fatalf("Name() = %q: want a lower-case word (it names the queue directory)", n)
		}
	})
	t.Run("DeliverConfirmsInOrder", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		s.Start(ctx)
		before := len(far.Received())
		for _, p := range []string{`{"seq":1}`, `{"seq":2}`, `{"seq":3}`} {
			dctx, dcancel := context.WithTimeout(ctx, 20*time.Second)
			err := s.Deliver(dctx, []byte(p))
			dcancel()
			if err != nil {
				t.Fatalf("Deliver(%s): %v", p, err)
			}
		}
		// Confirmed means the far side (a broker) has them: a subscriber
		// behind it gets them soon after, in order.
		deadline := time.Now().Add(10 * time.Second)
		for len(far.Received())-before < 3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		got := far.Received()[before:]
		if len(got) != 3 || got[0] != `{"seq":1}` || got[1] != `{"seq":2}` || got[2] != `{"seq":3}` {
			t.Fatalf("far side got %q, want the 3 payloads in order", got)
		}
		cancel()
		closeSoon(t, s)
	})
	t.Run("CancelledDeliver", func(t *testing.T) {
		s := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		s.Start(ctx)
		dctx, dcancel := context.WithCancel(ctx)
		dcancel()
		done := make(chan error, 1)
		go func() { done <- s.Deliver(dctx, []byte(`{"seq":9}`)) }()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Deliver with a cancelled context returned nil")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Deliver with a cancelled context did not return")
		}
		cancel()
		closeSoon(t, s)
	})
	t.Run("CloseWithoutStart", func(t *testing.T) { closeSoon(t, open(t)) })
}

func closeSoon(t *testing.T, s publish.Sink) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}
