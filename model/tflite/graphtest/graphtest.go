// Package graphtest builds graphs for format tests: random-weight models,
// a naive int8 quantization of a float graph (per-channel int8 weights on
// axis 0, int32 biases, int8 activations, QUANTIZE/DEQUANTIZE at the ends)
// and a float evaluator that simulates quantized graphs QDQ-style
// (x̂ = s·(clamp(round(x/s)+z) − z) at every quantized tensor).
//
// It stands in for the real quantizer (package quantize) in the tests of
// model/tflite and model/onnx; the numbers it produces are only meant to
// exercise the file formats, not to be a good quantization.
package graphtest

import (
	"fmt"
	"math"
	"math/rand"
	"strings"

	"github.com/edgecnn/edgecnn/model"
)

// RandomModel returns a model of arch a with random weights.
func RandomModel(a model.Arch, seed int64) (*model.Model, error) {
	m, err := model.New(a)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewSource(seed))
	for _, p := range m.Params() {
		for i := range p.Data {
			switch {
			case strings.HasSuffix(p.Name, "running_var"), strings.HasSuffix(p.Name, "_bn.weight"):
				p.Data[i] = 0.5 + r.Float32()
			case strings.HasSuffix(p.Name, ".weight"):
				fanIn := len(p.Data) / p.Shape[0]
				p.Data[i] = float32(r.NormFloat64() * math.Sqrt(2/float64(fanIn)))
			default:
				p.Data[i] = float32(r.NormFloat64() * 0.05)
			}
		}
	}
	return m, nil
}

// RandomImages returns n normalized images for m, drawn like MNIST digits
// (mostly background with bright strokes).
func RandomImages(m *model.Model, n int, seed int64) [][]float32 {
	r := rand.New(rand.NewSource(seed))
	out := make([][]float32, n)
	for k := range out {
		x := make([]float32, m.Input().Size())
		for i := range x {
			p := float32(0)
			if r.Float32() < 0.2 {
				p = r.Float32()
			}
			x[i] = (p - m.Norm.Mean) / m.Norm.Std
		}
		out[k] = x
	}
	return out
}

// Eval runs g on one image (batch 1) in float, simulating quantization at
// every quantized tensor. For a float graph it is a plain float forward pass.
func Eval(g *model.Graph, x []float32) ([]float32, error) {
	vals := make(map[int][]float32)
	in := g.Inputs[0]
	vals[in] = fq(&g.Tensors[in], x)
	get := func(i int) ([]float32, error) {
		if v, ok := vals[i]; ok {
			return v, nil
		}
		t := &g.Tensors[i]
		if t.Data == nil {
			return nil, fmt.Errorf("tensor %d %q read before it is computed", i, t.Name)
		}
		return Dequantize(t), nil
	}
	for k, op := range g.Ops {
		x, err := get(op.Inputs[0])
		if err != nil {
			return nil, err
		}
		it, ot := &g.Tensors[op.Inputs[0]], &g.Tensors[op.Outputs[0]]
		res := make([]float32, ot.NumElements())
		switch op.Code {
		case model.OpConv2D:
			w, err := get(op.Inputs[1])
			if err != nil {
				return nil, err
			}
			b, err := get(op.Inputs[2])
			if err != nil {
				return nil, err
			}
			k := g.Tensors[op.Inputs[1]].Shape[1]
			pad := 0
			if op.Padding == model.PadSame {
				pad = (k - 1) / 2
			}
			model.ConvRef(x, shape3(it), w, b, k, op.StrideH, pad, res, shape3(ot))
		case model.OpMaxPool2D:
			model.MaxPoolRef(x, shape3(it), op.FilterH, op.StrideH, res, shape3(ot))
		case model.OpReshape, model.OpQuantize, model.OpDequantize:
			copy(res, x)
		case model.OpFullyConnected:
			w, err := get(op.Inputs[1])
			if err != nil {
				return nil, err
			}
			b, err := get(op.Inputs[2])
			if err != nil {
				return nil, err
			}
			n := len(x)
			for o := range res {
				acc := float64(b[o])
				for j := 0; j < n; j++ {
					acc += float64(w[o*n+j]) * float64(x[j])
				}
				res[o] = float32(acc)
			}
		case model.OpSoftmax:
			mx := x[0]
			for _, v := range x {
				mx = max(mx, v)
			}
			var sum float64
			for i, v := range x {
				e := math.Exp(float64(op.Beta * (v - mx)))
				res[i] = float32(e)
				sum += e
			}
			for i := range res {
				res[i] = float32(float64(res[i]) / sum)
			}
		default:
			return nil, fmt.Errorf("op %d: unsupported %v", k, op.Code)
		}
		if op.Activation == model.ActReLU {
			for i := range res {
				res[i] = max(res[i], 0)
			}
		}
		vals[op.Outputs[0]] = fq(ot, res)
	}
	return vals[g.Outputs[0]], nil
}

