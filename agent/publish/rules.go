package publish

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mode says which accepted readings are published.
type Mode int

const (
	// OnChange publishes a reading whose digits differ from the last
	// published one (the first reading is always published).
	OnChange Mode = iota
	// Every publishes every accepted reading.
	Every
	// Interval publishes the first accepted reading at least Policy.Every
	// after the previously published one.
	Interval
)

// Policy is the --publish rule.
type Policy struct {
	Mode  Mode
	Every time.Duration // Interval only
}

// ParsePolicy parses "change", "every" or "interval=DURATION".
func ParsePolicy(s string) (Policy, error) {
	switch {
	case s == "change" || s == "":
		return Policy{Mode: OnChange}, nil
	case s == "every":
		return Policy{Mode: Every}, nil
	case strings.HasPrefix(s, "interval="):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "interval="))
		if err != nil || d <= 0 {
			return Policy{}, fmt.Errorf("publish: %q: want interval=DURATION with a positive duration such as 10s", s)
		}
		return Policy{Mode: Interval, Every: d}, nil
	}
	return Policy{}, fmt.Errorf("publish: %q: want change, every or interval=DURATION", s)
}

func (p Policy) String() string {
	switch p.Mode {
	case Every:
		return "every"
	case Interval:
		return "interval=" + p.Every.String()
	}
	return "change"
}

// Plausibility holds the opt-in rules of meter readers; the zero value
// accepts everything.
type Plausibility struct {
	// Monotonic holds back a reading lower than the last accepted one.
	Monotonic bool
	// MaxDelta, when > 0, holds back a reading that differs from the last
	// accepted one by more than MaxDelta.
	MaxDelta uint64
	// Agree, when > 1, accepts a reading only when the last Agree frames
	// all read the same.
	Agree int
}

// Verdict is what the Gate decided about one reading.
type Verdict struct {
	Publish bool
	// Held is the plausibility rule that held the reading back
	// ("agree", "monotonic", "max-delta", "not-a-number"), "" if none.
	Held string
}

// Gate applies the Plausibility rules and then the Policy to a stream of
// readings. It is not safe for concurrent use.
type Gate struct {
	rules  Plausibility
	policy Policy

	recent   []string // digits of the last frames (Agree)
	accepted bool     // a numeric reading has been accepted
	last     uint64   // the last accepted value
	pubbed   bool
	lastPub  Reading
}

// NewGate returns a Gate for the rules and the policy.
func NewGate(rules Plausibility, policy Policy) *Gate {
	return &Gate{rules: rules, policy: policy}
}

// Last is the last accepted numeric reading (ok false: none yet).
func (g *Gate) Last() (v uint64, ok bool) { return g.last, g.accepted }

// SetLast restores the last accepted value (after a restart), so that
// Monotonic and MaxDelta go on from it.
func (g *Gate) SetLast(v uint64) { g.last, g.accepted = v, true }

// Check decides whether r is published. Readings without digits are
// subject to Agree and the Policy only (a meter's no-digit frames neither
// advance nor violate the monotonic value).
func (g *Gate) Check(r Reading) Verdict {
	if k := g.rules.Agree; k > 1 {
		if len(g.recent) == k {
			copy(g.recent, g.recent[1:])
			g.recent = g.recent[:k-1]
		}
		g.recent = append(g.recent, r.Digits)
		if len(g.recent) < k {
			return Verdict{Held: "agree"}
		}
		for _, d := range g.recent {
			if d != r.Digits {
				return Verdict{Held: "agree"}
			}
		}
	}
	if r.Digits != "" && (g.rules.Monotonic || g.rules.MaxDelta > 0) {
		v, err := strconv.ParseUint(r.Digits, 10, 64)
		if err != nil {
			return Verdict{Held: "not-a-number"}
		}
		if g.accepted {
			if g.rules.Monotonic && v < g.last {
				return Verdict{Held: "monotonic"}
			}
			if d := max(v, g.last) - min(v, g.last); g.rules.MaxDelta > 0 && d > g.rules.MaxDelta {
				return Verdict{Held: "max-delta"}
			}
		}
		g.accepted, g.last = true, v
	}
	pub := false
	switch {
	case !g.pubbed:
		pub = true
	case g.policy.Mode == Every:
		pub = true
	case g.policy.Mode == OnChange:
		pub = r.Digits != g.lastPub.Digits
	case g.policy.Mode == Interval:
		pub = r.Time.Sub(g.lastPub.Time) >= g.policy.Every
	}
	if pub {
		g.pubbed, g.lastPub = true, r
	}
	return Verdict{Publish: pub}
}
