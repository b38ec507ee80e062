package train

import (
	"math"
	"testing"
)

// tinyFakeQuant clips a good share of every activation: [0, 1.02] after
// the ReLU layers, [-0.512, 0.508] for the logits.
func tinyFakeQuant() *FakeQuant {
	relu := QuantParams{Scale: 0.004, ZeroPoint: -128}
	return &FakeQuant{
		Input: &QuantParams{Scale: 0.02, ZeroPoint: 0},
		Act:   map[string]QuantParams{"conv1": relu, "conv2": relu, "fc1": relu, "fc2": {Scale: 0.004, ZeroPoint: 0}},
	}
}

// TestFakeQuantSTEGradient checks the straight-through estimator's masks
// with finite differences: without rounding the fake quantization is a
// clamp, whose exact gradient is the STE gradient (pass inside the range,
// zero outside), so every parameter's analytic gradient must match central
// differences, and the masks must have clipped some values.
func TestFakeQuantSTEGradient(t *testing.T) {
	for _, threads := range []int{1, 2} {
		a := tinyArch(false, 0)
		m := newTestModel(t, a, 4)
		net, err := NewNet(m, 6, threads)
		if err != nil {
			t.Fatal(err)
		}
		defer net.Close()
		net.SetOptimizer("adam", 0)
		fq := tinyFakeQuant()
		fq.noRound = true
		if err := net.SetFakeQuant(fq); err != nil {
			t.Fatal(err)
		}
		b := randomBatch(5, 6, a)
		loss := func() float64 { return net.lossAndGrad(b, 3, false).Loss }
		net.lossAndGrad(b, 3, true)
		grad := append([]float32(nil), net.shards[0].gflat...)
		clipped, kept := 0, 0
		for _, s := range net.shards {
			for i, mk := range s.fqMask {
				if mk == nil {
					continue
				}
				for _, v := range mk[:s.n*net.ops[i].out.Size()] {
					if v == 0 {
						clipped++
					} else {
						kept++
					}
				}
			}
		}
		if clipped == 0 || kept == 0 {
			t.Fatalf("masks: %d clipped, %d kept: the test must exercise both", clipped, kept)
		}
		checked, bad, zero := 0, 0, 0
		const eps = 1e-3
		for _, p := range net.params {
			stride := max(1, len(p.data)/40)
			for k := 0; k < len(p.data); k += stride {
				old := p.data[k]
				p.data[k] = old + eps
				lp := loss()
				p.data[k] = old - eps
				lm := loss()
				p.data[k] = old
				fd := (lp - lm) / (2 * eps)
				an := float64(grad[p.off+k])
				checked++
				if an == 0 {
					zero++
				}
				if math.Abs(fd-an) > 2e-3+3e-2*math.Abs(fd) {
					bad++
					t.Logf("%s[%d]: analytic %.6g, finite difference %.6g", p.name, k, an, fd)
				}
			}
		}
		if bad > checked/100 {
			t.Fatalf("threads %d: %d of %d gradient components differ from finite differences", threads, bad, checked)
		}
		t.Logf("threads %d: %d clipped / %d kept activations; %d components checked (%d zero), %d outside tolerance", threads, clipped, kept, checked, zero, bad)
	}
}

// TestFakeQuantForward checks that a quantization-aware step computes with
// int8-representable values: the activations at the quantization points lie
// on their grid inside the int8 range, the weights seen by the forward pass
// are symmetric int8 per channel (conv) or per tensor (dense), and the float
// weights are what the optimizer updates.
func TestFakeQuantForward(t *testing.T) {
	a := tinyArch(false, 0)
	m := newTestModel(t, a, 6)
	net, err := NewNet(m, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.SetOptimizer("adam", 0)
	fq := tinyFakeQuant()
	if err := net.SetFakeQuant(fq); err != nil {
		t.Fatal(err)
	}
	b := randomBatch(7, 4, a)
	net.fqWeights()
	for _, o := range net.ops {
		if o.kind != opConv && o.kind != opDense {
			continue
		}
		w := o.l.Weight
		rows, per := o.out.C, len(w)/o.out.C
		if o.kind == opDense {
			rows, per = 1, len(w)
		}
		for r := 0; r < rows; r++ {
			row := w[r*per : (r+1)*per]
			var mx float64
			for _, v := range row {
				mx = math.Max(mx, math.Abs(float64(v)))
			}
			s := float32(mx / 127)
			for _, v := range row {
				q := v / s
				if math.Abs(float64(q)-math.Round(float64(q))) > 1e-3 || math.Abs(float64(q)) > 127.001 {
					t.Fatalf("%s: weight %v is not on the int8 grid of scale %v", o.l.Name, v, s)
				}
			}
		}
	}
	net.lossAndGrad(b, 1, true)
	net.fqRestore()
	for _, s := range net.shards {
		for i, q := range net.fq.act {
			if q == nil {
				continue
			}
			for _, v := range s.act[i+1][:s.n*net.ops[i].out.Size()] {
				k := float64(v/q.Scale) + float64(q.ZeroPoint)
				if math.Abs(k-math.Round(k)) > 1e-3 || k < -128.001 || k > 127.001 {
					t.Fatalf("op %d: activation %v is not an int8 value of scale %v zero point %d", i, v, q.Scale, q.ZeroPoint)
				}
			}
		}
	}
	before := append([]float32(nil), m.Layers[0].Weight...)
	res := net.Step(b, 1, 1e-2)
	if math.IsNaN(res.Loss) {
		t.Fatal("loss is NaN")
	}
	moved := 0
	for k, v := range m.Layers[0].Weight {
		if v != before[k] {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("a quantization-aware step did not update the float weights")
	}
	if allocs := testing.AllocsPerRun(5, func() { net.Step(b, 1, 1e-4) }); allocs > 0 {
		t.Errorf("quantization-aware Step allocates %v times", allocs)
	}
	if err := net.SetFakeQuant(nil); err != nil || net.fq != nil {
		t.Fatalf("turning fake quantization off: %v", err)
	}
}

func TestFakeQuantBadConfig(t *testing.T) {
	m := newTestModel(t, tinyArch(true, 0), 1)
	net, err := NewNet(m, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	if err := net.SetFakeQuant(&FakeQuant{}); err == nil {
		t.Error("BatchNorm model accepted")
	}
	m2 := newTestModel(t, tinyArch(false, 0), 1)
	net2, err := NewNet(m2, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net2.Close()
	for name, fq := range map[string]*FakeQuant{
		"zero scale":   {Act: map[string]QuantParams{"conv1": {Scale: 0}}},
		"NaN scale":    {Act: map[string]QuantParams{"conv1": {Scale: float32(math.NaN())}}},
		"zero point":   {Act: map[string]QuantParams{"conv1": {Scale: 1, ZeroPoint: 200}}},
		"unknown name": {Act: map[string]QuantParams{"nope": {Scale: 1}}},
		"bad input":    {Input: &QuantParams{Scale: -1}},
	} {
		if err := net2.SetFakeQuant(fq); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
