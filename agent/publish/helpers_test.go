package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// logBuf is a concurrency-safe log sink for slog.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log lines containing all of the words.
func (l *logBuf) lines(words ...string) []string {
	var out []string
	for _, ln := range strings.Split(l.String(), "\n") {
		ok := ln != ""
		for _, w := range words {
			ok = ok && strings.Contains(ln, w)
		}
		if ok {
			out = append(out, ln)
		}
	}
	return out
}

func testLogger(t *testing.T) (*slog.Logger, *logBuf) {
	lb := &logBuf{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("publisher log:\n%s", lb.String())
		}
	})
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// waitUntil polls cond until it holds or timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startPublisher runs a Publisher over sinks until the test ends.
func startPublisher(t *testing.T, opt Options, sinks ...Sink) *Publisher {
	t.Helper()
	if opt.QueueDir == "" {
		opt.QueueDir = t.TempDir()
	}
	if opt.BackoffMax == 0 {
		opt.BackoffMin, opt.BackoffMax = 20*time.Millisecond, 300*time.Millisecond
	}
	p, err := New(opt, sinks...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; p.Close() })
	return p
}

func (p *Publisher) queued() int {
	n := 0
	for _, o := range p.outs {
		n += o.q.Len()
	}
	return n
}

// message is one message a subscriber received.
type message struct {
	Topic    string
	Payload  string
	Retained bool
}

// subscriber is a real MQTT client (paho) subscribed to topic with QoS 1.
type subscriber struct {
	mu   sync.Mutex
	msgs []message
	c    mqtt.Client
}

// subscribe connects a subscriber; with persistent, its session (and the
// messages queued for it while it is away) survives broker restarts.
func subscribe(t *testing.T, url, id string, persistent bool, topic string) *subscriber {
	t.Helper()
	s := &subscriber{}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(!persistent).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(50 * time.Millisecond).
		SetMaxReconnectInterval(200 * time.Millisecond).SetOrderMatters(true)
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
			s.mu.Lock()
			s.msgs = append(s.msgs, message{m.Topic(), string(m.Payload()), m.Retained()})
			s.mu.Unlock()
		})
	})
	s.c = mqtt.NewClient(opts)
	if tok := s.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	t.Cleanup(func() { s.c.Disconnect(50) })
	return s
}

func (s *subscriber) messages() []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message(nil), s.msgs...)
}

// seqs decodes the state messages' reading sequence numbers.
func (s *subscriber) seqs(t *testing.T) []uint64 {
	var out []uint64
	for _, m := range s.messages() {
		if !strings.HasSuffix(m.Topic, "/state") {
			continue
		}
		var r Reading
		if err := json.Unmarshal([]byte(m.Payload), &r); err != nil {
			t.Fatalf("state message %q: %v", m.Payload, err)
		}
		out = append(out, r.Seq)
	}
	return out
}

// checkInOrder checks that first occurrences of 1..n arrive in order,
// each at least once; it returns the number of duplicates (QoS 1 is at
// least once).
func checkInOrder(t *testing.T, got []uint64, n int) (dups int) {
	t.Helper()
	seen := map[uint64]bool{}
	var next uint64 = 1
	for _, s := range got {
		if seen[s] {
			dups++
			continue
		}
		if s != next {
			t.Fatalf("reading %d arrived where %d was due (received %v)", s, next, got)
		}
		seen[s] = true
		next++
	}
	if int(next-1) != n {
		t.Fatalf("received %d distinct readings, want %d", next-1, n)
	}
	return dups
}

func reading(i int) Reading {
	return Reading{Time: time.Now().UTC(), Seq: uint64(i), Digits: strings.Repeat("1", 1+i%3), Confidence: 0.9}
}
