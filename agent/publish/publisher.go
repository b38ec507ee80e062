package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/prometheus/client_golang/prometheus"
)

// Sink delivers queued payloads to one destination.
type Sink interface {
	// Name is the sink's short name ("mqtt", "webhook"): its queue
	// directory and its label in the metrics.
	Name() string
	// Start begins whatever background work the sink needs (connecting).
	Start(ctx context.Context)
	// Deliver sends one payload and returns nil once the far side
	// confirmed it. An error wrapping ErrPermanent drops the payload;
	// any other error is retried with backoff.
	Deliver(ctx context.Context, payload []byte) error
	// Close ends the sink's connection (after Start's ctx ended).
	Close() error
}

// ErrPermanent marks a delivery error that retrying cannot fix (an HTTP
// 4xx other than 408 and 429): the payload is dropped and counted.
var ErrPermanent = errors.New("permanent delivery failure")

// Options configures a Publisher.
type Options struct {
	Policy       Policy
	Plausibility Plausibility
	// QueueDir holds one queue directory per sink (QueueDir/<sink name>).
	QueueDir string
	Queue    QueueOptions
	// BackoffMin and BackoffMax bound the retry delay after a failed
	// delivery, doubled per failure with ±20% jitter (defaults 100 ms, 30 s).
	BackoffMin, BackoffMax time.Duration
	Log                    *slog.Logger
}

// Publisher gates readings and feeds every sink's queue; Run delivers them.
type Publisher struct {
	opt  Options
	log  *slog.Logger
	gate *Gate
	in   chan Reading
	outs []*output
	m    *metrics

	pending atomic.Int64 // offered, not yet queued
	wg      sync.WaitGroup
}

type output struct {
	sink      Sink
	q         *Queue
	appendErr string    // the last queue write error logged ("" : none since)
	dropLog   time.Time // when dropped readings were last logged
}

// New opens the sinks' queues. Close it when done.
func New(opt Options, sinks ...Sink) (*Publisher, error) {
	if len(sinks) == 0 {
		return nil, errors.New("publish: no sink")
	}
	if opt.QueueDir == "" {
		return nil, errors.New("publish: no queue directory")
	}
	if opt.BackoffMin <= 0 {
		opt.BackoffMin = 100 * time.Millisecond
	}
	if opt.BackoffMax < opt.BackoffMin {
		opt.BackoffMax = max(30*time.Second, opt.BackoffMin)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{opt: opt, log: opt.Log, gate: NewGate(opt.Plausibility, opt.Policy),
		in: make(chan Reading, 1024), m: newMetrics()}
	if err := p.loadLast(); err != nil {
		return nil, err
	}
	for _, s := range sinks {
		q, err := OpenQueue(filepath.Join(opt.QueueDir, s.Name()), opt.Queue)
		if err != nil {
			p.Close()
			return nil, err
		}
		if n := q.Len(); n > 0 {
			p.log.Info("publish: readings waiting from an earlier run", "sink", s.Name(), "queued", n)
		}
		if q.Lost() > 0 {
			p.log.Warn("publish: queue had corrupt records; cut them off", "sink", s.Name(), "spots", q.Lost())
		}
		p.outs = append(p.outs, &output{sink: s, q: q})
		p.m.add(s.Name(), q)
	}
	return p, nil
}

// Collectors are the publisher's Prometheus metrics, to register beside
// the agent's.
func (p *Publisher) Collectors() []prometheus.Collector { return p.m.collectors() }

// Offer hands a reading to the publisher without blocking. If the
// publisher is more than 1024 readings behind, the reading is dropped and
// counted (recognition never waits for publishing).
func (p *Publisher) Offer(r Reading) {
	p.pending.Add(1)
	select {
	case p.in <- r:
	default:
		p.pending.Add(-1)
		p.m.overflow.Inc()
	}
}

// Run gates offered readings into the queues and delivers each queue in
// order until ctx ends. Call it once.
func (p *Publisher) Run(ctx context.Context) {
	for _, o := range p.outs {
		o.sink.Start(ctx)
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.deliver(ctx, o) }()
	}
	for {
		select {
		case <-ctx.Done():
			p.wg.Wait()
			return
		case r := <-p.in:
			p.accept(r)
			p.pending.Add(-1)
		}
	}
}

