package native

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/internal/sgemm"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/kernels"
)

// floatConvGraph builds CONV_2D → [MAX_POOL_2D] → FULLY_CONNECTED (float)
// with random geometry: odd sizes, strides, both paddings, pointwise and
// single-channel convolutions, 2×2 and 3×3 pools (fusable or not).
func floatConvGraph(r *rand.Rand) *model.Graph {
	h, w, c := 1+r.IntN(12), 1+r.IntN(12), 1+r.IntN(40)
	if r.IntN(3) == 0 {
		c = 1
	}
	kh, kw := 1+r.IntN(min(h, 4)), 1+r.IntN(min(w, 4))
	sh, sw := 1+r.IntN(2), 1+r.IntN(2)
	if r.IntN(4) == 0 {
		kh, kw, sh, sw = 1, 1, 1, 1
	}
	pad := model.Padding(r.IntN(2))
	oc := 1 + r.IntN(70)
	if c == 1 && r.IntN(2) == 0 {
		oc = 16 * (1 + r.IntN(3)) // the direct one-channel kernel
	}
	if c > 1 && r.IntN(3) == 0 {
		oc = 32 * (1 + r.IntN(2)) // the indirect 6×32 kernel
	}
	act := []model.Activation{model.ActNone, model.ActReLU, model.ActReLU6}[r.IntN(3)]
	oh, ow := (h+sh-1)/sh, (w+sw-1)/sw
	if pad == model.PadValid {
		oh, ow = (h-kh+sh)/sh, (w-kw+sw)/sw
	}
	rnd := func(n int, s float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((r.Float64()*2 - 1) * s)
		}
		return v
	}
	g := &model.Graph{DynamicBatch: true}
	g.Tensors = []model.Tensor{
		{Name: "in", Type: model.Float32, Shape: []int{1, h, w, c}},
		{Name: "w", Type: model.Float32, Shape: []int{oc, kh, kw, c}, Data: f32bytes(rnd(oc*kh*kw*c, 1))},
		{Name: "b", Type: model.Float32, Shape: []int{oc}, Data: f32bytes(rnd(oc, 2))},
		{Name: "conv", Type: model.Float32, Shape: []int{1, oh, ow, oc}},
	}
	g.Inputs = []int{0}
	g.Ops = []model.Op{{Code: model.OpConv2D, Inputs: []int{0, 1, 2}, Outputs: []int{3}, StrideH: sh, StrideW: sw, Padding: pad, Activation: act}}
	if r.IntN(4) == 0 {
		g.Ops[0].Inputs[2] = -1
	}
	last, per := 3, oh*ow*oc
	if k := 2 + r.IntN(2); r.IntN(4) > 0 && oh >= k && ow >= k {
		s := k
		if r.IntN(4) == 0 {
			s = 1 // overlapping windows: not fused
		}
		ph, pw := (oh-k)/s+1, (ow-k)/s+1
		g.Tensors = append(g.Tensors, model.Tensor{Name: "pool", Type: model.Float32, Shape: []int{1, ph, pw, oc}})
		g.Ops = append(g.Ops, model.Op{Code: model.OpMaxPool2D, Inputs: []int{3}, Outputs: []int{4}, FilterH: k, FilterW: k, StrideH: s, StrideW: s,
			Padding: model.PadValid, Activation: []model.Activation{model.ActNone, model.ActReLU, model.ActReLU6}[r.IntN(3)]})
		last, per = 4, ph*pw*oc
	}
	nout := 1 + r.IntN(140)
	g.Tensors = append(g.Tensors,
		model.Tensor{Name: "fcw", Type: model.Float32, Shape: []int{nout, per}, Data: f32bytes(rnd(nout*per, 0.3))},
		model.Tensor{Name: "fcb", Type: model.Float32, Shape: []int{nout}, Data: f32bytes(rnd(nout, 1))},
		model.Tensor{Name: "out", Type: model.Float32, Shape: []int{1, nout}})
	n := len(g.Tensors)
	g.Ops = append(g.Ops, model.Op{Code: model.OpFullyConnected, Inputs: []int{last, n - 3, n - 2}, Outputs: []int{n - 1},
		Activation: []model.Activation{model.ActNone, model.ActReLU}[r.IntN(2)]})
	g.Outputs = []int{n - 1}
	return g
}

