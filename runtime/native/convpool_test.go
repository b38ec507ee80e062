package native

import (
	"context"
	"errors"
	"fmt"
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
// output offsets (overlapping or repeated ones included), one to three
// pixels per call, every clamp, with guard cells around the output.
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
			pp[2], po[2] = pp[1], po[1] // a repeated pixel
		}
		m := 3
		if r.IntN(3) == 0 {
			m = 1 + r.IntN(2) // the tail of a unit: pixels ≥ m are not written
			for j := m; j < 3; j++ {
				pp[j], po[j] = 1<<30, 1<<30
			}
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
		convPool(kc, offs, x, &pp, m, s, rs, b, bias, lo, hi, got, &po)
		convPoolGo(kc, offs, x, &pp, m, s, rs, b, bias, lo, hi, want, &po)
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
		for j := range m {
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
				for q := j + 1; q < m; q++ {
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
		convPool(kc, offs, x, &pp, 3, c, wp*c, w, bias, 0, 6, out, &po)
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

// convChainGraph builds conv → 2×2 pool → conv → 2×2 pool → dense with
// random geometry (sizes, kernels, strides, both paddings; 32 or 64
// channels, so both convolutions run the fused conv + pool kernel and the
// first pooled activation is handed over with a zero border).
func convChainGraph(r *rand.Rand) *model.Graph {
	h, w, c := 6+r.IntN(12), 6+r.IntN(12), 1+r.IntN(5)
	g := &model.Graph{DynamicBatch: true}
	add := func(name string, shape []int, data []byte) int {
		g.Tensors = append(g.Tensors, model.Tensor{Name: name, Type: model.Float32, Shape: shape, Data: data})
		return len(g.Tensors) - 1
	}
	rnd := func(n int, s float64) []byte {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32((r.Float64()*2 - 1) * s)
		}
		return f32bytes(v)
	}
	acts := []model.Activation{model.ActNone, model.ActReLU, model.ActReLU6}
	cur := add("in", []int{1, h, w, c}, nil)
	g.Inputs = []int{cur}
	for l := 0; l < 2; l++ {
		k := 1 + r.IntN(3)
		s := 1
		if r.IntN(3) == 0 {
			s = 2 // with VALID padding, often rows wider than the windows reach
		}
		pad := model.Padding(r.IntN(2))
		if pad == model.PadValid && s == 2 {
			k = 2 + r.IntN(2) // input rows wider than the windows reach when W−K is odd
		}
		oh, ow := (h+s-1)/s, (w+s-1)/s
		if pad == model.PadValid {
			oh, ow = (h-k+s)/s, (w-k+s)/s
		}
		if oh < 2 || ow < 2 {
			pad, k, s = model.PadSame, 3, 1
			oh, ow = h, w
		}
		oc := 32 * (1 + r.IntN(2))
		wt := add(fmt.Sprintf("w%d", l), []int{oc, k, k, c}, rnd(oc*k*k*c, 1))
		b := add(fmt.Sprintf("b%d", l), []int{oc}, rnd(oc, 0.5))
		co := add(fmt.Sprintf("conv%d", l), []int{1, oh, ow, oc}, nil)
		g.Ops = append(g.Ops, model.Op{Code: model.OpConv2D, Inputs: []int{cur, wt, b}, Outputs: []int{co}, StrideH: s, StrideW: s, Padding: pad, Activation: acts[r.IntN(3)]})
		h, w, c = oh/2, ow/2, oc
		po := add(fmt.Sprintf("pool%d", l), []int{1, h, w, c}, nil)
		g.Ops = append(g.Ops, model.Op{Code: model.OpMaxPool2D, Inputs: []int{co}, Outputs: []int{po}, FilterH: 2, FilterW: 2, StrideH: 2, StrideW: 2, Padding: model.PadValid, Activation: acts[r.IntN(3)]})
		cur = po
		if h < 2 || w < 2 {
			break
		}
	}
	shape := add("shape", []int{2}, nil)
	g.Tensors[shape].Type, g.Tensors[shape].Data = model.Int32, i32bytes([]int32{-1, int32(h * w * c)})
	flat := add("flat", []int{1, h * w * c}, nil)
	g.Ops = append(g.Ops, model.Op{Code: model.OpReshape, Inputs: []int{cur, shape}, Outputs: []int{flat}, NewShape: []int{-1, h * w * c}})
	nout := 1 + r.IntN(20)
	fw := add("fw", []int{nout, h * w * c}, rnd(nout*h*w*c, 0.1))
	out := add("out", []int{1, nout}, nil)
	g.Ops = append(g.Ops, model.Op{Code: model.OpFullyConnected, Inputs: []int{flat, fw, -1}, Outputs: []int{out}})
	g.Outputs = []int{out}
	return g
}

// TestFloatConvChainRandom compares two chained fused conv + pool steps
// (the first one's output handed to the second with a zero border) with
// the reference loops for random geometry, batches and thread counts;
// each image must get the same bits alone and in the batch, and
// TensorData of the bordered activation must be its plain values.
func TestFloatConvChainRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	bordered := 0
	defer func() {
		if hasConvPoolAsm && bordered == 0 {
			t.Errorf("no case handed over a bordered activation")
		}
	}()
	for it := 0; it < 100; it++ {
		g := convChainGraph(r)
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
			pool0 := g.Ops[1].Outputs[0]
			if fast.vals[pool0].lay.store > 0 {
				bordered++
			}
			tr, err1 := ref.TensorData(pool0)
			tf, err2 := fast.TensorData(pool0)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if len(tr.F32) != len(tf.F32) {
				t.Fatalf("pool0: %d values, reference %d", len(tf.F32), len(tr.F32))
			}
			for i := range tr.F32 {
				if d := math.Abs(float64(tr.F32[i] - tf.F32[i])); !(d <= 1e-4*(1+math.Abs(float64(tr.F32[i])))) {
					t.Fatalf("pool0 value %d: fast %v, reference %v", i, tf.F32[i], tr.F32[i])
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

// TestFloatChunkedRun checks float Runs of more than chunkImagesF images
// (computed chunk by chunk): every image's answer is bit-identical to its
// batch-1 answer and close to the reference loops, for one to three
// threads and batches that end in a partial chunk; activations are then
// reported as not materialized (only the last chunk is kept) until an
// ordinary Run; steady-state chunked Runs allocate nothing.
func TestFloatChunkedRun(t *testing.T) {
	r := rand.New(rand.NewPCG(64, 65))
	graphs := []*model.Graph{floatGraph(randomModel(model.SeedArch(), 5)), convChainGraph(r), floatConvGraph(r)}
	ctx := context.Background()
	// An int8 graph is not chunked: its activations stay whole-batch.
	qe, err := New(int8Graph(randomModel(smallArch(), 6), true, 6), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	qb := chunkImagesF + 9
	if err := qe.Run(ctx, randInput(qb*qe.InputSize(), 1), qb, make([]float32, qb*qe.OutputSize())); err != nil {
		t.Fatal(err)
	}
	if qe.chunked {
		t.Errorf("int8 graph: Run of %d images went in chunks", qb)
	}
	qe.Close()
	for gi, g := range graphs {
		batch := chunkImagesF + 1 + r.IntN(2*chunkImagesF)
		ref, err := New(g, runtime.Options{}, WithReference())
		if err != nil {
			t.Fatal(err)
		}
		inPer, outPer := ref.InputSize(), ref.OutputSize()
		in := randInput(batch*inPer, uint64(gi))
		keep := append([]float32(nil), in...)
		want := make([]float32, batch*outPer)
		if err := ref.Run(ctx, in, batch, want); err != nil {
			t.Fatal(err)
		}
		outT := g.Outputs[0]
		for threads := 1; threads <= 3; threads++ {
			fast, err := New(g, runtime.Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			got := make([]float32, batch*outPer+3)
			for i := range got {
				got[i] = -777.25
			}
			if err := fast.Run(ctx, in, batch, got[:batch*outPer]); err != nil {
				t.Fatal(err)
			}
			for i := range in {
				if in[i] != keep[i] {
					t.Fatalf("graph %d: input %d changed", gi, i)
				}
			}
			for i := batch * outPer; i < len(got); i++ {
				if got[i] != -777.25 {
					t.Fatalf("graph %d: output guard %d overwritten", gi, i)
				}
			}
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4*(1+math.Abs(float64(want[i])))) {
					t.Fatalf("graph %d threads %d batch %d: output %d = %v, reference %v", gi, threads, batch, i, got[i], want[i])
				}
			}
			if _, err := fast.TensorData(outT); !errors.Is(err, ErrNotMaterialized) {
				t.Errorf("graph %d: TensorData after a chunked Run: %v, want ErrNotMaterialized", gi, err)
			}
			one := make([]float32, outPer)
			for _, b := range []int{0, chunkImagesF - 1, chunkImagesF, batch - 1, r.IntN(batch)} {
				if err := fast.Run(ctx, in[b*inPer:(b+1)*inPer], 1, one); err != nil {
					t.Fatal(err)
				}
				for j := range one {
					if math.Float32bits(one[j]) != math.Float32bits(got[b*outPer+j]) {
						t.Fatalf("graph %d threads %d: image %d output %d: batch 1 %v, batch %d %v", gi, threads, b, j, one[j], batch, got[b*outPer+j])
					}
				}
			}
			if _, err := fast.TensorData(outT); err != nil {
				t.Errorf("graph %d: TensorData after a batch-1 Run: %v", gi, err)
			}
			allocs := testing.AllocsPerRun(3, func() {
				if err := fast.Run(ctx, in, batch, got[:batch*outPer]); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("graph %d threads %d: %v allocations per chunked Run", gi, threads, allocs)
			}
			fast.Close()
		}
	}
}
