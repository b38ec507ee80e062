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
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// runBoth runs g with the reference kernels and with the fast paths (and
// the given threads) and requires identical outputs and identical
// materialized int8 tensors.
func runBoth(t *testing.T, g *model.Graph, batch, threads int, r qmath.Rounding, extra ...Option) {
	t.Helper()
	ref, err := New(g, runtime.Options{}, WithReference(), WithRounding(r))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	fast, err := New(g, runtime.Options{Threads: threads}, append(extra, WithRounding(r))...)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	in := randInput(batch*ref.InputSize(), uint64(batch*7+threads))
	o1 := make([]float32, batch*ref.OutputSize())
	o2 := make([]float32, len(o1))
	if err := ref.Run(context.Background(), in, batch, o1); err != nil {
		t.Fatal(err)
	}
	if err := fast.Run(context.Background(), in, batch, o2); err != nil {
		t.Fatal(err)
	}
	for i := range o1 {
		if math.Float32bits(o1[i]) != math.Float32bits(o2[i]) {
			t.Fatalf("output %d: fast %v, reference %v (kernel %s)", i, o2[i], o1[i], qgemm.Kernel())
		}
	}
	for i := range g.Tensors {
		if g.Tensors[i].Type != model.Int8 || g.Tensors[i].Data != nil {
			continue
		}
		a, _ := ref.TensorData(i)
		b, err := fast.TensorData(i)
		if errors.Is(err, ErrNotMaterialized) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for j := range a.I8 {
			if a.I8[j] != b.I8[j] {
				t.Fatalf("tensor %d %q element %d: fast %d, reference %d", i, g.Tensors[i].Name, j, b.I8[j], a.I8[j])
			}
		}
	}
}

func TestFastEqualsReferenceModels(t *testing.T) {
	archs := []model.Arch{smallArch(), {InputH: 9, InputW: 7, InputC: 3, Width: 3, Hidden: 33, Classes: 11}, model.SeedArch()}
	for ai, a := range archs {
		m := randomModel(a, uint64(ai))
		for _, perTensorFC := range []bool{false, true} {
			g := int8Graph(m, perTensorFC, uint64(ai+10))
			for _, r := range []qmath.Rounding{qmath.Double, qmath.Single, qmath.Ruy, qmath.FP32} {
				for _, bt := range [][2]int{{1, 1}, {3, 2}, {5, 3}} {
					name := fmt.Sprintf("arch%d/fcpt=%v/%v/b%d/t%d", ai, perTensorFC, r, bt[0], bt[1])
					t.Run(name, func(t *testing.T) { runBoth(t, g, bt[0], bt[1], r) })
				}
				t.Run(fmt.Sprintf("arch%d/%v/intermediates", ai, r), func(t *testing.T) { runBoth(t, g, 2, 1, r, WithIntermediates()) })
			}
		}
	}
}

// singleConv builds QUANTIZE → CONV_2D → [MAX_POOL_2D] → DEQUANTIZE with
// random geometry and quantization.
func singleConv(r *rand.Rand, pool bool) *model.Graph {
	h, w, c := 1+r.IntN(9), 1+r.IntN(9), 1+r.IntN(40)
	kh, kw := 1+r.IntN(min(h, 4)), 1+r.IntN(min(w, 4))
	sh, sw := 1+r.IntN(2), 1+r.IntN(2)
	pad := model.Padding(r.IntN(2))
	oc := 1 + r.IntN(40)
	return convGraph(r, pool, h, w, c, kh, kw, sh, sw, pad, oc)
}

