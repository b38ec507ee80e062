package native

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// TestConvPoolTwins compares the fused convolution + pooling kernel with
// its Go twin (within rounding: Go does not fuse multiply-adds on amd64)
// and, where the AVX-512 kernels run, bit for bit with the indirect 6×32
// convolution kernel followed by pool4 (the same FMA chains and the same
// MAXPS/MINPS order), for random depths, taps, window strides, pixel and
// output offsets (overlapping or repeated ones included), every clamp,
// with guard cells around the output.
func TestConvPoolTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 1))
	acts := []model.Activation{model.ActNone, model.ActReLU, model.ActReLU6}
	for it := 0; it < 300; it++ {
		kc, taps := 1+r.IntN(70), 1+r.IntN(9)
		s, rs := r.IntN(80), r.IntN(300)
		offs := make([]int, taps)
		hiOff := 0
		for i := range offs {
			offs[i] = r.IntN(200)
			hiOff = max(hiOff, offs[i])
		}
		var pp, po [3]int
		for j := range pp {
			pp[j] = r.IntN(150)
			po[j] = 32 * r.IntN(4)
			if r.IntN(3) == 0 {
				po[j] += r.IntN(20) // unaligned
			}
		}
		if r.IntN(4) == 0 {
			pp[2], po[2] = pp[1], po[1] // a repeated pixel (the tail of a unit)
		}
		x := make([]float32, 150+s+rs+hiOff+kc+r.IntN(3))
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		k := taps * kc
		b := make([]float32, 32*k)
		for i := range b {
			b[i] = float32(r.NormFloat64())
		}
		bias := make([]float32, 32)
		for i := range bias {
			bias[i] = float32(r.NormFloat64())
		}
		lo, hi := clampRange(acts[r.IntN(3)], acts[r.IntN(3)])
		const guard = -777.25
		n := 32*4 + 20 + 32
		got := make([]float32, n+16)
		want := make([]float32, n+16)
		for i := range got {
			got[i], want[i] = guard, guard
		}
		convPool(kc, offs, x, &pp, s, rs, b, bias, lo, hi, got, &po)
		convPoolGo(kc, offs, x, &pp, s, rs, b, bias, lo, hi, want, &po)
		for i := range got {
			if want[i] == guard {
				if got[i] != guard {
					t.Fatalf("it %d: guard %d overwritten", it, i)
				}
				continue
			}
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(k+4)*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("it %d kc %d taps %d: out[%d] = %v, Go twin %v", it, kc, taps, i, got[i], want[i])
			}
		}
		if !hasConv1Asm || !hasConvPoolAsm {
			continue
		}
		// The indirect kernel takes the two 16-column panels one after the other.
		b2 := make([]float32, 32*k)
		for p := 0; p < k; p++ {
			for c := 0; c < 32; c++ {
				b2[(c/16)*k*16+p*16+c%16] = b[p*32+c]
			}
		}
		for j := range 3 {
			var pix [6]int
			for w, d := range [4]int{0, s, rs, rs + s} {
				pix[w] = pp[j] + d
			}
			pix[4], pix[5] = pix[3], pix[3]
			tile := make([]float32, 6*32)
			convIndirect(kc, offs, x, &pix, b2, k*16, tile, 32)
			ref := make([]float32, 32)
			pool4(tile[0:32], tile[32:64], tile[64:96], tile[96:128], bias, ref, lo, hi)
			for c := range 32 {
				e, last := po[j]+c, j // the pixels write in order: the last one wins
				for q := j + 1; q < 3; q++ {
					if po[q] <= e && e < po[q]+32 {
						last = q
					}
				}
				if last == j && math.Float32bits(ref[c]) != math.Float32bits(got[e]) {
					t.Fatalf("it %d: pixel %d col %d: fused %v, indirect+pool4 %v", it, j, c, got[po[j]+c], ref[c])
				}
			}
		}
	}
}

// BenchmarkConvPool measures the fused kernel alone on conv2 of the seed
// CNN (3×3×32 → 64 on 14×14 with padding 1): GFLOP/s of the convolution.
func BenchmarkConvPool(b *testing.B) {
	const c, wp = 32, 16
	kc := 3 * c
	offs := []int{0, wp * c, 2 * wp * c}
	x := make([]float32, 5*wp*c)
	w := make([]float32, 3*kc*32)
	bias := make([]float32, 32)
	out := make([]float32, 3*32)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	pp, po := [3]int{0, 2 * c, 4 * c}, [3]int{0, 32, 64}
	cpu0 := cpuTime()
	for b.Loop() {
		convPool(kc, offs, x, &pp, c, wp*c, w, bias, 0, 6, out, &po)
	}
	// Per second of process CPU time: steadier than wall time on a loaded machine.
	b.ReportMetric(float64(b.N)*12*32*float64(3*kc)*2/(float64(cpuTime()-cpu0)/1e9)/1e9, "GFLOP/cpu-s")
}

// TestFloatInputInPlace checks the float engine's in-place input and
// reshape views: a graph whose input is reshaped twice before a dense
// layer answers as a float64 dot product does, run after run with different
// inputs and batches (no stale values), and never changes the caller's
// input.
func TestFloatInputInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	const h, w, c, nout = 4, 5, 3, 7
	wt := make([]float32, nout*h*w*c)
	for i := range wt {
		wt[i] = float32(r.NormFloat64())
	}
	g := &model.Graph{DynamicBatch: true}
	g.Tensors = []model.Tensor{
		{Name: "in", Type: model.Float32, Shape: []int{1, h, w, c}},
		{Name: "s1", Type: model.Int32, Shape: []int{3}, Data: i32bytes([]int32{-1, h * w, c})},
		{Name: "r1", Type: model.Float32, Shape: []int{1, h * w, c}},
		{Name: "s2", Type: model.Int32, Shape: []int{2}, Data: i32bytes([]int32{-1, h * w * c})},
		{Name: "r2", Type: model.Float32, Shape: []int{1, h * w * c}},
		{Name: "w", Type: model.Float32, Shape: []int{nout, h * w * c}, Data: f32bytes(wt)},
		{Name: "out", Type: model.Float32, Shape: []int{1, nout}},
	}
	g.Inputs, g.Outputs = []int{0}, []int{6}
	g.Ops = []model.Op{
		{Code: model.OpReshape, Inputs: []int{0, 1}, Outputs: []int{2}, NewShape: []int{-1, h * w, c}},
		{Code: model.OpReshape, Inputs: []int{2, 3}, Outputs: []int{4}, NewShape: []int{-1, h * w * c}},
		{Code: model.OpFullyConnected, Inputs: []int{4, 5, -1}, Outputs: []int{6}},
	}
	fast, err := New(g, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	for it, batch := range []int{3, 1, 5, 2} {
		in := randInput(batch*fast.InputSize(), uint64(it))
		keep := append([]float32(nil), in...)
		want := make([]float32, batch*nout)
		got := make([]float32, batch*nout)
		for n := range batch {
			for j := range nout {
				s := 0.0
				for p := range h * w * c {
					s += float64(in[n*h*w*c+p]) * float64(wt[j*h*w*c+p])
				}
				want[n*nout+j] = float32(s)
			}
		}
		if err := fast.Run(context.Background(), in, batch, got); err != nil {
			t.Fatal(err)
		}
		for i := range in {
			if math.Float32bits(in[i]) != math.Float32bits(keep[i]) {
				t.Fatalf("run %d: input %d changed", it, i)
			}
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4*(1+math.Abs(float64(want[i])))) {
				t.Fatalf("run %d: output %d = %v, reference %v", it, i, got[i], want[i])
			}
		}
	}
}
