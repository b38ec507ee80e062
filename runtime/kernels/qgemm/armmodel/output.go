package armmodel

import "fmt"

// OutputAsmPath is where the generated NEON output stage lives.
const OutputAsmPath = "runtime/kernels/qgemm/output_arm64.s"

// OutputCall is one layer's requantization at batch 1: Calls calls of the
// output stage kernel (outputNEON), each over Pixels pooled pixels (or
// rows) of N channels; Pool when the kernel takes the maximum of four
// GEMM rows (Pool2x2, and Row, which passes one row four times).
type OutputCall struct {
	Name             string
	Calls, Pixels, N int
	Pool             bool
}

// SeedOutputCalls are the seed CNN's requantization calls at batch 1 as
// the native engine makes them: one Pool2x2 per pooled row of each conv +
// pool step (14 rows of 14 pixels × 32 channels; 7 of 7 × 64), one Row
// per fully connected layer.
func SeedOutputCalls() []OutputCall {
	return []OutputCall{
		{"conv1", 14, 14, 32, true},
		{"conv2", 7, 7, 64, true},
		{"fc1", 1, 1, 128, true},
		{"fc2", 1, 1, 10, true},
	}
}

// OutputTrips returns how often each segment of outputNEON runs in one
// call, following the loop structure gen_output_arm64.go writes: per
// pixel, steps of 8 channels alternate between the two halves of a
// 16-channel block (on_a, on_b); a full step stores 8 bytes, the last
// partial one stores its bytes one by one (on_tail). ok is false for a
// segment without a rule.
func OutputTrips(segment string, c OutputCall) (n int64, ok bool) {
	px, steps := int64(c.Pixels), int64((c.N+7)/8)
	a, b := (steps+1)/2, steps/2
	tail := int64(c.N % 8)
	var tailA, tailB, lastB, pool int64
	if tail > 0 {
		if steps%2 == 1 {
			tailA = 1
		} else {
			tailB = 1
		}
	}
	if steps%2 == 0 {
		lastB = 1
	}
	if c.Pool {
		pool = 1
	}
	rules := map[string]int64{
		"entry": 1, "on_pix": px, "on_next": px, "on_done": 1,
		"on_loop": px * a, "on_loop#1": px * a * pool, "on_a_nomax": px * a, "on_a_nomax#1": px * (a - tailA),
		"on_a_nomax#2": px * b, "on_a_nomax#3": px * b * pool, "on_b_nomax": px * b, "on_b_nomax#1": px * (b - tailB),
		"on_b_nomax#2": px * (b - lastB), "on_tail": px * tail,
	}
	n, ok = rules[segment]
	return n, ok
}

// CountOutput totals outputNEON's segments over the calls of cs.
func (ks Kernels) CountOutput(cs []OutputCall) (Counts, error) {
	segs, ok := ks["outputNEON"]
	if !ok {
		return Counts{}, fmt.Errorf("armmodel: no kernel outputNEON in the assembly")
	}
	var total Counts
	for _, c := range cs {
		var one Counts
		for _, sg := range segs {
			n, ok := OutputTrips(sg.Name, c)
			if !ok {
				return Counts{}, fmt.Errorf("armmodel: outputNEON segment %s has no trip-count rule (gen_output_arm64.go changed: update OutputTrips)", sg.Name)
			}
			one.add(sg.Counts, n)
		}
		total.add(one, int64(c.Calls))
	}
	return total, nil
}
