package quantize

import (
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// tinyGraph is the float graph of a small member of the seed family
// (8×8 input, width 2, hidden 4, 3 classes) with random weights.
func tinyGraph(t *testing.T) *model.Graph {
	t.Helper()
	m, err := model.New(model.Arch{InputH: 8, InputW: 8, InputC: 1, Width: 2, Hidden: 4, Classes: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(5))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(r.NormFloat64() * 0.5)
		}
	}
	g, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func fixedRanges(fg *model.Graph) rangeFunc {
	return func(t int) (Range, error) {
		if t == fg.Inputs[0] {
			return Range{-0.5, 2.8}, nil
		}
		if t == fg.Outputs[0] {
			return Range{-3, 4}, nil
		}
		return Range{0, 2}, nil
	}
}

func TestConvertScheme(t *testing.T) {
	fg := tinyGraph(t)
	cv, err := convert(fg, fixedRanges(fg), convertOptions{io: IOInt8, rounding: qmath.Single})
	if err != nil {
		t.Fatal(err)
	}
	g := cv.g
	if g.Metadata[MetaRounding] != "single" {
		t.Errorf("metadata %s = %q, want single", MetaRounding, g.Metadata[MetaRounding])
	}
	if g.Metadata[model.MetaNormMean] == "" {
		t.Error("float graph metadata (normalization) not carried over")
	}
	var codes []model.OpCode
	for _, op := range g.Ops {
		codes = append(codes, op.Code)
	}
	want := []model.OpCode{model.OpConv2D, model.OpMaxPool2D, model.OpConv2D, model.OpMaxPool2D, model.OpReshape, model.OpFullyConnected, model.OpFullyConnected}
	if len(codes) != len(want) {
		t.Fatalf("ops %v, want %v", codes, want)
	}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("ops %v, want %v", codes, want)
		}
	}
	q := func(i int) *model.Quant { return g.Tensors[i].Quant }
	for k, op := range g.Ops {
		x, y := op.Inputs[0], op.Outputs[0]
		if g.Tensors[x].Type != model.Int8 || g.Tensors[y].Type != model.Int8 {
			t.Errorf("op %d (%v): activations %v → %v, want int8", k, op.Code, g.Tensors[x].Type, g.Tensors[y].Type)
		}
		if len(q(y).Scale) != 1 {
			t.Errorf("op %d: output not per-tensor", k)
		}
		switch op.Code {
		case model.OpMaxPool2D, model.OpReshape:
			if q(x).Scale[0] != q(y).Scale[0] || q(x).ZeroPoint[0] != q(y).ZeroPoint[0] {
				t.Errorf("op %d (%v): output parameters differ from the input's", k, op.Code)
			}
		case model.OpConv2D, model.OpFullyConnected:
			w, b := g.Tensors[op.Inputs[1]], g.Tensors[op.Inputs[2]]
			if w.Type != model.Int8 || b.Type != model.Int32 {
				t.Fatalf("op %d: weights %v bias %v, want int8 and int32", k, w.Type, b.Type)
			}
			oc := w.Shape[0]
			nscale := 1
			if op.Code == model.OpConv2D {
				nscale = oc // per channel along axis 0
				if w.Quant.Axis != 0 {
					t.Errorf("op %d: weight quantization axis %d, want 0", k, w.Quant.Axis)
				}
			}
			if len(w.Quant.Scale) != nscale || len(b.Quant.Scale) != nscale {
				t.Fatalf("op %d (%v): %d weight and %d bias scales, want %d", k, op.Code, len(w.Quant.Scale), len(b.Quant.Scale), nscale)
			}
			for c := range w.Quant.Scale {
				if w.Quant.ZeroPoint[c] != 0 || b.Quant.ZeroPoint[c] != 0 {
					t.Errorf("op %d: nonzero weight/bias zero point", k)
				}
				want := float64(q(x).Scale[0]) * float64(w.Quant.Scale[c])
				if math.Abs(float64(b.Quant.Scale[c])-want) > 1e-6*want {
					t.Errorf("op %d channel %d: bias scale %g, want s_in·s_w = %g", k, c, b.Quant.Scale[c], want)
				}
			}
			maxQ := 0
			for _, v := range w.Data {
				q := int(int8(v))
				if q == -128 {
					t.Fatalf("op %d: weight -128 (weights are symmetric in [-127, 127])", k)
				}
				maxQ = max(maxQ, q, -q)
			}
			if maxQ != 127 {
				t.Errorf("op %d: largest |weight| %d, want 127", k, maxQ)
			}
		}
	}
	if len(cv.layers) != 8 {
		t.Errorf("%d layers recorded, want 8 (input + 7 ops)", len(cv.layers))
	}
}

