package vnnipeak

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestLoopMatchesGo: the assembly loop equals its Go twin for random
// sources (including saturating extremes 0/255 × −128/127, where the int32
// sums wrap after enough iterations) and several iteration counts.
func TestLoopMatchesGo(t *testing.T) {
	if !Available() {
		t.Skip("no AVX-512 VNNI here: the loop is the Go twin (nothing to compare)")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		var a, b [64]byte
		for i := range a {
			a[i], b[i] = byte(r.IntN(256)), byte(r.IntN(256))
			if trial == 0 {
				a[i], b[i] = 255, 0x80 // −128: the most negative products
			}
			if trial == 1 {
				a[i], b[i] = 255, 127
			}
		}
		for _, iters := range []int{0, 1, 2, 7, 1000, 70000} {
			var got, want [Chains][16]int32
			for c := range got {
				for j := range got[c] {
					got[c][j] = -1 // must be overwritten
				}
			}
			loopAsm(iters, &a, &b, &got)
			loopGo(iters, &a, &b, &want)
			if got != want {
				t.Fatalf("trial %d iters %d: asm %v, Go %v", trial, iters, got[0], want[0])
			}
		}
	}
}

func TestMeasure(t *testing.T) {
	if !Available() {
		if _, err := Measure(1, time.Millisecond); err != ErrUnsupported {
			t.Fatalf("Measure without VNNI: %v, want ErrUnsupported", err)
		}
		return
	}
	if _, err := Measure(0, time.Millisecond); err == nil {
		t.Error("Measure(0 threads) succeeded")
	}
	res, err := Measure(1, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// a rate, not a speed assertion: positive and finite.
	if !(res.MACsPerS > 0) || res.MACsPerSCore != res.MACsPerS || res.Threads != 1 {
		t.Errorf("result %+v", res)
	}
}

// BenchmarkPeak reports the loop's int8 MAC/s on one core.
func BenchmarkPeak(b *testing.B) {
	if !Available() {
		b.Skip(ErrUnsupported)
	}
	var a, w [64]byte
	var out [Chains][16]int32
	const iters = 1 << 16
	for b.Loop() {
		loopAsm(iters, &a, &w, &out)
	}
	b.ReportMetric(float64(b.N)*iters*MACsPerIter/b.Elapsed().Seconds()/1e9, "GMAC/s")
}
