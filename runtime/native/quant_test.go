package native

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// TestQuantizeI8MatchesQuantizeValue: the input quantization (the vector
// kernel where there is one) equals qmath.QuantizeValue on random values,
// exact ties (k+½)·s and their neighbours, the clamp edges, NaN, ±Inf and
// huge values scattered at random positions, for several scales, zero
// points and lengths (not multiples of 16), with a guard byte after the
// output.
func TestQuantizeI8MatchesQuantizeValue(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	nan := float32(math.NaN())
	odd := []float32{nan, float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32, 0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32}
	for ci, c := range []struct {
		s      float32
		zp     int32
		lo, hi int32
	}{{1. / 255, -128, -128, 127}, {0.0123, 5, -128, 127}, {0.5, 0, -128, 127}, {3.7, -3, 0, 127}, {1e-6, 127, -128, 127}, {0.02, -128, -100, 100}, {0.0125, -92, -128, 127}} {
		var src []float32
		for i := 0; i < 5000; i++ {
			src = append(src, float32(r.NormFloat64()*200*float64(c.s)))
		}
		for k := -300; k <= 300; k++ {
			tie := (float32(k) + 0.5) * c.s
			src = append(src, tie, float32(k)*c.s, math.Nextafter32(tie, 0), math.Nextafter32(tie, float32(math.Inf(1))))
		}
		for i := 0; i < 40; i++ { // odd values at random places
			src[r.IntN(len(src))] = odd[r.IntN(len(odd))]
		}
		r.Shuffle(len(src), func(i, j int) { src[i], src[j] = src[j], src[i] })
		for _, n := range []int{len(src), len(src) - 1, 31, 17, 16, 15, 1, 0} {
			dst := make([]int8, n+1)
			dst[n] = 99 // guard
			quantizeI8(dst[:n], src[:n], c.s, c.zp, c.lo, c.hi)
			for i, x := range src[:n] {
				if want := int8(qmath.QuantizeValue(x, c.s, c.zp, c.lo, c.hi)); dst[i] != want {
					t.Fatalf("case %d n=%d: x=%v (x/s=%v): got %d, want %d", ci, n, x, float64(x)/float64(c.s), dst[i], want)
				}
			}
			if dst[n] != 99 {
				t.Fatalf("case %d n=%d: wrote past the input's length", ci, n)
			}
		}
	}
}

// TestQuantizeAsmTakesCleanBlocks: the vector kernel does every block of
// in-range values (it is not silently leaving all to the Go fallback) and
// stops at the block of a NaN.
func TestQuantizeAsmTakesCleanBlocks(t *testing.T) {
	if !hasQuantizeAsm {
		t.Skip("no vector quantization kernel on this CPU/build: quantizeI8 is QuantizeValue")
	}
	src := randInput(16*50, 9)
	dst := make([]int8, len(src))
	s, zp := float32(0.0125), int32(-92)
	p := quantParams{inv: 1 / float64(s), vlo: float64(-128 - zp - 1), vhi: float64(127 - zp + 1), half: 0.5, eps: 0x1p-30, abs: math.MaxInt64, zp: zp, lo: -128, hi: 127}
	for i := range src { // no ties
		if v := float64(src[i]) / float64(s); math.Abs(math.Abs(v-math.Trunc(v))-0.5) < 1e-6 {
			src[i] = 0
		}
	}
	if got := quantizeAsm(&dst[0], &src[0], 50, &p); got != 50 {
		t.Fatalf("kernel did %d of 50 clean blocks", got)
	}
	for i, x := range src {
		if want := int8(qmath.QuantizeValue(x, s, zp, -128, 127)); dst[i] != want {
			t.Fatalf("value %d: %v → %d, want %d", i, x, dst[i], want)
		}
	}
	src[16*7+3] = float32(math.NaN())
	if got := quantizeAsm(&dst[0], &src[0], 50, &p); got != 7 {
		t.Fatalf("kernel did %d blocks, want 7 (NaN in block 7)", got)
	}
}