func shape3(t *model.Tensor) model.Shape {
	return model.Shape{H: t.Shape[1], W: t.Shape[2], C: t.Shape[3]}
}

// fq fake-quantizes v with t's quantization (per tensor), if any.
func fq(t *model.Tensor, v []float32) []float32 {
	if t.Quant == nil || t.Type == model.Float32 {
		return v
	}
	lo, hi := qrange(t.Type)
	s, z := float64(t.Quant.Scale[0]), float64(t.Quant.ZeroPoint[0])
	out := make([]float32, len(v))
	for i, x := range v {
		q := math.Max(lo, math.Min(hi, math.RoundToEven(float64(x)/s)+z))
		out[i] = float32(s * (q - z))
	}
	return out
}

func qrange(t model.DType) (float64, float64) {
	switch t {
	case model.UInt8:
		return 0, 255
	case model.Int32:
		return math.MinInt32, math.MaxInt32
	}
	return -128, 127
}

// Dequantize returns the real values of a constant tensor.
func Dequantize(t *model.Tensor) []float32 {
	n := t.NumElements()
	out := make([]float32, n)
	raw := func(i int) float64 {
		switch t.Type {
		case model.Int8:
			return float64(int8(t.Data[i]))
		case model.UInt8:
			return float64(t.Data[i])
		case model.Int32:
			return float64(int32(uint32(t.Data[4*i]) | uint32(t.Data[4*i+1])<<8 | uint32(t.Data[4*i+2])<<16 | uint32(t.Data[4*i+3])<<24))
		}
		return float64(math.Float32frombits(uint32(t.Data[4*i]) | uint32(t.Data[4*i+1])<<8 | uint32(t.Data[4*i+2])<<16 | uint32(t.Data[4*i+3])<<24))
	}
	if t.Type == model.Float32 || t.Quant == nil {
		for i := range out {
			out[i] = float32(raw(i))
		}
		return out
	}
	q := t.Quant
	inner := 1
	if len(q.Scale) > 1 {
		for _, d := range t.Shape[q.Axis+1:] {
			inner *= d
		}
	}
	for i := range out {
		c := 0
		if len(q.Scale) > 1 {
			c = (i / inner) % len(q.Scale)
		}
		out[i] = float32(float64(q.Scale[c]) * (raw(i) - float64(q.ZeroPoint[c])))
	}
	return out
}