func (p *Publisher) accept(r Reading) {
	before, had := p.gate.Last()
	v := p.gate.Check(r)
	if after, ok := p.gate.Last(); ok && (!had || after != before) && p.meter() {
		p.saveLast(after)
	}
	if v.Held != "" {
		p.m.held.WithLabelValues(v.Held).Inc()
		p.log.Debug("publish: reading held back", "rule", v.Held, "digits", r.Digits, "seq", r.Seq)
		return
	}
	if !v.Publish {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		p.log.Error("publish: encoding reading", "err", err)
		return
	}
	for _, o := range p.outs {
		before := o.q.Dropped()
		if _, err := o.q.Append(b); err != nil {
			p.m.appendErrors.WithLabelValues(o.sink.Name()).Inc()
			// One line per kind of failure (a full disk fails every reading).
			if msg := err.Error(); msg != o.appendErr {
				p.log.Error("publish: cannot write readings to the queue; they are not sent until it works again (queued ones are kept)",
					"sink", o.sink.Name(), "err", err)
				o.appendErr = msg
			}
			continue
		}
		if o.appendErr != "" {
			p.log.Info("publish: queue writable again", "sink", o.sink.Name())
			o.appendErr = ""
		}
		// A full queue drops one reading per new one: log it at most once
		// a minute (the counter has every drop).
		if d := o.q.Dropped() - before; d > 0 && time.Since(o.dropLog) >= time.Minute {
			p.log.Warn("publish: queue full; dropping the oldest readings", "sink", o.sink.Name(), "dropped_total", o.q.Dropped(), "queued", o.q.Len())
			o.dropLog = time.Now()
		}
	}
}

// deliver sends o's queue in order: one record at a time, removed only
// once the sink confirmed it.
func (p *Publisher) deliver(ctx context.Context, o *output) {
	name := o.sink.Name()
	backoff := p.opt.BackoffMin
	failing := ""
	for ctx.Err() == nil {
		seq, payload, ok := o.q.Front()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-o.q.Ready():
			}
			continue
		}
		err := o.sink.Deliver(ctx, payload)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err == nil:
			if failing != "" {
				p.log.Info("publish: delivering again", "sink", name, "queued", o.q.Len())
				failing = ""
			}
			backoff = p.opt.BackoffMin
			p.m.sent.WithLabelValues(name).Inc()
		case errors.Is(err, ErrPermanent):
			p.m.rejected.WithLabelValues(name).Inc()
			p.log.Error("publish: reading rejected; dropped (not retried)", "sink", name, "seq", seq, "err", err)
		default:
			p.m.retries.WithLabelValues(name).Inc()
			// One line per kind of failure, not one per retry.
			if msg := err.Error(); msg != failing {
				p.log.Warn("publish: delivery failed; readings stay queued and are retried", "sink", name, "err", err, "queued", o.q.Len())
				failing = msg
			} else {
				p.log.Debug("publish: retry failed", "sink", name, "err", err, "in", backoff)
			}
			wait := jitter(backoff)
			var ra *RetryAfterError
			if errors.As(err, &ra) {
				wait = min(max(wait, ra.After), p.opt.BackoffMax)
			}
			if !sleep(ctx, wait) {
				return
			}
			backoff = min(2*backoff, p.opt.BackoffMax)
			continue
		}
		if err := o.q.Ack(seq); err != nil {
			p.log.Error("publish: removing a delivered reading from the queue failed (it may be sent twice)", "sink", name, "err", err)
		}
	}
}

// meter reports whether a rule depends on the last accepted value, which
// is then kept in QueueDir/last-accepted across restarts.
func (p *Publisher) meter() bool {
	return p.opt.Plausibility.Monotonic || p.opt.Plausibility.MaxDelta > 0
}

func (p *Publisher) lastPath() string { return filepath.Join(p.opt.QueueDir, "last-accepted") }

func (p *Publisher) loadLast() error {
	if !p.meter() {
		return nil
	}
	b, err := os.ReadFile(p.lastPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return fmt.Errorf("publish: %s: %w (delete it to start over)", p.lastPath(), err)
	}
	p.gate.SetLast(v)
	p.log.Info("publish: plausibility goes on from the last accepted reading", "value", v, "file", p.lastPath())
	return nil
}

func (p *Publisher) saveLast(v uint64) {
	if err := os.MkdirAll(p.opt.QueueDir, 0o700); err != nil {
		p.log.Warn("publish: saving the last accepted reading", "err", err)
		return
	}
	if err := atomicfile.WriteFile(p.lastPath(), []byte(strconv.FormatUint(v, 10)+"\n"), 0o600); err != nil {
		p.log.Warn("publish: saving the last accepted reading", "err", err)
	}
}

// Dropped is the number of readings dropped from full queues, all sinks.
func (p *Publisher) Dropped() uint64 {
	var n uint64
	for _, o := range p.outs {
		n += o.q.Dropped()
	}
	return n
}

// Drain waits until every queue is empty or ctx ends, and reports how many
// readings are still queued.
func (p *Publisher) Drain(ctx context.Context) int {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		n := 0
		for _, o := range p.outs {
			n += o.q.Len()
		}
		n += int(p.pending.Load())
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
	}
}

// Close closes the sinks and the queues (after Run returned).
func (p *Publisher) Close() error {
	var errs []error
	for _, o := range p.outs {
		if err := o.sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("publish: %s: %w", o.sink.Name(), err))
		}
		if err := o.q.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
