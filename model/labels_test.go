package model

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateLabels(t *testing.T) {
	digits := strings.Split("0,1,2,3,4,5,6,7,8,9", ",")
	good := [][]string{digits, append(append([]string(nil), digits...), RejectLabel), {"cat", "dog"}}
	for _, l := range good {
		if err := ValidateLabels(l, len(l)); err != nil {
			t.Errorf("%q: %v", l, err)
		}
	}
	bad := map[string]struct {
		labels  string
		classes int
	}{
		"empty label":     {"0,1,2,,4,5,6,7,8,9", 10},
		"blank label":     {"0,1,2, ,4,5,6,7,8,9", 10},
		"too few":         {"0,1,2,3,4,5,6,7,8", 10},
		"too many":        {"0,1,2,3,4,5,6,7,8,9,x", 10},
		"duplicate":       {"0,1,2,3,4,5,6,7,8,8", 10},
		"two reject":      {"0,1,2,3,4,5,6,7,8,x,x", 11},
		"one class short": {"x", 2},
	}
	for name, c := range bad {
		if _, err := ParseLabels(c.labels, c.classes); err == nil {
			t.Errorf("%s: %q for %d classes accepted", name, c.labels, c.classes)
		}
	}
	if err := ValidateLabels([]string{"a,b", "c"}, 2); err == nil {
		t.Error("a label with a comma accepted")
	}
}

func TestRejectIndex(t *testing.T) {
	if i := RejectIndex([]string{"0", "1", RejectLabel}); i != 2 {
		t.Fatalf("RejectIndex = %d, want 2", i)
	}
	if i := RejectIndex([]string{"0", "1"}); i != -1 {
		t.Fatalf("RejectIndex without the class = %d, want -1", i)
	}
}

func TestParseRejectThreshold(t *testing.T) {
	if v, err := ParseRejectThreshold(map[string]string{}); v != 0 || err != nil {
		t.Fatalf("absent: %v %v", v, err)
	}
	if v, err := ParseRejectThreshold(map[string]string{MetaRejectThreshold: "0.85"}); err != nil || v != 0.85 {
		t.Fatalf("0.85: %v %v", v, err)
	}
	for _, s := range []string{"abc", "0", "1", "-0.2", "NaN", "1.5"} {
		if _, err := ParseRejectThreshold(map[string]string{MetaRejectThreshold: s}); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}

// An 11-class model with the reject label and a threshold survives the
// checkpoint and carries both into the graph metadata.
func TestCheckpointRejectClass(t *testing.T) {
	a := SeedArch()
	a.Width, a.Hidden, a.Classes = 2, 4, 11
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	m.Labels[10] = RejectLabel
	m.RejectThreshold = 0.9
	b, err := (&Checkpoint{Model: m}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	ck, err := DecodeCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ck.Model.Labels, ","); got != "0,1,2,3,4,5,6,7,8,9,x" {
		t.Fatalf("labels %q", got)
	}
	if ck.Model.RejectThreshold != 0.9 {
		t.Fatalf("threshold %v", ck.Model.RejectThreshold)
	}
	md := GraphMetadata(ck.Model)
	if md[MetaLabels] != "0,1,2,3,4,5,6,7,8,9,x" || md[MetaRejectThreshold] != "0.9" {
		t.Fatalf("metadata %v", md)
	}
	// without a threshold the key is absent (older readers see nothing new)
	m.RejectThreshold = 0
	if _, ok := GraphMetadata(m)[MetaRejectThreshold]; ok {
		t.Fatal("threshold key written for a model without one")
	}

	// bad labels or threshold in a header: ErrCorrupt, not a silent default
	for name, mutate := range map[string]func(*Model){
		"empty label":     func(m *Model) { m.Labels[3] = "" },
		"duplicate label": func(m *Model) { m.Labels[10] = "9" },
		"two x":           func(m *Model) { m.Labels[9] = RejectLabel },
		"threshold 1":     func(m *Model) { m.RejectThreshold = 1 },
		"threshold < 0":   func(m *Model) { m.RejectThreshold = -0.5 },
	} {
		m2, _ := New(a)
		m2.Labels[10] = RejectLabel
		mutate(m2)
		b, err := (&Checkpoint{Model: m2}).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeCheckpoint(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}
