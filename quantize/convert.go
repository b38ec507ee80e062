package quantize

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// IO is the element type of the int8 graph's input and output.
type IO string

// I/O types. Int8 is TFLite's full-integer model; UInt8 adds QUANTIZE ops
// converting uint8→int8 at the input and int8→uint8 at the output; Float
// adds QUANTIZE at the input and DEQUANTIZE at the output.
const (
	IOInt8  IO = "int8"
	IOUInt8 IO = "uint8"
	IOFloat IO = "float"
)

// ParseIO validates an I/O type name.
func ParseIO(s string) (IO, error) {
	switch IO(strings.ToLower(strings.TrimSpace(s))) {
	case IOInt8:
		return IOInt8, nil
	case IOUInt8:
		return IOUInt8, nil
	case IOFloat, "float32":
		return IOFloat, nil
	}
	return "", fmt.Errorf("quantize: unknown --io %q (want int8, uint8 or float)", s)
}

// Metadata keys the quantizer adds to the int8 graph.
const (
	MetaRounding = qmath.MetaKey          // "double", "single", "ruy" or "fp32": the requantization rule the graph was evaluated with
	MetaMethod   = "edgecnn.quant_method" // calibration method used
	MetaCalib    = "edgecnn.quant_calib"  // number of calibration images
)

// layerQuant records what the converter did to one float operator, for the
// report.
type layerQuant struct {
	op          int // index in the float graph
	code        model.OpCode
	name        string
	floatOut    int // float graph tensor index of the output
	int8Out     int // int8 graph tensor index of the output
	rng         Range
	scale       float32
	zp          int32
	wMin, wMax  float32 // float weight range (conv/dense)
	wsMin, wsMx float32 // weight scale range
	perChannel  bool
	hasWeights  bool
	macs        int64
}

// converted is the int8 graph plus the float→int8 tensor correspondence.
type converted struct {
	g      *model.Graph
	tmap   map[int]int // float activation tensor → int8 tensor holding the same values (quantized)
	layers []layerQuant
	notes  []string
}

// convertOptions steer the float→int8 conversion.
type convertOptions struct {
	io              IO
	rounding        qmath.Rounding
	perChannelDense bool
	inputRange      *Range // overrides the calibrated range of the graph input
}

// activationRange returns the chosen range of a float tensor.
type rangeFunc func(t int) (Range, error)

