package native

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

func randInput(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.Float64()*3.2 - 0.45)
	}
	return x
}

func smallArch() model.Arch {
	return model.Arch{InputH: 12, InputW: 10, InputC: 2, Width: 5, Hidden: 17, Classes: 10}
}

func TestFloatGraphMatchesForward(t *testing.T) {
	for _, a := range []model.Arch{smallArch(), model.SeedArch()} {
		m := randomModel(a, 1)
		e, err := New(floatGraph(m), runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		const batch = 3
		per := m.Input().Size()
		in := randInput(batch*per, 2)
		out := make([]float32, batch*a.Classes)
		if err := e.Run(context.Background(), in, batch, out); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < batch; b++ {
			want, err := m.Forward(in[b*per : (b+1)*per])
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range want {
				if got := out[b*a.Classes+i]; math.Abs(float64(got-w)) > 1e-4*(1+math.Abs(float64(w))) {
					t.Fatalf("arch %+v image %d logit %d: got %v, want %v", a, b, i, got, w)
				}
			}
		}
	}
}

// TestInt8GraphCloseToFloat checks that the int8 graph computes roughly what
// the float model does (a sanity check of the whole int8 pipeline; exactness
// is checked kernel by kernel).
func TestInt8GraphCloseToFloat(t *testing.T) {
	a := smallArch()
	m := randomModel(a, 4)
	e, err := New(int8Graph(m, false, 5), runtime.Options{}, WithReference())
	if err != nil {
		t.Fatal(err)
	}
	per := m.Input().Size()
	in := randInput(per, 6)
	for i := range in {
		in[i] = min(max(in[i], -0.5), 2.9)
	}
	out := make([]float32, a.Classes)
	if err := e.Run(context.Background(), in, 1, out); err != nil {
		t.Fatal(err)
	}
	// The test graph's activation ranges are random, so outputs clip;
	// compare only that the int8 engine ran and produced finite values in range,
	// plus exact agreement of the quantized input with QuantizeValue.
	tv, err := e.TensorData(1)
	if err != nil {
		t.Fatal(err)
	}
	q := e.g.Tensors[1].Quant
	for i, v := range in {
		if want := int8(qmath.QuantizeValue(v, q.Scale[0], int32(q.ZeroPoint[0]), -128, 127)); tv.I8[i] != want {
			t.Fatalf("quantized input %d: got %d, want %d", i, tv.I8[i], want)
		}
	}
	for _, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("non-finite output %v", out)
		}
	}
}

