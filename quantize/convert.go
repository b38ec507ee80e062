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

// qp is the int8 parameters of one float activation.
type qp struct {
	s   float32
	zp  int32
	rng Range
}

// converter is one convert call in progress.
type converter struct {
	fg      *model.Graph
	rangeOf rangeFunc
	opt     convertOptions
	cv      *converted
	g       *model.Graph // the int8 graph being built (cv.g)
	params  map[int]qp   // float tensor → its int8 parameters
}

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
	c := &converter{fg: fg, rangeOf: rangeOf, opt: opt, cv: cv, g: g, params: map[int]qp{}}
	if err := c.input(); err != nil {
		return nil, err
	}
	for k, op := range ops {
		if err := c.op(k, op); err != nil {
			return nil, err
		}
	}
	if err := c.output(outF); err != nil {
		return nil, err
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: int8 graph: %w", err)
	}
	return cv, nil
}

// add appends t to the int8 graph and returns its index.
func (c *converter) add(t model.Tensor) int {
	c.g.Tensors = append(c.g.Tensors, t)
	return len(c.g.Tensors) - 1
}

// perTensor is per-tensor quantization (s, zp) of range r.
func perTensor(s float32, zp int32, r Range) *model.Quant {
	return &model.Quant{Scale: []float32{s}, ZeroPoint: []int64{int64(zp)},
		Min: []float32{float32(r.Lo)}, Max: []float32{float32(r.Hi)}}
}

// input quantizes the graph input: an int8 input, or a uint8/float one
// followed by a QUANTIZE op to int8.
func (c *converter) input() error {
	fg, opt, cv := c.fg, c.opt, c.cv
	inF := fg.Inputs[0]
	in := &fg.Tensors[inF]
	if in.Type != model.Float32 {
		return fmt.Errorf("quantize: float graph input %q is %v, want float32", in.Name, in.Type)
	}
	inRange, err := c.rangeOf(inF)
	if err != nil {
		return fmt.Errorf("quantize: input %q: %w", in.Name, err)
	}
	if opt.inputRange != nil {
		inRange = *opt.inputRange
	}
	s, zp, err := activationParams(inRange)
	if err != nil {
		return fmt.Errorf("quantize: input %q: %w", in.Name, err)
	}
	c.params[inF] = qp{s, zp, inRange}
	shape := append([]int(nil), in.Shape...)
	switch opt.io {
	case IOInt8, "":
		idx := c.add(model.Tensor{Name: in.Name, Type: model.Int8, Shape: shape, Quant: perTensor(s, zp, inRange)})
		c.g.Inputs = []int{idx}
		cv.tmap[inF] = idx
	case IOUInt8, IOFloat:
		outer := model.Tensor{Name: in.Name, Type: model.Float32, Shape: shape}
		if opt.io == IOUInt8 {
			outer.Type = model.UInt8
			outer.Quant = perTensor(s, zp+128, inRange)
		}
		oi := c.add(outer)
		qi := c.add(model.Tensor{Name: in.Name + "_int8", Type: model.Int8, Shape: append([]int(nil), shape...), Quant: perTensor(s, zp, inRange)})
		c.g.Ops = append(c.g.Ops, model.Op{Code: model.OpQuantize, Inputs: []int{oi}, Outputs: []int{qi}})
		c.g.Inputs = []int{oi}
		cv.tmap[inF] = qi
	default:
		return fmt.Errorf("quantize: unknown I/O type %q", opt.io)
	}
	cv.layers = append(cv.layers, layerQuant{op: -1, name: "input", floatOut: inF, int8Out: cv.tmap[inF], rng: inRange, scale: s, zp: zp})
	return nil
}

// op converts float op k, whose input is already converted.
func (c *converter) op(k int, op model.Op) error {
	if len(op.Outputs) != 1 || len(op.Inputs) < 1 {
		return fmt.Errorf("quantize: op %d (%v) has %d inputs and %d outputs", k, op.Code, len(op.Inputs), len(op.Outputs))
	}
	xF, yF := op.Inputs[0], op.Outputs[0]
	xq, ok := c.cv.tmap[xF]
	if !ok {
		return fmt.Errorf("quantize: op %d (%v): input tensor %d is not produced by an earlier op", k, op.Code, xF)
	}
	nop := op
	nop.Inputs = append([]int(nil), op.Inputs...)
	nop.NewShape = append([]int(nil), op.NewShape...)
	nop.Inputs[0] = xq
	lq := layerQuant{op: k, code: op.Code, name: c.fg.Tensors[yF].Name, floatOut: yF}
	var err error
	switch op.Code {
	case model.OpConv2D, model.OpFullyConnected:
		err = c.weightedOp(k, op, &nop, &lq)
	case model.OpMaxPool2D, model.OpReshape:
		c.sharedOp(op, &nop, &lq)
	default:
		err = fmt.Errorf("quantize: op %d: %v is not supported by the int8 quantizer (supported: CONV_2D, FULLY_CONNECTED, MAX_POOL_2D, RESHAPE, final SOFTMAX)", k, op.Code)
	}
	if err != nil {
		return err
	}
	c.g.Ops = append(c.g.Ops, nop)
	c.cv.layers = append(c.cv.layers, lq)
	return nil
}