// TestFloatFastRandomGeometry compares the float fast paths (fused pool,
// pre-packed GEMM, column-split FC) with the reference loops, and requires
// each image's answer to be bit-identical at batch 1 and inside a batch.
func TestFloatFastRandomGeometry(t *testing.T) {
	r := rand.New(rand.NewPCG(77, 78))
	for it := 0; it < 150; it++ {
		g := floatConvGraph(r)
		batch, threads := 1+r.IntN(4), 1+r.IntN(3)
		t.Run(fmt.Sprint(it), func(t *testing.T) {
			ref, err := New(g, runtime.Options{}, WithReference())
			if err != nil {
				t.Fatal(err)
			}
			fast, err := New(g, runtime.Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			defer fast.Close()
			in := randInput(batch*ref.InputSize(), uint64(it))
			o1 := make([]float32, batch*ref.OutputSize())
			o2 := make([]float32, len(o1))
			if err := ref.Run(context.Background(), in, batch, o1); err != nil {
				t.Fatal(err)
			}
			if err := fast.Run(context.Background(), in, batch, o2); err != nil {
				t.Fatal(err)
			}
			for i := range o1 {
				if d := math.Abs(float64(o1[i] - o2[i])); !(d <= 1e-4*(1+math.Abs(float64(o1[i])))) {
					t.Fatalf("output %d: fast %v, reference %v", i, o2[i], o1[i])
				}
			}
			per := fast.OutputSize()
			one := make([]float32, per)
			for b := 0; b < batch; b++ {
				if err := fast.Run(context.Background(), in[b*fast.InputSize():(b+1)*fast.InputSize()], 1, one); err != nil {
					t.Fatal(err)
				}
				for j := range one {
					if math.Float32bits(one[j]) != math.Float32bits(o2[b*per+j]) {
						t.Fatalf("image %d output %d: batch 1 %v, batch %d %v", b, j, one[j], batch, o2[b*per+j])
					}
				}
			}
		})
	}
}

// TestFloatPoolFused checks that a conv + 2×2 pool pair is fused (the conv
// output is not materialized) and that WithIntermediates keeps it.
func TestFloatPoolFused(t *testing.T) {
	m := randomModel(smallArch(), 3)
	g := floatGraph(m)
	conv := g.Ops[0].Outputs[0]
	for _, inter := range []bool{false, true} {
		var opts []Option
		if inter {
			opts = append(opts, WithIntermediates())
		}
		e, err := New(g, runtime.Options{}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Run(context.Background(), randInput(e.InputSize(), 1), 1, make([]float32, e.OutputSize())); err != nil {
			t.Fatal(err)
		}
		_, err = e.TensorData(conv)
		if inter != (err == nil) {
			t.Errorf("intermediates=%v: TensorData(conv) error %v", inter, err)
		}
	}
}

// TestPool4Twins compares the pooling kernel with its Go twin bit for bit
// (odd lengths, every clamp, guard cells after out).
func TestPool4Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	acts := []model.Activation{model.ActNone, model.ActReLU, model.ActReLU6}
	for _, n := range []int{1, 7, 8, 9, 16, 31, 32, 64, 67} {
		for _, a1 := range acts {
			for _, a2 := range acts {
				lo, hi := clampRange(a1, a2)
				in := make([][]float32, 5)
				for i := range in {
					in[i] = make([]float32, n)
					for j := range in[i] {
						in[i][j] = float32(r.NormFloat64() * 4)
					}
				}
				const guard = 12345.5
				got := make([]float32, n+5)
				want := make([]float32, n)
				for i := n; i < len(got); i++ {
					got[i] = guard
				}
				pool4(in[0], in[1], in[2], in[3], in[4], got[:n], lo, hi)
				pool4Go(in[0], in[1], in[2], in[3], in[4], want, lo, hi)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d %v/%v: out[%d] = %v, want %v", n, a1, a2, i, got[i], want[i])
					}
					ref := max(max(in[0][i], in[1][i]), max(in[2][i], in[3][i])) + in[4][i]
					ref = kernels.ActivationF32(a2, kernels.ActivationF32(a1, ref))
					if got[i] != ref {
						t.Fatalf("n=%d %v/%v: out[%d] = %v, reference %v", n, a1, a2, i, got[i], ref)
					}
				}
				for i := n; i < len(got); i++ {
					if got[i] != guard {
						t.Fatalf("n=%d: guard %d overwritten", n, i)
					}
				}
			}
		}
	}
}