func TestRunErrors(t *testing.T) {
	m := randomModel(smallArch(), 1)
	e, err := New(floatGraph(m), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	per := m.Input().Size()
	ctx := context.Background()
	out := make([]float32, 10)
	if err := e.Run(ctx, make([]float32, per-1), 1, out); !errors.Is(err, runtime.ErrInput) {
		t.Errorf("short input: got %v, want ErrInput", err)
	}
	if err := e.Run(ctx, make([]float32, per), 1, out[:9]); !errors.Is(err, runtime.ErrInput) {
		t.Errorf("short output: got %v, want ErrInput", err)
	}
	if err := e.Run(ctx, make([]float32, per), 0, out[:0]); !errors.Is(err, runtime.ErrInput) {
		t.Errorf("batch 0: got %v, want ErrInput", err)
	}
	if _, err := e.TensorData(0); err == nil {
		t.Error("TensorData before any Run: want error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.Run(cctx, make([]float32, per), 1, out); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := e.Run(ctx, make([]float32, per), 1, out); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("run after close: got %v, want ErrClosed", err)
	}
}

func TestConcurrentRun(t *testing.T) {
	m := randomModel(smallArch(), 1)
	e, err := New(int8Graph(m, true, 2), runtime.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	per := m.Input().Size()
	ins := make([][]float32, 4)
	wants := make([][]float32, 4)
	for i := range ins {
		ins[i] = randInput((i+1)*per, uint64(i))
		wants[i] = make([]float32, (i+1)*10)
		if err := e.Run(context.Background(), ins[i], i+1, wants[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for gi := 0; gi < 8; gi++ {
		wg.Add(1)
		go func(gi int) {
			defer wg.Done()
			for it := 0; it < 20; it++ {
				i := (gi + it) % 4
				out := make([]float32, (i+1)*10)
				if err := e.Run(context.Background(), ins[i], i+1, out); err != nil {
					errs <- err
					return
				}
				for j := range out {
					if out[j] != wants[i][j] {
						errs <- errors.New("concurrent run differs from sequential run")
						return
					}
				}
			}
		}(gi)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestBadGraphs(t *testing.T) {
	m := randomModel(smallArch(), 1)
	cases := map[string]func(g *model.Graph){
		"unsupported op": func(g *model.Graph) { g.Ops[0].Code = 99 },
		"no inputs":      func(g *model.Graph) { g.Inputs = nil },
		"filter shape": func(g *model.Graph) {
			g.Tensors[g.Ops[0].Inputs[1]].Shape[3] = 7
			g.Tensors[g.Ops[0].Inputs[1]].Data = make([]byte, 4*5*3*3*7)
		},
		"output shape":       func(g *model.Graph) { g.Tensors[g.Ops[0].Outputs[0]].Shape[1] = 11 },
		"use before compute": func(g *model.Graph) { g.Ops[0], g.Ops[1] = g.Ops[1], g.Ops[0] },
		"bad activation":     func(g *model.Graph) { g.Ops[0].Activation = 2 },
		"zero stride":        func(g *model.Graph) { g.Ops[0].StrideH = 0 },
		"fc in mismatch": func(g *model.Graph) {
			g.Tensors[g.Ops[5].Inputs[1]].Shape = []int{17, 61}
			g.Tensors[g.Ops[5].Inputs[1]].Data = make([]byte, 4*17*61)
		},
		"int8 no quant": nil,
	}
	for name, mod := range cases {
		var g *model.Graph
		if mod == nil {
			g = int8Graph(m, false, 1)
			g.Tensors[g.Ops[1].Outputs[0]].Quant = nil
		} else {
			g = floatGraph(m)
			mod(g)
		}
		if _, err := New(g, runtime.Options{}); err == nil {
			t.Errorf("%s: New succeeded, want error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := New(nil, runtime.Options{}); err == nil {
		t.Error("nil graph accepted")
	}
}

func TestOpenTFLiteFile(t *testing.T) {
	m := randomModel(model.SeedArch(), 9)
	g, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/m.tflite"
	if err := tflite.WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	e, err := runtime.Open("native", path, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Backend() != "native" {
		t.Errorf("backend %q", e.Backend())
	}
	in := randInput(784, 1)
	out := make([]float32, 10)
	if err := e.Run(context.Background(), in, 1, out); err != nil {
		t.Fatal(err)
	}
	want, _ := m.Forward(in)
	for i := range want {
		if math.Abs(float64(out[i]-want[i])) > 1e-4*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("logit %d: got %v want %v", i, out[i], want[i])
		}
	}
	if _, err := runtime.Open("native", t.TempDir()+"/missing.tflite", runtime.Options{}); err == nil {
		t.Error("missing file opened")
	}
	if _, err := runtime.Open("native", "x.onnx", runtime.Options{}); err == nil {
		t.Error(".onnx accepted by native")
	}
}

var _ runtime.Engine = (*Engine)(nil)

// QUANTIZE float→int8, int8→uint8 (requantize, other scale), uint8 →
// float DEQUANTIZE, then a float SOFTMAX, checked value by value.
func TestQuantizeRequantizeDequantize(t *testing.T) {
	q8 := &model.Quant{Scale: []float32{0.05}, ZeroPoint: []int64{-10}}
	qu := &model.Quant{Scale: []float32{0.07}, ZeroPoint: []int64{130}}
	g := &model.Graph{
		Tensors: []model.Tensor{
			{Name: "in", Type: model.Float32, Shape: []int{1, 5}},
			{Name: "q8", Type: model.Int8, Shape: []int{1, 5}, Quant: q8},
			{Name: "qu", Type: model.UInt8, Shape: []int{1, 5}, Quant: qu},
			{Name: "deq", Type: model.Float32, Shape: []int{1, 5}},
			{Name: "prob", Type: model.Float32, Shape: []int{1, 5}},
		},
		Inputs:  []int{0},
		Outputs: []int{4},
		Ops: []model.Op{
			{Code: model.OpQuantize, Inputs: []int{0}, Outputs: []int{1}},
			{Code: model.OpQuantize, Inputs: []int{1}, Outputs: []int{2}},
			{Code: model.OpDequantize, Inputs: []int{2}, Outputs: []int{3}},
			{Code: model.OpSoftmax, Inputs: []int{3}, Outputs: []int{4}, Beta: 1},
		},
	}
	e, err := New(g, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := []float32{-100, -0.026, 0.025, 1.2345, 100}
	out := make([]float32, 5)
	if err := e.Run(context.Background(), in, 1, out); err != nil {
		t.Fatal(err)
	}
	m, sh := qmath.QuantizeMultiplier(0.05 / 0.07)
	var sum float64
	deq := make([]float64, 5)
	for i, v := range in {
		a := qmath.QuantizeValue(v, 0.05, -10, -128, 127)
		b := min(max(qmath.MulDouble(a+10, m, sh)+130, 0), 255)
		deq[i] = float64(float32(0.07 * float64(b-130)))
		sum += math.Exp(deq[i])
	}
	tv, _ := e.TensorData(1)
	if tv.I8[0] != -128 || tv.I8[4] != 127 {
		t.Errorf("saturation: %v", tv.I8)
	}
	tu, _ := e.TensorData(2)
	for i := range in {
		if got := float64(tu.Float()[i]); got != deq[i] {
			t.Errorf("value %d: dequantized %v, want %v", i, got, deq[i])
		}
		if want := math.Exp(deq[i]) / sum; math.Abs(float64(out[i])-want) > 1e-6 {
			t.Errorf("softmax %d: %v, want %v", i, out[i], want)
		}
	}
}