// Int8Graph quantizes the float graph fg naively: activation ranges from
// running calib through fg, int8 activations (asymmetric), per-channel
// symmetric int8 weights (axis 0, range ±127), int32 biases with scale
// s_in·s_w[c]. io is the type at the graph's input and output: Float32
// adds QUANTIZE/DEQUANTIZE ops, Int8 or UInt8 makes the IO tensors
// quantized of that type (uint8 via a requantizing QUANTIZE).
func Int8Graph(fg *model.Graph, calib [][]float32, io model.DType) (*model.Graph, error) {
	// Calibrate: min/max of every activation tensor.
	lo := make([]float64, len(fg.Tensors))
	hi := make([]float64, len(fg.Tensors))
	for _, x := range calib {
		vals, err := evalAll(fg, x)
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			for _, f := range v {
				lo[i] = math.Min(lo[i], float64(f))
				hi[i] = math.Max(hi[i], float64(f))
			}
		}
	}
	actQuant := func(i int) *model.Quant {
		l, h := math.Min(lo[i], 0), math.Max(hi[i], 0)
		if h-l < 1e-6 {
			h = l + 1e-6
		}
		s := (h - l) / 255
		z := math.Round(-128 - l/s)
		return &model.Quant{Scale: []float32{float32(s)}, ZeroPoint: []int64{int64(z)}}
	}
	g := &model.Graph{DynamicBatch: fg.DynamicBatch, Metadata: map[string]string{}}
	for k, v := range fg.Metadata {
		g.Metadata[k] = v
	}
	g.Tensors = make([]model.Tensor, len(fg.Tensors))
	for i, t := range fg.Tensors {
		nt := model.Tensor{Name: t.Name, Shape: append([]int(nil), t.Shape...)}
		if t.Data == nil {
			nt.Type = model.Int8
			nt.Quant = actQuant(i)
		} else {
			nt.Type, nt.Data = t.Type, t.Data // weights and biases replaced below
		}
		g.Tensors[i] = nt
	}
	for _, op := range fg.Ops {
		nop := op
		switch op.Code {
		case model.OpConv2D, model.OpFullyConnected:
			wt, bt := &g.Tensors[op.Inputs[1]], &g.Tensors[op.Inputs[2]]
			w := model.BytesF32(fg.Tensors[op.Inputs[1]].Data)
			b := model.BytesF32(fg.Tensors[op.Inputs[2]].Data)
			oc := wt.Shape[0]
			per := len(w) / oc
			sIn := float64(g.Tensors[op.Inputs[0]].Quant.Scale[0])
			wq := make([]byte, len(w))
			bq := make([]int32, oc)
			wQuant := &model.Quant{Axis: 0}
			bQuant := &model.Quant{Axis: 0}
			for c := 0; c < oc; c++ {
				m := 1e-8
				for _, v := range w[c*per : (c+1)*per] {
					m = math.Max(m, math.Abs(float64(v)))
				}
				s := float32(m / 127)
				for j := c * per; j < (c+1)*per; j++ {
					wq[j] = byte(int8(math.Max(-127, math.Min(127, math.RoundToEven(float64(w[j])/float64(s))))))
				}
				sb := sIn * float64(s)
				bq[c] = int32(math.RoundToEven(float64(b[c]) / sb))
				wQuant.Scale = append(wQuant.Scale, s)
				wQuant.ZeroPoint = append(wQuant.ZeroPoint, 0)
				bQuant.Scale = append(bQuant.Scale, float32(sb))
				bQuant.ZeroPoint = append(bQuant.ZeroPoint, 0)
			}
			wt.Type, wt.Data, wt.Quant = model.Int8, wq, wQuant
			bt.Type, bt.Data, bt.Quant = model.Int32, model.I32Bytes(bq), bQuant
		case model.OpMaxPool2D, model.OpReshape:
			// Output shares the input's quantization (TFLite requires it).
			q := *g.Tensors[op.Inputs[0]].Quant
			g.Tensors[op.Outputs[0]].Quant = &q
		case model.OpSoftmax:
			g.Tensors[op.Outputs[0]].Quant = &model.Quant{Scale: []float32{1.0 / 256}, ZeroPoint: []int64{-128}}
		}
		nop.Inputs = append([]int(nil), op.Inputs...)
		nop.Outputs = append([]int(nil), op.Outputs...)
		g.Ops = append(g.Ops, nop)
	}
	// IO.
	in, out := fg.Inputs[0], fg.Outputs[0]
	switch io {
	case model.Float32:
		fin := len(g.Tensors)
		g.Tensors = append(g.Tensors, model.Tensor{Name: "input_f32", Type: model.Float32, Shape: append([]int(nil), fg.Tensors[in].Shape...)})
		g.Ops = append([]model.Op{{Code: model.OpQuantize, Inputs: []int{fin}, Outputs: []int{in}}}, g.Ops...)
		fout := len(g.Tensors)
		g.Tensors = append(g.Tensors, model.Tensor{Name: "output_f32", Type: model.Float32, Shape: append([]int(nil), fg.Tensors[out].Shape...)})
		g.Ops = append(g.Ops, model.Op{Code: model.OpDequantize, Inputs: []int{out}, Outputs: []int{fout}})
		g.Inputs, g.Outputs = []int{fin}, []int{fout}
	case model.Int8:
		g.Inputs, g.Outputs = []int{in}, []int{out}
	case model.UInt8:
		u := func(i int, name string) int {
			q := *g.Tensors[i].Quant
			q.ZeroPoint = []int64{q.ZeroPoint[0] + 128}
			g.Tensors = append(g.Tensors, model.Tensor{Name: name, Type: model.UInt8, Shape: append([]int(nil), g.Tensors[i].Shape...), Quant: &q})
			return len(g.Tensors) - 1
		}
		uin := u(in, "input_u8")
		g.Ops = append([]model.Op{{Code: model.OpQuantize, Inputs: []int{uin}, Outputs: []int{in}}}, g.Ops...)
		uout := u(out, "output_u8")
		g.Ops = append(g.Ops, model.Op{Code: model.OpQuantize, Inputs: []int{out}, Outputs: []int{uout}})
		g.Inputs, g.Outputs = []int{uin}, []int{uout}
	default:
		return nil, fmt.Errorf("graphtest: io type %v", io)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// evalAll runs a float graph and returns every activation value.
func evalAll(g *model.Graph, x []float32) (map[int][]float32, error) {
	all := map[int][]float32{}
	// Run op by op through Eval on truncated graphs would be quadratic;
	// instead evaluate once and capture via a copy of Eval's loop.
	sub := *g
	for k := range g.Ops {
		sub.Ops = g.Ops[:k+1]
		sub.Outputs = []int{g.Ops[k].Outputs[0]}
		v, err := Eval(&sub, x)
		if err != nil {
			return nil, err
		}
		all[g.Ops[k].Outputs[0]] = v
	}
	all[g.Inputs[0]] = x
	return all, nil
}
