package publish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]string{"": "change", "change": "change", "every": "every", "interval=10s": "interval=10s"} {
		p, err := ParsePolicy(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"sometimes", "interval=", "interval=-1s", "interval=abc"} {
		if _, err := ParsePolicy(bad); err == nil {
			t.Errorf("ParsePolicy(%q) accepted", bad)
		}
	}
}

// run feeds digits (one frame per 1 s step) to g and returns the published
// ones and the held-back rules, comma-separated.
func run(g *Gate, digits ...string) (pub, held string) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var p, h []string
	for i, d := range digits {
		v := g.Check(Reading{Time: t0.Add(time.Duration(i) * time.Second), Digits: d})
		if v.Publish {
			p = append(p, d)
		}
		if v.Held != "" {
			h = append(h, v.Held)
		}
	}
	return strings.Join(p, ","), strings.Join(h, ",")
}

func TestGatePolicies(t *testing.T) {
	in := []string{"1", "1", "2", "", "", "2", "3"}
	if pub, _ := run(NewGate(Plausibility{}, Policy{Mode: OnChange}), in...); pub != "1,2,,2,3" {
		t.Errorf("change: published %q", pub)
	}
	if pub, _ := run(NewGate(Plausibility{}, Policy{Mode: Every}), in...); pub != "1,1,2,,,2,3" {
		t.Errorf("every: published %q", pub)
	}
	// One frame a second, at most one reading every 3 s: frames 0, 3, 6.
	if pub, _ := run(NewGate(Plausibility{}, Policy{Mode: Interval, Every: 3 * time.Second}), in...); pub != "1,,3" {
		t.Errorf("interval=3s: published %q", pub)
	}
}

func TestGateMonotonic(t *testing.T) {
	g := NewGate(Plausibility{Monotonic: true}, Policy{Mode: Every})
	pub, held := run(g, "100", "101", "99", "", "102", "1O2", "101", "105")
	if pub != "100,101,,102,105" || held != "monotonic,not-a-number,monotonic" {
		t.Errorf("monotonic: published %q held %q", pub, held)
	}
}

func TestGateMaxDelta(t *testing.T) {
	g := NewGate(Plausibility{MaxDelta: 5}, Policy{Mode: Every})
	pub, held := run(g, "100", "105", "200", "111", "101", "103")
	// 200 and 111 jump by more than 5 from the last accepted 105; 101 is
	// 4 below it (allowed without --monotonic).
	if pub != "100,105,101,103" || held != "max-delta,max-delta" {
		t.Errorf("max-delta: published %q held %q", pub, held)
	}
	g = NewGate(Plausibility{MaxDelta: 5, Monotonic: true}, Policy{Mode: Every})
	if pub, _ := run(g, "100", "99", "104", "110"); pub != "100,104" {
		t.Errorf("monotonic + max-delta: published %q", pub)
	}
}

func TestGateAgree(t *testing.T) {
	g := NewGate(Plausibility{Agree: 3}, Policy{Mode: OnChange})
	pub, held := run(g, "7", "7", "7", "1", "7", "7", "8", "8", "8", "8")
	// 7 after three 7s; the lone 1 breaks the run, so 7 needs three
	// again (published already: no change); 8 after three 8s. Held: the
	// first two frames, the 1, the two 7s after it and the first two 8s.
	if pub != "7,8" {
		t.Errorf("agree=3: published %q", pub)
	}
	if strings.Count(held, "agree") != 7 {
		t.Errorf("agree=3: held %q, want 7 agree", held)
	}
}

// TestMonotonicSurvivesRestart: the last accepted value is kept beside
// the queues, so a restart does not accept a lower misreading.
func TestMonotonicSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := newHook(t, func(Reading) int { return 200 })
	opt := Options{Policy: Policy{Mode: Every}, Plausibility: Plausibility{Monotonic: true}, QueueDir: dir}
	p, err := New(opt, newWebhook(t, h.srv.URL, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	p.accept(Reading{Seq: 1, Digits: "100"})
	p.accept(Reading{Seq: 2, Digits: "105"})
	p.Close()
	p, err = New(opt, newWebhook(t, h.srv.URL, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.accept(Reading{Seq: 3, Digits: "90"})
	p.accept(Reading{Seq: 4, Digits: "106"})
	if got := strings.Join(drainQueue(t, p.outs[0].q), " "); !strings.Contains(got, `"seq":4`) || strings.Contains(got, `"seq":3`) {
		t.Fatalf("after restart queued %s; want 106 (seq 4) and not 90 (seq 3)", got)
	}
	os.WriteFile(filepath.Join(dir, "last-accepted"), []byte("x"), 0o600)
	if _, err := New(opt, newWebhook(t, h.srv.URL, time.Second)); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Fatalf("corrupt last-accepted: err = %v", err)
	}
}