// TestConv1Twins compares the direct one-channel kernel with its Go twin
// (within rounding: Go does not fuse multiply-adds on amd64) and with the
// GEMM on the equivalent im2col matrix (bit for bit: same FMA chains), with
// guard cells around the output.
func TestConv1Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	for it := 0; it < 200; it++ {
		npix, taps, ldo := r.IntN(40), 1+r.IntN(12), 16+r.IntN(3)*16
		offs := make([]int, taps)
		for i := range offs {
			offs[i] = r.IntN(50)
		}
		x := make([]float32, npix+60)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		w := make([]float32, 16*taps)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		const guard = -777.25
		n := max(0, (npix-1)*ldo+16)
		got := make([]float32, n+8)
		want := make([]float32, n)
		for i := range got {
			got[i] = guard
		}
		conv1(npix, x, offs, w, got, ldo)
		conv1Go(npix, x, offs, w, want, ldo)
		for i := range got {
			inside := i < n && i%ldo < 16
			if !inside {
				if got[i] != guard {
					t.Fatalf("it %d: guard %d overwritten", it, i)
				}
				continue
			}
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(taps+4)*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("it %d npix %d taps %d: out[%d] = %v, Go twin %v", it, npix, taps, i, got[i], want[i])
			}
		}
		if npix == 0 || !hasConv1Asm {
			continue
		}
		a := make([]float32, npix*taps)
		for i := 0; i < npix; i++ {
			for tp, o := range offs {
				a[i*taps+tp] = x[i+o]
			}
		}
		wt := make([]float32, 16*taps) // [j][t]
		for tp := 0; tp < taps; tp++ {
			for j := 0; j < 16; j++ {
				wt[j*taps+tp] = w[tp*16+j]
			}
		}
		cg := make([]float32, npix*16)
		sgemm.New(1).GemmPacked(npix, a, taps, sgemm.PackB(true, 16, taps, wt, taps), 0, 16, cg, 16)
		for i := 0; i < npix; i++ {
			for j := 0; j < 16; j++ {
				if math.Float32bits(cg[i*16+j]) != math.Float32bits(got[i*ldo+j]) {
					t.Fatalf("it %d: pixel %d col %d: direct %v, GEMM %v", it, i, j, got[i*ldo+j], cg[i*16+j])
				}
			}
		}
	}
}

// TestConvIndirectTwins compares the indirect 6×32 kernel with its Go twin
// (within rounding) and, for depths of one GEMM slice, with the GEMM on
// the equivalent im2col rows (bit for bit), with guard cells around c.
func TestConvIndirectTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for it := 0; it < 150; it++ {
		kc, taps, ldc := 1+r.IntN(40), 1+r.IntN(9), 32+r.IntN(3)*16
		offs := make([]int, taps)
		for i := range offs {
			offs[i] = r.IntN(100)
		}
		var pix [6]int
		for i := range pix {
			pix[i] = r.IntN(200)
		}
		x := make([]float32, 200+100+kc)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		k := taps * kc
		b := make([]float32, 2*k*16)
		for i := range b {
			b[i] = float32(r.NormFloat64())
		}
		const guard = -777.25
		n := 5*ldc + 32
		got := make([]float32, n+8)
		for i := range got {
			got[i] = guard
		}
		want := make([]float32, n)
		convIndirect(kc, offs, x, &pix, b, k*16, got, ldc)
		convIndirectGo(kc, offs, x, &pix, b, k*16, want, ldc)
		for i := range got {
			if i >= n || i%ldc >= 32 {
				if got[i] != guard {
					t.Fatalf("it %d: guard %d overwritten", it, i)
				}
				continue
			}
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(k+4)*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("it %d kc %d taps %d: c[%d] = %v, Go twin %v", it, kc, taps, i, got[i], want[i])
			}
		}
		if !hasConv1Asm || k > 256 {
			continue
		}
		a := make([]float32, 6*k)
		for i := range 6 {
			for tp, o := range offs {
				copy(a[i*k+tp*kc:][:kc], x[pix[i]+o:])
			}
		}
		wt := make([]float32, 32*k) // [j][k]
		for j := 0; j < 32; j++ {
			for p := 0; p < k; p++ {
				wt[j*k+p] = b[(j/16)*k*16+p*16+j%16]
			}
		}
		cg := make([]float32, 6*32)
		sgemm.New(1).GemmPacked(6, a, k, sgemm.PackB(true, 32, k, wt, k), 0, 32, cg, 32)
		for i := range 6 {
			for j := range 32 {
				if math.Float32bits(cg[i*32+j]) != math.Float32bits(got[i*ldc+j]) {
					t.Fatalf("it %d: row %d col %d: indirect %v, GEMM %v", it, i, j, got[i*ldc+j], cg[i*32+j])
				}
			}
		}
	}
}
