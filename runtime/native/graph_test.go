package native

import (
	"encoding/binary"
	"math"
	"math/rand/v2"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// Test graphs are built here directly (no file format involved).

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func i32bytes(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

func i8bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// randomModel returns a model of arch a with random weights.
func randomModel(a model.Arch, seed uint64) *model.Model {
	m, err := model.New(a)
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.Params() {
		fan := 1
		if len(p.Shape) > 1 {
			for _, d := range p.Shape[1:] {
				fan *= d
			}
		}
		for i := range p.Data {
			p.Data[i] = float32(r.NormFloat64() / math.Sqrt(float64(fan)))
		}
	}
	return m
}

// floatGraph translates a seed-family model (no BatchNorm) to a float Graph.
func floatGraph(m *model.Model) *model.Graph {
	g := &model.Graph{DynamicBatch: true, Metadata: map[string]string{"edgecnn.labels": "0,1,2,3,4,5,6,7,8,9"}}
	add := func(name string, shape []int, data []byte, typ model.DType) int {
		g.Tensors = append(g.Tensors, model.Tensor{Name: name, Type: typ, Shape: shape, Data: data})
		return len(g.Tensors) - 1
	}
	in := m.Input()
	cur := add("input", []int{1, in.H, in.W, in.C}, nil, model.Float32)
	g.Inputs = []int{cur}
	for i := 0; i < len(m.Layers); i++ {
		l := &m.Layers[i]
		act := model.ActNone
		if i+1 < len(m.Layers) && m.Layers[i+1].Kind == model.KindReLU {
			act = model.ActReLU
		}
		switch l.Kind {
		case model.KindConv2D:
			w := add(l.Name+".weight", []int{l.Out.C, l.Kernel, l.Kernel, l.In.C}, f32bytes(l.Weight), model.Float32)
			b := add(l.Name+".bias", []int{l.Out.C}, f32bytes(l.Bias), model.Float32)
			o := add(l.Name, []int{1, l.Out.H, l.Out.W, l.Out.C}, nil, model.Float32)
			g.Ops = append(g.Ops, model.Op{Code: model.OpConv2D, Inputs: []int{cur, w, b}, Outputs: []int{o}, StrideH: 1, StrideW: 1, Padding: model.PadSame, Activation: act})
			cur = o
		case model.KindMaxPool:
			o := add(l.Name, []int{1, l.Out.H, l.Out.W, l.Out.C}, nil, model.Float32)
			g.Ops = append(g.Ops, model.Op{Code: model.OpMaxPool2D, Inputs: []int{cur}, Outputs: []int{o}, StrideH: l.Stride, StrideW: l.Stride, FilterH: l.Kernel, FilterW: l.Kernel, Padding: model.PadValid})
			cur = o
		case model.KindFlatten:
			s := add("shape", []int{2}, i32bytes([]int32{-1, int32(l.Out.C)}), model.Int32)
			o := add("flatten", []int{1, l.Out.C}, nil, model.Float32)
			g.Ops = append(g.Ops, model.Op{Code: model.OpReshape, Inputs: []int{cur, s}, Outputs: []int{o}, NewShape: []int{-1, l.Out.C}})
			cur = o
		case model.KindDense:
			w := add(l.Name+".weight", []int{l.Out.C, l.In.C}, f32bytes(l.Weight), model.Float32)
			b := add(l.Name+".bias", []int{l.Out.C}, f32bytes(l.Bias), model.Float32)
			o := add(l.Name, []int{1, l.Out.C}, nil, model.Float32)
			g.Ops = append(g.Ops, model.Op{Code: model.OpFullyConnected, Inputs: []int{cur, w, b}, Outputs: []int{o}, Activation: act})
			cur = o
		}
	}
	g.Outputs = []int{cur}
	return g
}

// q8 is a tiny helper that quantizes float tensors symmetric per channel.
func quantW(w []float32, oc int) ([]int8, []float32) {
	per := len(w) / oc
	q := make([]int8, len(w))
	sc := make([]float32, oc)
	for c := 0; c < oc; c++ {
		var mx float32
		for _, v := range w[c*per : (c+1)*per] {
			mx = max(mx, float32(math.Abs(float64(v))))
		}
		if mx == 0 {
			mx = 1
		}
		sc[c] = mx / 127
		for i, v := range w[c*per : (c+1)*per] {
			q[c*per+i] = int8(qmath.QuantizeValue(v, sc[c], 0, -127, 127))
		}
	}
	return q, sc
}

// int8Graph builds an int8 graph from m (float input, QUANTIZE, int8
// conv/pool/fc with per-channel weights, DEQUANTIZE), with activation
// ranges given per layer output (asymmetric), so that the arithmetic of
// every int8 kernel is exercised. perTensorFC quantizes FC weights per tensor.
func int8Graph(m *model.Model, perTensorFC bool, seed uint64) *model.Graph {
	r := rand.New(rand.NewPCG(seed, 7))
	g := &model.Graph{DynamicBatch: true}
	add := func(t model.Tensor) int {
		g.Tensors = append(g.Tensors, t)
		return len(g.Tensors) - 1
	}
	actQ := func(lo, hi float32) *model.Quant {
		s := (hi - lo) / 255
		z := int64(math.Round(float64(-128 - lo/s)))
		return &model.Quant{Scale: []float32{s}, ZeroPoint: []int64{z}}
	}
	in := m.Input()
	x := add(model.Tensor{Name: "input", Type: model.Float32, Shape: []int{1, in.H, in.W, in.C}})
	g.Inputs = []int{x}
	inQ := actQ(-0.5, 2.9)
	cur := add(model.Tensor{Name: "input_q", Type: model.Int8, Shape: []int{1, in.H, in.W, in.C}, Quant: inQ})
	g.Ops = append(g.Ops, model.Op{Code: model.OpQuantize, Inputs: []int{x}, Outputs: []int{cur}})
	curQ := inQ
	for i := 0; i < len(m.Layers); i++ {
		l := &m.Layers[i]
		act := model.ActNone
		if i+1 < len(m.Layers) && m.Layers[i+1].Kind == model.KindReLU {
			act = model.ActReLU
		}
		switch l.Kind {
		case model.KindConv2D, model.KindDense:
			oc := l.Out.C
			var wq []int8
			var ws []float32
			if l.Kind == model.KindDense && perTensorFC {
				wq, ws = quantW(l.Weight, 1)
			} else {
				wq, ws = quantW(l.Weight, oc)
			}
			bias := make([]int32, oc)
			for c := range bias {
				s := ws[0]
				if len(ws) > 1 {
					s = ws[c]
				}
				bias[c] = int32(math.Round(float64(l.Bias[c]) / float64(curQ.Scale[0]*s)))
			}
			var wshape []int
			if l.Kind == model.KindConv2D {
				wshape = []int{oc, l.Kernel, l.Kernel, l.In.C}
			} else {
				wshape = []int{oc, l.In.C}
			}
			w := add(model.Tensor{Name: l.Name + ".weight", Type: model.Int8, Shape: wshape, Data: i8bytes(wq), Quant: &model.Quant{Scale: ws, ZeroPoint: make([]int64, len(ws))}})
			b := add(model.Tensor{Name: l.Name + ".bias", Type: model.Int32, Shape: []int{oc}, Data: i32bytes(bias)})
			hi := float32(2 + 4*r.Float64())
			lo := -hi * float32(r.Float64())
			oq := actQ(lo, hi)
			var shape []int
			op := model.Op{Inputs: []int{cur, w, b}, Activation: act}
			if l.Kind == model.KindConv2D {
				shape = []int{1, l.Out.H, l.Out.W, oc}
				op.Code, op.StrideH, op.StrideW, op.Padding = model.OpConv2D, 1, 1, model.PadSame
			} else {
				shape = []int{1, oc}
				op.Code = model.OpFullyConnected
			}
			o := add(model.Tensor{Name: l.Name, Type: model.Int8, Shape: shape, Quant: oq})
			op.Outputs = []int{o}
			g.Ops = append(g.Ops, op)
			cur, curQ = o, oq
		case model.KindMaxPool:
			o := add(model.Tensor{Name: l.Name, Type: model.Int8, Shape: []int{1, l.Out.H, l.Out.W, l.Out.C}, Quant: curQ})
			g.Ops = append(g.Ops, model.Op{Code: model.OpMaxPool2D, Inputs: []int{cur}, Outputs: []int{o}, StrideH: l.Stride, StrideW: l.Stride, FilterH: l.Kernel, FilterW: l.Kernel, Padding: model.PadValid})
			cur = o
		case model.KindFlatten:
			s := add(model.Tensor{Name: "shape", Type: model.Int32, Shape: []int{2}, Data: i32bytes([]int32{-1, int32(l.Out.C)})})
			o := add(model.Tensor{Name: "flatten", Type: model.Int8, Shape: []int{1, l.Out.C}, Quant: curQ})
			g.Ops = append(g.Ops, model.Op{Code: model.OpReshape, Inputs: []int{cur, s}, Outputs: []int{o}, NewShape: []int{-1, l.Out.C}})
			cur = o
		}
	}
	o := add(model.Tensor{Name: "logits", Type: model.Float32, Shape: []int{1, m.Arch.Classes}})
	g.Ops = append(g.Ops, model.Op{Code: model.OpDequantize, Inputs: []int{cur}, Outputs: []int{o}})
	g.Outputs = []int{o}
	return g
}
