package armmodel

import (
	"os"
	"strings"
	"testing"
)

// TestOutputTrips: the trip counts of outputNEON's segments for calls
// derived by hand from gen_output_arm64.go's loop (steps of 8 channels
// alternating between on_a and on_b; a partial last step stores byte by
// byte), and the seed CNN's total as Σ segment × trips.
func TestOutputTrips(t *testing.T) {
	for _, c := range []struct {
		call OutputCall
		want map[string]int64
	}{
		// 8 steps: 4 a, 4 b, the last b full and the end.
		{OutputCall{"conv2", 1, 7, 64, true}, map[string]int64{"on_pix": 7, "on_loop": 28, "on_loop#1": 28, "on_a_nomax": 28, "on_a_nomax#1": 28,
			"on_a_nomax#2": 28, "on_a_nomax#3": 28, "on_b_nomax": 28, "on_b_nomax#1": 28, "on_b_nomax#2": 21, "on_tail": 0, "on_next": 7}},
		// 2 steps: a full, b partial (2 bytes one by one).
		{OutputCall{"fc2", 1, 1, 10, true}, map[string]int64{"on_pix": 1, "on_loop": 1, "on_loop#1": 1, "on_a_nomax": 1, "on_a_nomax#1": 1,
			"on_a_nomax#2": 1, "on_a_nomax#3": 1, "on_b_nomax": 1, "on_b_nomax#1": 0, "on_b_nomax#2": 0, "on_tail": 2, "on_next": 1}},
		// 1 partial step, no pooling: a only, 5 bytes one by one.
		{OutputCall{"rows", 1, 3, 5, false}, map[string]int64{"on_pix": 3, "on_loop": 3, "on_loop#1": 0, "on_a_nomax": 3, "on_a_nomax#1": 0,
			"on_a_nomax#2": 0, "on_a_nomax#3": 0, "on_b_nomax": 0, "on_b_nomax#1": 0, "on_b_nomax#2": 0, "on_tail": 15, "on_next": 3}},
		// 3 full steps: a, b, a; the b goes back to on_loop.
		{OutputCall{"odd", 1, 2, 24, true}, map[string]int64{"on_pix": 2, "on_loop": 4, "on_loop#1": 4, "on_a_nomax": 4, "on_a_nomax#1": 4,
			"on_a_nomax#2": 2, "on_a_nomax#3": 2, "on_b_nomax": 2, "on_b_nomax#1": 2, "on_b_nomax#2": 2, "on_tail": 0, "on_next": 2}},
	} {
		for seg, want := range c.want {
			if got, ok := OutputTrips(seg, c.call); !ok || got != want {
				t.Errorf("%+v %s: trips %d (rule %v), want %d", c.call, seg, got, ok, want)
			}
		}
	}
	ks, _ := load(t)
	var want int64
	for _, c := range SeedOutputCalls() {
		for _, sg := range ks["outputNEON"] {
			n, _ := OutputTrips(sg.Name, c)
			want += int64(c.Calls) * n * sg.Instr
		}
	}
	got, err := ks.CountOutput(SeedOutputCalls())
	if err != nil {
		t.Fatal(err)
	}
	if got.Instr != want || got.Instr == 0 {
		t.Fatalf("seed requantization: %d instructions, want %d", got.Instr, want)
	}
	// Per 8 pooled channels the kernel runs one step: its instructions
	// are most of the total (9,546 channels in all).
	if per := float64(got.Instr) / 9546; per < 8 || per > 14 {
		t.Errorf("%.1f instructions per channel", per)
	}
}

// TestOutputUnknownSegmentRefused: a loop the output rules do not know is
// an error.
func TestOutputUnknownSegmentRefused(t *testing.T) {
	src, err := os.ReadFile("../output_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), "on_tail:\n", "on_extra:\n\tSUBS $1, R4, R4\n\tBNE on_extra\non_tail:\n", 1)
	ks, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.CountOutput(SeedOutputCalls()); err == nil || !strings.Contains(err.Error(), "on_extra") {
		t.Fatalf("unknown segment: err = %v", err)
	}
}