// convert builds TFLite's int8 version of the float graph fg (BN already
// folded, ReLU fused), with the activation ranges given by rangeOf for the
// graph input and every CONV_2D and FULLY_CONNECTED output. MAX_POOL_2D and
// RESHAPE outputs share their input's parameters, as TFLite requires. A
// trailing SOFTMAX is dropped: the int8 graph ends with the logits (top-1 is
// unchanged).
func convert(fg *model.Graph, rangeOf rangeFunc, opt convertOptions) (*converted, error) {
	if err := fg.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: float graph: %w", err)
	}
	if len(fg.Inputs) != 1 || len(fg.Outputs) != 1 {
		return nil, fmt.Errorf("quantize: float graph has %d inputs and %d outputs, want 1 and 1", len(fg.Inputs), len(fg.Outputs))
	}
	ops := fg.Ops
	outF := fg.Outputs[0]
	cv := &converted{tmap: map[int]int{}}
	if n := len(ops); n > 0 && ops[n-1].Code == model.OpSoftmax && len(ops[n-1].Outputs) == 1 && ops[n-1].Outputs[0] == outF {
		outF = ops[n-1].Inputs[0]
		ops = ops[:n-1]
		cv.notes = append(cv.notes, "the float graph's final SOFTMAX is not quantized: the int8 model outputs logits (same top-1)")
	}
	g := &model.Graph{DynamicBatch: fg.DynamicBatch, Metadata: map[string]string{}}
	for k, v := range fg.Metadata {
		g.Metadata[k] = v
	}
	g.Metadata[MetaRounding] = opt.rounding.String()
	cv.g = g
	add := func(t model.Tensor) int {
		g.Tensors = append(g.Tensors, t)
		return len(g.Tensors) - 1
	}
	perTensor := func(s float32, zp int32, r Range) *model.Quant {
		return &model.Quant{Scale: []float32{s}, ZeroPoint: []int64{int64(zp)},
			Min: []float32{float32(r.Lo)}, Max: []float32{float32(r.Hi)}}
	}
	type qp struct {
		s   float32
		zp  int32
		rng Range
	}
	params := map[int]qp{} // float tensor → its int8 parameters

	// Input.
	inF := fg.Inputs[0]
	in := &fg.Tensors[inF]
	if in.Type != model.Float32 {
		return nil, fmt.Errorf("quantize: float graph input %q is %v, want float32", in.Name, in.Type)
	}
	inRange, err := rangeOf(inF)
	if err != nil {
		return nil, fmt.Errorf("quantize: input %q: %w", in.Name, err)
	}
	if opt.inputRange != nil {
		inRange = *opt.inputRange
	}
	s, zp, err := activationParams(inRange)
	if err != nil {
		return nil, fmt.Errorf("quantize: input %q: %w", in.Name, err)
	}
	params[inF] = qp{s, zp, inRange}
	shape := append([]int(nil), in.Shape...)
	switch opt.io {
	case IOInt8, "":
		idx := add(model.Tensor{Name: in.Name, Type: model.Int8, Shape: shape, Quant: perTensor(s, zp, inRange)})
		g.Inputs = []int{idx}
		cv.tmap[inF] = idx
	case IOUInt8, IOFloat:
		outer := model.Tensor{Name: in.Name, Type: model.Float32, Shape: shape}
		if opt.io == IOUInt8 {
			outer.Type = model.UInt8
			outer.Quant = perTensor(s, zp+128, inRange)
		}
		oi := add(outer)
		qi := add(model.Tensor{Name: in.Name + "_int8", Type: model.Int8, Shape: append([]int(nil), shape...), Quant: perTensor(s, zp, inRange)})
		g.Ops = append(g.Ops, model.Op{Code: model.OpQuantize, Inputs: []int{oi}, Outputs: []int{qi}})
		g.Inputs = []int{oi}
		cv.tmap[inF] = qi
	default:
		return nil, fmt.Errorf("quantize: unknown I/O type %q", opt.io)
	}
	cv.layers = append(cv.layers, layerQuant{op: -1, name: "input", floatOut: inF, int8Out: cv.tmap[inF], rng: inRange, scale: s, zp: zp})

	for k, op := range ops {
		if len(op.Outputs) != 1 || len(op.Inputs) < 1 {
			return nil, fmt.Errorf("quantize: op %d (%v) has %d inputs and %d outputs", k, op.Code, len(op.Inputs), len(op.Outputs))
		}
		xF, yF := op.Inputs[0], op.Outputs[0]
		xq, ok := cv.tmap[xF]
		if !ok {
			return nil, fmt.Errorf("quantize: op %d (%v): input tensor %d is not produced by an earlier op", k, op.Code, xF)
		}
		px := params[xF]
		yt := &fg.Tensors[yF]
		nop := op
		nop.Inputs = append([]int(nil), op.Inputs...)
		nop.NewShape = append([]int(nil), op.NewShape...)
		nop.Inputs[0] = xq
		lq := layerQuant{op: k, code: op.Code, name: yt.Name, floatOut: yF}
		switch op.Code {
		case model.OpConv2D, model.OpFullyConnected:
			if len(op.Inputs) < 2 || op.Inputs[1] < 0 {
				return nil, fmt.Errorf("quantize: op %d (%v) has no weights", k, op.Code)
			}
			wt := &fg.Tensors[op.Inputs[1]]
			w, err := floats(wt)
			if err != nil {
				return nil, fmt.Errorf("quantize: op %d (%v) weights: %w", k, op.Code, err)
			}
			if len(wt.Shape) < 2 || wt.Shape[0] <= 0 {
				return nil, fmt.Errorf("quantize: op %d (%v) weights %q have shape %v", k, op.Code, wt.Name, wt.Shape)
			}
			oc := wt.Shape[0]
			b := make([]float32, oc)
			if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
				bt := &fg.Tensors[op.Inputs[2]]
				if b, err = floats(bt); err != nil {
					return nil, fmt.Errorf("quantize: op %d (%v) bias: %w", k, op.Code, err)
				}
			}
			perCh := op.Code == model.OpConv2D || opt.perChannelDense
			r, err := rangeOf(yF)
			if err != nil {
				return nil, fmt.Errorf("quantize: %s: %w", yt.Name, err)
			}
			sy, zy, err := activationParams(r)
			if err != nil {
				return nil, fmt.Errorf("quantize: %s: %w", yt.Name, err)
			}
			qw, qb, sw, err := quantizeLayer(w, b, oc, px.s, perCh)
			if err != nil {
				return nil, fmt.Errorf("quantize: %s: %w", yt.Name, err)
			}
			// An output range so small that the requantization multiplier
			// s_in·s_w/s_out exceeds 1 would make TFLite shift accumulators
			// left (and wrap in int32): widen it until the multiplier is 1.
			var maxSW float64
			for _, v := range sw {
				maxSW = math.Max(maxSW, float64(v))
			}
			if minScale := float64(px.s) * maxSW; float64(sy) < minScale {
				f := minScale * float64(qMax-qMin) / math.Max(r.Hi-r.Lo, 1e-30)
				if r.Hi-r.Lo < minSpan {
					r = Range{Lo: 0, Hi: minScale * float64(qMax-qMin)}
				} else {
					r = Range{Lo: r.Lo * f, Hi: r.Hi * f}
				}
				if sy, zy, err = activationParams(r); err != nil {
					return nil, fmt.Errorf("quantize: %s: %w", yt.Name, err)
				}
				cv.notes = append(cv.notes, fmt.Sprintf("%s: the calibrated range is too small for the requantization multiplier to stay ≤ 1; widened to [%.4g, %.4g]", yt.Name, r.Lo, r.Hi))
			}
			wq := &model.Quant{ZeroPoint: make([]int64, 0, oc)}
			if perCh {
				wq.Scale = sw
				wq.ZeroPoint = make([]int64, oc)
				wq.Axis = 0
			} else {
				wq.Scale = []float32{sw[0]}
				wq.ZeroPoint = []int64{0}
			}
			bq := &model.Quant{Scale: make([]float32, len(wq.Scale)), ZeroPoint: make([]int64, len(wq.Scale))}
			for c := range bq.Scale {
				bq.Scale[c] = float32(float64(px.s) * float64(wq.Scale[c]))
			}
			for c := 0; c < oc; c++ {
				m := float64(px.s) * float64(sw[c]) / float64(sy)
				if !multiplierOK(m) {
					return nil, fmt.Errorf("quantize: %s channel %d: requantization multiplier %g is out of range (input scale %g, weight scale %g, output scale %g)", yt.Name, c, m, px.s, sw[c], sy)
				}
			}
			wb := make([]byte, len(qw))
			for i, v := range qw {
				wb[i] = byte(v)
			}
			bb := make([]byte, 4*len(qb))
			for i, v := range qb {
				binary.LittleEndian.PutUint32(bb[4*i:], uint32(v))
			}
			nop.Inputs = []int{xq,
				add(model.Tensor{Name: wt.Name, Type: model.Int8, Shape: append([]int(nil), wt.Shape...), Data: wb, Quant: wq}),
				add(model.Tensor{Name: biasName(fg, op, wt.Name), Type: model.Int32, Shape: []int{oc}, Data: bb, Quant: bq}),
			}
			yq := add(model.Tensor{Name: yt.Name, Type: model.Int8, Shape: append([]int(nil), yt.Shape...), Quant: perTensor(sy, zy, r)})
			nop.Outputs = []int{yq}
			params[yF] = qp{sy, zy, r}
			cv.tmap[yF] = yq
			lq.int8Out, lq.rng, lq.scale, lq.zp = yq, r, sy, zy
			lq.hasWeights, lq.perChannel = true, perCh
			lq.wMin, lq.wMax = minMax(w)
			lq.wsMin, lq.wsMx = minMax(sw)
			lq.macs = int64(len(w)) * int64(spatial(yt.Shape))
		case model.OpMaxPool2D, model.OpReshape:
			if op.Code == model.OpReshape && len(op.Inputs) > 1 && op.Inputs[1] >= 0 {
				st := fg.Tensors[op.Inputs[1]]
				st.Shape = append([]int(nil), st.Shape...)
				st.Data = append([]byte(nil), st.Data...)
				nop.Inputs[1] = add(st)
			}
			yq := add(model.Tensor{Name: yt.Name, Type: model.Int8, Shape: append([]int(nil), yt.Shape...), Quant: perTensor(px.s, px.zp, px.rng)})
			nop.Outputs = []int{yq}
			params[yF] = px
			cv.tmap[yF] = yq
			lq.int8Out, lq.rng, lq.scale, lq.zp = yq, px.rng, px.s, px.zp
		default:
			return nil, fmt.Errorf("quantize: op %d: %v is not supported by the int8 quantizer (supported: CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, RESHAPE, final SOFTMAX)", k, op.Code)
		}
		g.Ops = append(g.Ops, nop)
		cv.layers = append(cv.layers, lq)
	}

	yq, ok := cv.tmap[outF]
	if !ok {
		return nil, fmt.Errorf("quantize: graph output tensor %d is not produced by any op", outF)
	}
	py := params[outF]
	switch opt.io {
	case IOInt8, "":
		g.Outputs = []int{yq}
	case IOUInt8, IOFloat:
		ot := g.Tensors[yq]
		outer := model.Tensor{Name: ot.Name + "_" + string(opt.io), Type: model.Float32, Shape: append([]int(nil), ot.Shape...)}
		code := model.OpDequantize
		if opt.io == IOUInt8 {
			outer.Type = model.UInt8
			outer.Quant = perTensor(py.s, py.zp+128, py.rng)
			code = model.OpQuantize
		}
		oi := add(outer)
		g.Ops = append(g.Ops, model.Op{Code: code, Inputs: []int{yq}, Outputs: []int{oi}})
		g.Outputs = []int{oi}
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: int8 graph: %w", err)
	}
	return cv, nil
}

func biasName(fg *model.Graph, op model.Op, wname string) string {
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		return fg.Tensors[op.Inputs[2]].Name
	}
	return wname + "_bias"
}

// spatial is the number of output positions of an NHWC output (1 for a
// dense output), per image.
func spatial(shape []int) int {
	if len(shape) == 4 {
		return shape[1] * shape[2]
	}
	return 1
}

// floats decodes a constant float32 tensor.
func floats(t *model.Tensor) ([]float32, error) {
	if t.Type != model.Float32 {
		return nil, fmt.Errorf("tensor %q is %v, want float32", t.Name, t.Type)
	}
	if t.Data == nil || len(t.Data) != 4*t.NumElements() {
		return nil, fmt.Errorf("tensor %q has %d data bytes for shape %v", t.Name, len(t.Data), t.Shape)
	}
	v := make([]float32, t.NumElements())
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return v, nil
}

func minMax(v []float32) (lo, hi float32) {
	if len(v) == 0 {
		return 0, 0
	}
	lo, hi = v[0], v[0]
	for _, x := range v {
		lo = min(lo, x)
		hi = max(hi, x)
	}
	return lo, hi
}