// convGraph is singleConv with the geometry given.
func convGraph(r *rand.Rand, pool bool, h, w, c, kh, kw, sh, sw int, pad model.Padding, oc int) *model.Graph {
	act := []model.Activation{model.ActNone, model.ActReLU, model.ActReLU6}[r.IntN(3)]
	oh, ow := (h+sh-1)/sh, (w+sw-1)/sw
	if pad == model.PadValid {
		oh, ow = (h-kh+sh)/sh, (w-kw+sw)/sw
	}
	inQ := &model.Quant{Scale: []float32{0.01 + 0.05*float32(r.Float64())}, ZeroPoint: []int64{int64(r.IntN(256) - 128)}}
	outQ := &model.Quant{Scale: []float32{0.02 + 0.5*float32(r.Float64())}, ZeroPoint: []int64{int64(r.IntN(256) - 128)}}
	wv := make([]int8, oc*kh*kw*c)
	for i := range wv {
		wv[i] = int8(r.IntN(255) - 127)
		if r.IntN(10) == 0 {
			wv[i] = []int8{-127, 127}[r.IntN(2)]
		}
	}
	perChannel := r.IntN(3) > 0
	ns := 1
	if perChannel {
		ns = oc
	}
	ws := make([]float32, ns)
	for i := range ws {
		ws[i] = 0.001 + 0.02*float32(r.Float64())
	}
	bias := make([]int32, oc)
	for i := range bias {
		bias[i] = int32(r.IntN(20001) - 10000)
	}
	g := &model.Graph{DynamicBatch: true}
	g.Tensors = []model.Tensor{
		{Name: "in", Type: model.Float32, Shape: []int{1, h, w, c}},
		{Name: "in_q", Type: model.Int8, Shape: []int{1, h, w, c}, Quant: inQ},
		{Name: "w", Type: model.Int8, Shape: []int{oc, kh, kw, c}, Data: i8bytes(wv), Quant: &model.Quant{Scale: ws, ZeroPoint: make([]int64, ns)}},
		{Name: "b", Type: model.Int32, Shape: []int{oc}, Data: i32bytes(bias)},
		{Name: "conv", Type: model.Int8, Shape: []int{1, oh, ow, oc}, Quant: outQ},
	}
	g.Inputs = []int{0}
	g.Ops = []model.Op{
		{Code: model.OpQuantize, Inputs: []int{0}, Outputs: []int{1}},
		{Code: model.OpConv2D, Inputs: []int{1, 2, 3}, Outputs: []int{4}, StrideH: sh, StrideW: sw, Padding: pad, Activation: act},
	}
	if r.IntN(4) == 0 {
		g.Ops[1].Inputs[2] = -1 // no bias
	}
	last := 4
	if pool && oh >= 2 && ow >= 2 {
		k := 2
		g.Tensors = append(g.Tensors, model.Tensor{Name: "pool", Type: model.Int8, Shape: []int{1, oh / k, ow / k, oc}, Quant: outQ})
		g.Ops = append(g.Ops, model.Op{Code: model.OpMaxPool2D, Inputs: []int{4}, Outputs: []int{5}, FilterH: k, FilterW: k, StrideH: k, StrideW: k, Padding: model.PadValid, Activation: []model.Activation{model.ActNone, model.ActReLU}[r.IntN(2)]})
		last = 5
	}
	g.Tensors = append(g.Tensors, model.Tensor{Name: "out", Type: model.Float32, Shape: append([]int(nil), g.Tensors[last].Shape...)})
	g.Ops = append(g.Ops, model.Op{Code: model.OpDequantize, Inputs: []int{last}, Outputs: []int{len(g.Tensors) - 1}})
	g.Outputs = []int{len(g.Tensors) - 1}
	return g
}

func TestFastConvRandomGeometry(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 43))
	for it := 0; it < 300; it++ {
		g := singleConv(r, it%2 == 1)
		rd := qmath.Rounding(it % 4)
		t.Run(fmt.Sprint(it), func(t *testing.T) {
			runBoth(t, g, 1+r.IntN(3), 1+r.IntN(2), rd)
		})
	}
}

// TestConv3DirectRandom: 3×3 one-channel convolutions fused with a 2×2
// max pooling (the direct kernel qgemm.Conv3Pool2 where the CPU has one)
// equal the reference kernels: odd and even sizes, both paddings, random
// channel counts (padded to 32 inside), activations and roundings.
func TestConv3DirectRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(44, 45))
	for it := 0; it < 120; it++ {
		h, w := 3+r.IntN(30), 3+r.IntN(30)
		pad := model.Padding(r.IntN(2))
		if pad == model.PadValid {
			h, w = max(h, 4), max(w, 4)
		}
		g := convGraph(r, true, h, w, 1, 3, 3, 1, 1, pad, 1+r.IntN(70))
		rd := qmath.Rounding(it % 4)
		t.Run(fmt.Sprint(it), func(t *testing.T) {
			runBoth(t, g, 1+r.IntN(4), 1+r.IntN(3), rd)
		})
	}
}

