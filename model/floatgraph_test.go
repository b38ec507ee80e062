package model

import (
	"encoding/json"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// fgRandomModel returns a model with random weights (and random BatchNorm
// statistics when the arch has BatchNorm).
func fgRandomModel(t testing.TB, a Arch, seed int64) *Model {
	t.Helper()
	m, err := New(a)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	for _, p := range m.Params() {
		for i := range p.Data {
			switch {
			case strings.HasSuffix(p.Name, "running_var"):
				p.Data[i] = 0.5 + r.Float32()
			case strings.HasSuffix(p.Name, "_bn.weight"):
				p.Data[i] = 0.5 + r.Float32()
			default:
				p.Data[i] = float32(r.NormFloat64() * 0.1)
			}
		}
	}
	return m
}

// evalFloatGraph is a naive float interpreter for one image (batch 1), for
// testing the graph against Model.Forward.
func evalFloatGraph(t *testing.T, g *Graph, x []float32) []float32 {
	t.Helper()
	vals := map[int][]float32{g.Inputs[0]: x}
	get := func(i int) []float32 {
		if v, ok := vals[i]; ok {
			return v
		}
		if g.Tensors[i].Data == nil {
			t.Fatalf("tensor %d (%s) used before it is computed", i, g.Tensors[i].Name)
		}
		return BytesF32(g.Tensors[i].Data)
	}
	act := func(v []float32, a Activation) {
		if a == ActReLU {
			for i := range v {
				v[i] = max(v[i], 0)
			}
		}
	}
	for _, op := range g.Ops {
		in := &g.Tensors[op.Inputs[0]]
		out := &g.Tensors[op.Outputs[0]]
		res := make([]float32, out.NumElements())
		switch op.Code {
		case OpConv2D:
			w := &g.Tensors[op.Inputs[1]]
			k := w.Shape[1]
			pad := 0
			if op.Padding == PadSame {
				pad = (k - 1) / 2
			}
			is := Shape{in.Shape[1], in.Shape[2], in.Shape[3]}
			os := Shape{out.Shape[1], out.Shape[2], out.Shape[3]}
			ConvRef(get(op.Inputs[0]), is, get(op.Inputs[1]), get(op.Inputs[2]), k, op.StrideH, pad, res, os)
			act(res, op.Activation)
		case OpMaxPool2D:
			is := Shape{in.Shape[1], in.Shape[2], in.Shape[3]}
			os := Shape{out.Shape[1], out.Shape[2], out.Shape[3]}
			MaxPoolRef(get(op.Inputs[0]), is, op.FilterH, op.StrideH, res, os)
		case OpReshape:
			copy(res, get(op.Inputs[0]))
		case OpFullyConnected:
			xv, w, b := get(op.Inputs[0]), get(op.Inputs[1]), get(op.Inputs[2])
			n := len(xv)
			for o := range res {
				acc := b[o]
				for k := 0; k < n; k++ {
					acc += w[o*n+k] * xv[k]
				}
				res[o] = acc
			}
			act(res, op.Activation)
		case OpSoftmax:
			xv := get(op.Inputs[0])
			mx := xv[0]
			for _, v := range xv {
				mx = max(mx, v)
			}
			var sum float64
			for i, v := range xv {
				e := math.Exp(float64(op.Beta * (v - mx)))
				res[i] = float32(e)
				sum += e
			}
			for i := range res {
				res[i] = float32(float64(res[i]) / sum)
			}
		default:
			t.Fatalf("unexpected op %v", op.Code)
		}
		vals[op.Outputs[0]] = res
	}
	return vals[g.Outputs[0]]
}

func TestFloatGraphMatchesForward(t *testing.T) {
	for _, tc := range []struct {
		name string
		arch Arch
	}{
		{"seed", SeedArch()},
		{"batchnorm+dropout", Arch{InputH: 28, InputW: 28, InputC: 1, Width: 8, Hidden: 16, Classes: 10, BatchNorm: true, Dropout: 0.25}},
		{"odd-size", Arch{InputH: 13, InputW: 9, InputC: 2, Width: 4, Hidden: 8, Classes: 3, BatchNorm: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fgRandomModel(t, tc.arch, 7)
			g, err := FloatGraph(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, op := range g.Ops {
				if op.Code == OpSoftmax {
					t.Fatal("default graph must output logits, found SOFTMAX")
				}
			}
			r := rand.New(rand.NewSource(1))
			worst := 0.0
			for n := 0; n < 5; n++ {
				x := make([]float32, m.Input().Size())
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				want, err := m.Forward(x)
				if err != nil {
					t.Fatal(err)
				}
				got := evalFloatGraph(t, g, x)
				if len(got) != len(want) {
					t.Fatalf("got %d outputs, want %d", len(got), len(want))
				}
				for i := range want {
					worst = max(worst, math.Abs(float64(got[i]-want[i])))
				}
			}
			if worst > 1e-4 {
				t.Fatalf("graph differs from Model.Forward by %g (> 1e-4)", worst)
			}
			t.Logf("max |graph - forward| = %g", worst)
		})
	}
}

func TestFloatGraphStructure(t *testing.T) {
	m := fgRandomModel(t, Arch{InputH: 28, InputW: 28, InputC: 1, Width: 32, Hidden: 128, Classes: 10, BatchNorm: true, Dropout: 0.5}, 3)
	g, err := FloatGraphWith(m, GraphOptions{Softmax: true, StaticBatch: true})
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, op := range g.Ops {
		s := op.Code.String()
		if op.Activation == ActReLU {
			s += "+relu"
		}
		codes = append(codes, s)
	}
	want := "CONV_2D+relu MAX_POOL_2D CONV_2D+relu MAX_POOL_2D RESHAPE FULLY_CONNECTED+relu FULLY_CONNECTED SOFTMAX"
	if got := strings.Join(codes, " "); got != want {
		t.Fatalf("ops %q, want %q", got, want)
	}
	if g.DynamicBatch {
		t.Fatal("StaticBatch ignored")
	}
	rs := g.Ops[4]
	if got := BytesI32(g.Tensors[rs.Inputs[1]].Data); len(got) != 2 || got[0] != -1 || got[1] != 3136 {
		t.Fatalf("reshape shape %v, want [-1 3136]", got)
	}
	if g.Metadata[MetaNormMean] != "0.1307" || g.Metadata[MetaNormStd] != "0.3081" || g.Metadata[MetaLabels] != "0,1,2,3,4,5,6,7,8,9" || g.Metadata[MetaOutput] != "softmax" {
		t.Fatalf("metadata %v", g.Metadata)
	}
	var a Arch
	if err := json.Unmarshal([]byte(g.Metadata[MetaArch]), &a); err != nil || a != m.Arch {
		t.Fatalf("arch metadata %q (%v) does not round-trip to %+v", g.Metadata[MetaArch], err, m.Arch)
	}
	// Softmax output sums to one and keeps the argmax of Forward.
	x := make([]float32, 784)
	for i := range x {
		x[i] = float32(i%17) / 17
	}
	p := evalFloatGraph(t, g, x)
	logits, _ := m.Forward(x)
	var sum float64
	best, bestL := 0, 0
	for i := range p {
		sum += float64(p[i])
		if p[i] > p[best] {
			best = i
		}
		if logits[i] > logits[bestL] {
			bestL = i
		}
	}
	if math.Abs(sum-1) > 1e-5 || best != bestL {
		t.Fatalf("softmax sum %v argmax %d, logits argmax %d", sum, best, bestL)
	}
}

func TestFloatGraphErrors(t *testing.T) {
	if _, err := FloatGraph(nil); err == nil {
		t.Fatal("nil model accepted")
	}
	m := fgRandomModel(t, SeedArch(), 1)
	m.Layers[0].Weight[3] = float32(math.NaN())
	if _, err := FloatGraph(m); err == nil || !strings.Contains(err.Error(), "conv1.weight") {
		t.Fatalf("NaN weight: err = %v", err)
	}
	m = fgRandomModel(t, SeedArch(), 1)
	m.Layers[0].Pad = 2
	if _, err := FloatGraph(m); err == nil || !strings.Contains(err.Error(), "SAME") {
		t.Fatalf("odd padding: err = %v", err)
	}
	m = fgRandomModel(t, SeedArch(), 1)
	m.Layers = append(m.Layers, Layer{Kind: "gelu", Name: "g", In: m.Layers[len(m.Layers)-1].Out, Out: m.Layers[len(m.Layers)-1].Out})
	if _, err := FloatGraph(m); err == nil || !strings.Contains(err.Error(), "gelu") {
		t.Fatalf("unknown layer: err = %v", err)
	}
}