// sharedOp converts a MAX_POOL_2D or RESHAPE: its output shares the
// input's parameters, as TFLite requires.
func (c *converter) sharedOp(op model.Op, nop *model.Op, lq *layerQuant) {
	fg := c.fg
	xF, yF := op.Inputs[0], op.Outputs[0]
	px := c.params[xF]
	yt := &fg.Tensors[yF]
	if op.Code == model.OpReshape && len(op.Inputs) > 1 && op.Inputs[1] >= 0 {
		st := fg.Tensors[op.Inputs[1]]
		st.Shape = append([]int(nil), st.Shape...)
		st.Data = append([]byte(nil), st.Data...)
		nop.Inputs[1] = c.add(st)
	}
	yq := c.add(model.Tensor{Name: yt.Name, Type: model.Int8, Shape: append([]int(nil), yt.Shape...), Quant: perTensor(px.s, px.zp, px.rng)})
	nop.Outputs = []int{yq}
	c.params[yF] = px
	c.cv.tmap[yF] = yq
	lq.int8Out, lq.rng, lq.scale, lq.zp = yq, px.rng, px.s, px.zp
}

// weightedOp converts a CONV_2D or FULLY_CONNECTED: int8 weights
// (per-channel for conv, and for dense when asked), int32 bias at scale
// s_in·s_w, and the int8 output at its calibrated range.
func (c *converter) weightedOp(k int, op model.Op, nop *model.Op, lq *layerQuant) error {
	fg := c.fg
	xq, yF := nop.Inputs[0], op.Outputs[0]
	px := c.params[op.Inputs[0]]
	yt := &fg.Tensors[yF]
	w, b, wt, err := layerFloats(fg, k, op)
	if err != nil {
		return err
	}
	oc := wt.Shape[0]
	perCh := op.Code == model.OpConv2D || c.opt.perChannelDense
	r, err := c.rangeOf(yF)
	if err != nil {
		return fmt.Errorf("quantize: %s: %w", yt.Name, err)
	}
	sy, zy, err := activationParams(r)
	if err != nil {
		return fmt.Errorf("quantize: %s: %w", yt.Name, err)
	}
	qw, qb, sw, err := quantizeLayer(w, b, oc, px.s, perCh)
	if err != nil {
		return fmt.Errorf("quantize: %s: %w", yt.Name, err)
	}
	if r, sy, zy, err = c.widenForMultiplier(yt.Name, r, sy, zy, px.s, sw); err != nil {
		return err
	}
	wq, bq := weightQuant(sw, oc, px.s, perCh)
	for ch := 0; ch < oc; ch++ {
		m := float64(px.s) * float64(sw[ch]) / float64(sy)
		if !multiplierOK(m) {
			return fmt.Errorf("quantize: %s channel %d: requantization multiplier %g is out of range (input scale %g, weight scale %g, output scale %g)", yt.Name, ch, m, px.s, sw[ch], sy)
		}
	}
	nop.Inputs = []int{xq,
		c.add(model.Tensor{Name: wt.Name, Type: model.Int8, Shape: append([]int(nil), wt.Shape...), Data: int8Bytes(qw), Quant: wq}),
		c.add(model.Tensor{Name: biasName(fg, op, wt.Name), Type: model.Int32, Shape: []int{oc}, Data: int32Bytes(qb), Quant: bq}),
	}
	yq := c.add(model.Tensor{Name: yt.Name, Type: model.Int8, Shape: append([]int(nil), yt.Shape...), Quant: perTensor(sy, zy, r)})
	nop.Outputs = []int{yq}
	c.params[yF] = qp{sy, zy, r}
	c.cv.tmap[yF] = yq
	lq.int8Out, lq.rng, lq.scale, lq.zp = yq, r, sy, zy
	lq.hasWeights, lq.perChannel = true, perCh
	lq.wMin, lq.wMax = minMax(w)
	lq.wsMin, lq.wsMx = minMax(sw)
	lq.macs = int64(len(w)) * int64(spatial(yt.Shape))
	return nil
}

