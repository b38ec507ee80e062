package publish

import (
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
	// again (published already: no change); 8 after three 8s.
	if pub != "7,8" {
		t.Errorf("agree=3: published %q", pub)
	}
	if strings.Count(held, "agree") != 6 {
		t.Errorf("agree=3: held %q, want 6 agree", held)
	}
}
