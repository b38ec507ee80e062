package native

import (
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/edgecnn/edgecnn/internal/sgemm"
)

// TestConvPoolKernelSelected proves which fused conv + pool kernel the
// float engine runs: under make test-runtime-arm64 (EDGECNN_EXPECT_KERNEL
// neon or neon-dotprod) the NEON one, under test-runtime-armv7 ("go") none.
func TestConvPoolKernelSelected(t *testing.T) {
	want := os.Getenv("EDGECNN_EXPECT_KERNEL")
	t.Logf("selected=convpool-asm:%v (GOARCH %s)", hasConvPoolAsm, runtime.GOARCH)
	switch {
	case want == "":
		t.Skip("EDGECNN_EXPECT_KERNEL not set (set by make test-runtime-arm64/armv7)")
	case (want == "neon" || want == "neon-dotprod") && (runtime.GOARCH != "arm64" || !hasConvPoolAsm):
		t.Fatalf("want the NEON conv + pool kernel on arm64, GOARCH %s hasConvPoolAsm %v", runtime.GOARCH, hasConvPoolAsm)
	case want == "go" && hasConvPoolAsm:
		t.Fatal("want no conv + pool assembly kernel")
	}
}

// special draws a value that is sometimes ±0, ±Inf, NaN, a huge or a tiny
// number (to check the kernel's max, bias and clamp follow mx/mn exactly).
func special(r *rand.Rand) float32 {
	switch r.IntN(40) {
	case 0:
		return float32(math.Copysign(0, -1))
	case 1:
		return 0
	case 2:
		return float32(math.Inf(1 - 2*r.IntN(2)))
	case 3:
		return float32(math.NaN())
	case 4:
		return float32(r.NormFloat64() * 1e30)
	case 5:
		return float32(r.NormFloat64() * 1e-30)
	}
	return float32(r.NormFloat64())
}

// TestConvPoolNEONExact: on arm64 the NEON kernel equals convPoolGo bit
// for bit (Go fuses the multiply-adds there too), and equals the unfused
// path the engine takes without it (im2col rows through sgemm.GemmPacked's
// NEON 6×16 kernel, then pool4) wherever that path is one chain (depth ≤
// 256), for random depths, taps, strides, offsets, 1–3 pixels per call,
// every clamp, special values (±0, ±Inf, NaN, huge, tiny) and guard cells
// around the output. Elsewhere Go does not fuse and the twins differ by
// rounding (TestConvPoolTwins covers that).
func TestConvPoolNEONExact(t *testing.T) {
	if runtime.GOARCH != "arm64" || !hasConvPoolAsm {
		t.Skip("the NEON kernel runs on arm64 only (make test-runtime-arm64)")
	}
	r := rand.New(rand.NewPCG(15, 2))
	lohi := [][2]float32{{float32(math.Inf(-1)), float32(math.Inf(1))}, {0, float32(math.Inf(1))}, {0, 6}, {-1.5, 0.25}}
	sg := sgemm.New(1)
	for it := 0; it < 400; it++ {
		kc, taps := 1+r.IntN(40), 1+r.IntN(5)
		if it%8 == 0 {
			kc = 1 + r.IntN(120)
		}
		s, rs := r.IntN(60), r.IntN(200)
		offs := make([]int, taps)
		hiOff := 0
		for i := range offs {
			offs[i] = r.IntN(150)
			hiOff = max(hiOff, offs[i])
		}
		var pp, po [3]int
		for j := range pp {
			pp[j], po[j] = r.IntN(100), 72*j+r.IntN(40) // disjoint outputs, some unaligned
		}
		m := 1 + r.IntN(3)
		for j := m; j < 3; j++ {
			pp[j], po[j] = 1<<30, 1<<30
		}
		x := make([]float32, 100+s+rs+hiOff+kc)
		for i := range x {
			x[i] = special(r)
			if it%2 == 0 {
				x[i] = float32(r.NormFloat64()) // mostly finite sums
			}
		}
		k := taps * kc
		b := make([]float32, 32*k)
		for i := range b {
			b[i] = float32(r.NormFloat64())
		}
		bias := make([]float32, 32)
		for i := range bias {
			bias[i] = special(r)
		}
		lh := lohi[r.IntN(len(lohi))]
		const guard = -777.25
		n := 72*3 + 16
		got, want := make([]float32, n), make([]float32, n)
		for i := range got {
			got[i], want[i] = guard, guard
		}
		convPool(kc, offs, x, &pp, m, s, rs, b, bias, lh[0], lh[1], got, &po)
		convPoolGo(kc, offs, x, &pp, m, s, rs, b, bias, lh[0], lh[1], want, &po)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("it %d kc %d taps %d m %d: out[%d] = %v, Go twin %v", it, kc, taps, m, i, got[i], want[i])
			}
		}
		if k > 256 {
			continue
		}
		// The unfused path: four im2col rows per pixel, GEMM, pool4.
		pb := sgemm.PackB(false, 32, k, b, 32)
		for j := range m {
			a := make([]float32, 4*k)
			for w, d := range [4]int{0, s, rs, rs + s} {
				for tp, o := range offs {
					copy(a[w*k+tp*kc:][:kc], x[pp[j]+d+o:][:kc])
				}
			}
			cm := make([]float32, 4*32)
			sg.GemmPacked(4, a, k, pb, 0, 32, cm, 32)
			ref := make([]float32, 32)
			pool4(cm[0:32], cm[32:64], cm[64:96], cm[96:128], bias, ref, lh[0], lh[1])
			for c := range 32 {
				if math.Float32bits(ref[c]) != math.Float32bits(got[po[j]+c]) {
					t.Fatalf("it %d: pixel %d channel %d: fused %v, GEMM + pool4 %v", it, j, c, got[po[j]+c], ref[c])
				}
			}
		}
	}
}