// layerFloats decodes the float weights and bias (zeros when absent) of
// conv/dense op k; wt is the weights tensor, at least 2-D.
func layerFloats(fg *model.Graph, k int, op model.Op) (w, b []float32, wt *model.Tensor, err error) {
	if len(op.Inputs) < 2 || op.Inputs[1] < 0 {
		return nil, nil, nil, fmt.Errorf("quantize: op %d (%v) has no weights", k, op.Code)
	}
	wt = &fg.Tensors[op.Inputs[1]]
	if w, err = floats(wt); err != nil {
		return nil, nil, nil, fmt.Errorf("quantize: op %d (%v) weights: %w", k, op.Code, err)
	}
	if len(wt.Shape) < 2 || wt.Shape[0] <= 0 {
		return nil, nil, nil, fmt.Errorf("quantize: op %d (%v) weights %q have shape %v", k, op.Code, wt.Name, wt.Shape)
	}
	b = make([]float32, wt.Shape[0])
	if len(op.Inputs) > 2 && op.Inputs[2] >= 0 {
		bt := &fg.Tensors[op.Inputs[2]]
		if b, err = floats(bt); err != nil {
			return nil, nil, nil, fmt.Errorf("quantize: op %d (%v) bias: %w", k, op.Code, err)
		}
	}
	return w, b, wt, nil
}

// widenForMultiplier returns the output range and parameters of a layer
// named name. An output range so small that the requantization multiplier
// s_in·s_w/s_out exceeds 1 would make TFLite shift accumulators left (and
// wrap in int32): it is widened until the multiplier is 1, with a note.
func (c *converter) widenForMultiplier(name string, r Range, sy float32, zy int32, sIn float32, sw []float32) (Range, float32, int32, error) {
	var maxSW float64
	for _, v := range sw {
		maxSW = math.Max(maxSW, float64(v))
	}
	minScale := float64(sIn) * maxSW
	if float64(sy) >= minScale {
		return r, sy, zy, nil
	}
	f := minScale * float64(qMax-qMin) / math.Max(r.Hi-r.Lo, 1e-30)
	if r.Hi-r.Lo < minSpan {
		r = Range{Lo: 0, Hi: minScale * float64(qMax-qMin)}
	} else {
		r = Range{Lo: r.Lo * f, Hi: r.Hi * f}
	}
	sy, zy, err := activationParams(r)
	if err != nil {
		return r, 0, 0, fmt.Errorf("quantize: %s: %w", name, err)
	}
	c.cv.notes = append(c.cv.notes, fmt.Sprintf("%s: the calibrated range is too small for the requantization multiplier to stay ≤ 1; widened to [%.4g, %.4g]", name, r.Lo, r.Hi))
	return r, sy, zy, nil
}

// weightQuant is the quantization of a layer's weights (scales sw,
// symmetric) and of its int32 bias (scale sIn·s_w, zero point 0).
func weightQuant(sw []float32, oc int, sIn float32, perCh bool) (wq, bq *model.Quant) {
	wq = &model.Quant{ZeroPoint: make([]int64, 0, oc)}
	if perCh {
		wq.Scale = sw
		wq.ZeroPoint = make([]int64, oc)
		wq.Axis = 0
	} else {
		wq.Scale = []float32{sw[0]}
		wq.ZeroPoint = []int64{0}
	}
	bq = &model.Quant{Scale: make([]float32, len(wq.Scale)), ZeroPoint: make([]int64, len(wq.Scale))}
	for ch := range bq.Scale {
		bq.Scale[ch] = float32(float64(sIn) * float64(wq.Scale[ch]))
	}
	return wq, bq
}

// int8Bytes is the raw data of int8 values.
func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// int32Bytes is the little-endian data of int32 values.
func int32Bytes(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

// output sets the graph output: the int8 logits, or a uint8/float tensor
// behind a QUANTIZE/DEQUANTIZE op.
func (c *converter) output(outF int) error {
	yq, ok := c.cv.tmap[outF]
	if !ok {
		return fmt.Errorf("quantize: graph output tensor %d is not produced by any op", outF)
	}
	py := c.params[outF]
	g := c.g
	switch c.opt.io {
	case IOInt8, "":
		g.Outputs = []int{yq}
	case IOUInt8, IOFloat:
		ot := g.Tensors[yq]
		outer := model.Tensor{Name: ot.Name + "_" + string(c.opt.io), Type: model.Float32, Shape: append([]int(nil), ot.Shape...)}
		code := model.OpDequantize
		if c.opt.io == IOUInt8 {
			outer.Type = model.UInt8
			outer.Quant = perTensor(py.s, py.zp+128, py.rng)
			code = model.OpQuantize
		}
		oi := c.add(outer)
		g.Ops = append(g.Ops, model.Op{Code: code, Inputs: []int{yq}, Outputs: []int{oi}})
		g.Outputs = []int{oi}
	}
	return nil
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