func TestConvertIO(t *testing.T) {
	fg := tinyGraph(t)
	for _, io := range []IO{IOInt8, IOUInt8, IOFloat} {
		cv, err := convert(fg, fixedRanges(fg), convertOptions{io: io})
		if err != nil {
			t.Fatal(err)
		}
		g := cv.g
		in, out := g.Tensors[g.Inputs[0]], g.Tensors[g.Outputs[0]]
		first, last := g.Ops[0], g.Ops[len(g.Ops)-1]
		switch io {
		case IOInt8:
			if in.Type != model.Int8 || out.Type != model.Int8 || first.Code != model.OpConv2D {
				t.Errorf("int8 I/O: %v → %v, first op %v", in.Type, out.Type, first.Code)
			}
		case IOUInt8:
			inner := g.Tensors[first.Outputs[0]]
			if in.Type != model.UInt8 || out.Type != model.UInt8 || first.Code != model.OpQuantize || last.Code != model.OpQuantize {
				t.Fatalf("uint8 I/O: %v → %v, ops %v … %v", in.Type, out.Type, first.Code, last.Code)
			}
			if in.Quant.ZeroPoint[0] != inner.Quant.ZeroPoint[0]+128 || in.Quant.Scale[0] != inner.Quant.Scale[0] {
				t.Errorf("uint8 input zero point %d, int8 %d: want +128, same scale", in.Quant.ZeroPoint[0], inner.Quant.ZeroPoint[0])
			}
		case IOFloat:
			if in.Type != model.Float32 || out.Type != model.Float32 || first.Code != model.OpQuantize || last.Code != model.OpDequantize {
				t.Errorf("float I/O: %v → %v, ops %v … %v", in.Type, out.Type, first.Code, last.Code)
			}
		}
	}
}

func TestConvertRejects(t *testing.T) {
	fg := tinyGraph(t)
	// A softmax at the end is dropped (logits out), with a note.
	sm := *fg
	sm.Tensors = append(append([]model.Tensor(nil), fg.Tensors...), model.Tensor{Name: "softmax", Type: model.Float32, Shape: []int{1, 3}})
	sm.Ops = append(append([]model.Op(nil), fg.Ops...), model.Op{Code: model.OpSoftmax, Inputs: []int{fg.Outputs[0]}, Outputs: []int{len(sm.Tensors) - 1}, Beta: 1})
	sm.Outputs = []int{len(sm.Tensors) - 1}
	cv, err := convert(&sm, fixedRanges(fg), convertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.notes) == 0 || cv.g.Ops[len(cv.g.Ops)-1].Code != model.OpFullyConnected {
		t.Errorf("final softmax not dropped with a note")
	}
	// An unsupported op is an error, not a silent pass-through.
	bad := *fg
	bad.Ops = append([]model.Op(nil), fg.Ops...)
	bad.Ops[1].Code = model.OpCode(99)
	if _, err := convert(&bad, fixedRanges(fg), convertOptions{}); err == nil {
		t.Error("unsupported op accepted")
	}
	// A non-finite range is an error.
	if _, err := convert(fg, func(int) (Range, error) { return Range{math.NaN(), 1}, nil }, convertOptions{}); err == nil {
		t.Error("NaN range accepted")
	}
}

// An output range far smaller than the accumulator's step (s_in·s_w) is
// widened until the requantization multiplier is ≤ 1: TFLite would shift
// accumulators left and wrap in int32 otherwise.
func TestConvertTinyRange(t *testing.T) {
	fg := tinyGraph(t)
	ranges := func(t int) (Range, error) {
		if t == fg.Inputs[0] {
			return Range{-0.5, 2.8}, nil
		}
		if t == fg.Outputs[0] {
			return Range{-2e-6, 3e-6}, nil // signed and tiny
		}
		return Range{0, 1e-5}, nil
	}
	cv, err := convert(fg, ranges, convertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	g := cv.g
	for _, op := range g.Ops {
		if op.Code != model.OpConv2D && op.Code != model.OpFullyConnected {
			continue
		}
		sIn := float64(g.Tensors[op.Inputs[0]].Quant.Scale[0])
		out := g.Tensors[op.Outputs[0]].Quant
		maxM := 0.0
		for _, sw := range g.Tensors[op.Inputs[1]].Quant.Scale {
			maxM = math.Max(maxM, sIn*float64(sw)/float64(out.Scale[0]))
		}
		name := g.Tensors[op.Outputs[0]].Name
		if maxM > 1.0001 || (name == "conv1/out" && maxM < 0.99) {
			t.Errorf("%s: largest multiplier %g, want ≤ 1 (exactly 1 for the widened conv1)", name, maxM)
		}
		if lo, hi := out.Min[0], out.Max[0]; lo > 0 || hi <= 0 {
			t.Errorf("%s: widened range [%g, %g] lost 0 or its positive side", g.Tensors[op.Outputs[0]].Name, lo, hi)
		}
	}
	if len(cv.notes) == 0 || !strings.HasPrefix(cv.notes[0], "conv1/out: ") {
		t.Errorf("notes %q, want one naming conv1/out first", cv.notes)
	}
}