// TestConvSegRandom: convolutions fused with a max pooling whose kernel
// rows are whole k steps (KW·C a multiple of 4) and whose channels fill
// panels of 64 run the segmented GEMM (no im2col) where the CPU has it;
// they equal the reference kernels for random geometry.
func TestConvSegRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(46, 47))
	seg := 0
	defer func() {
		p, err := qgemm.Pack(make([]int8, 64*12), 64, 12)
		if err != nil {
			t.Fatal(err)
		}
		if p.HasGemmSeg(3) && seg == 0 {
			t.Errorf("kernel %s has the segmented GEMM, but no convolution ran on it", qgemm.Kernel())
		}
		t.Logf("%d of 100 convolutions on the segmented GEMM", seg)
	}()
	for it := 0; it < 100; it++ {
		h, w := 2+r.IntN(11), 2+r.IntN(11)
		kh, kw := 1+r.IntN(min(h, 3)), 1+r.IntN(min(w, 3))
		c := 4 * (1 + r.IntN(10))
		if r.IntN(3) == 0 {
			c = 32
		}
		oc := 49 + r.IntN(16)
		if r.IntN(3) == 0 {
			oc = 113 + r.IntN(16)
		}
		g := convGraph(r, true, h, w, c, kh, kw, 1+r.IntN(2), 1+r.IntN(2), model.Padding(r.IntN(2)), oc)
		if e, err := New(g, runtime.Options{}); err == nil {
			seg += e.segSteps
			e.Close()
		}
		rd := qmath.Rounding(it % 4)
		t.Run(fmt.Sprint(it), func(t *testing.T) {
			runBoth(t, g, 1+r.IntN(3), 1+r.IntN(3), rd)
		})
	}
}

// TestConv3DirectSelected: the seed CNN's first layer runs the direct
// kernel wherever qgemm has an assembly one (VNNI), and nowhere else.
func TestConv3DirectSelected(t *testing.T) {
	g := int8Graph(randomModel(model.SeedArch(), 1), true, 1)
	e, err := New(g, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	p, err := qgemm.PackConv3(make([]int8, 9), 1)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	if p.HasConv3() {
		want = 1
	}
	if e.direct3 != want {
		t.Errorf("kernel %s: %d steps on the direct 3×3 kernel, want %d", qgemm.Kernel(), e.direct3, want)
	}
}

func TestFusedTensorNotMaterialized(t *testing.T) {
	m := randomModel(smallArch(), 3)
	g := int8Graph(m, false, 3)
	e, err := New(g, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := randInput(e.InputSize(), 1)
	if err := e.Run(context.Background(), in, 1, make([]float32, 10)); err != nil {
		t.Fatal(err)
	}
	conv1 := g.Ops[1].Outputs[0]
	if _, err := e.TensorData(conv1); !errors.Is(err, ErrNotMaterialized) {
		t.Errorf("fused conv output: got %v, want ErrNotMaterialized", err)
	}
	e2, _ := New(g, runtime.Options{}, WithIntermediates())
	if err := e2.Run(context.Background(), in, 1, make([]float32, 10)); err != nil {
		t.Fatal(err)
	}
	tv, err := e2.TensorData(conv1)
	if err != nil || len(tv.I8) != g.Tensors[conv1].NumElements() || tv.Shape[0] != 1 {
		t.Errorf("WithIntermediates conv output: %v, %d values", err, len(tv.I8))
	}
}

func TestZeroAllocsPerRun(t *testing.T) {
	m := randomModel(model.SeedArch(), 3)
	for _, c := range []struct {
		g  *model.Graph
		th int
	}{{int8Graph(m, true, 3), 1}, {int8Graph(m, true, 3), 2}, {floatGraph(m), 1}, {floatGraph(m), 2}} {
		th := c.th
		e, err := New(c.g, runtime.Options{Threads: th})
		if err != nil {
			t.Fatal(err)
		}
		in := randInput(4*e.InputSize(), 1)
		out := make([]float32, 4*e.OutputSize())
		ctx := context.Background()
		if err := e.Run(ctx, in, 4, out); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			if err := e.Run(ctx, in[:e.InputSize()], 1, out[:e.OutputSize()]); err != nil {
				t.Fatal(err)
			}
			if err := e.Run(ctx, in, 4, out); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("threads %d: %v allocations per Run", th, allocs)
		}
		e.Close()
	}
}

// Weights of −128 (outside TFLite's symmetric range) are accepted and run
// by the reference loop, with the same results.
func TestWeightMinus128FallsBack(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	g := singleConv(r, false)
	w := g.Tensors[2].Data
	w[0], w[len(w)-1] = 0x80, 0x80
	runBoth(t, g, 2, 1, qmath.Double)
}
