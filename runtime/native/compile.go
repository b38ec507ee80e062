package native

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/kernels"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// tval is the run-time value of one graph tensor. Constants are decoded
// once at load; activations are (re)sized for the batch at Run.
type tval struct {
	t     *model.Tensor
	konst bool
	per   int // elements per image (activations) or in total (constants)
	f32   []float32
	i8    []int8
	u8    []uint8
	i32   []int32
	n     int   // current element count
	alias *tval // float reshape output: shares this value's storage
	// A float activation handed from one fused conv + pool step to the
	// next convolution is stored with a zero border (lay.store elements
	// per image): the consumer reads its windows in place.
	lay   padLayout
	cpOut bool // written by a fused conv + pool step (fconv.cp)
}

// padLayout is the stored layout of one image of a padded float
// activation: h×w×c values inside rows×cols pixels, offset by top, left;
// the border is zero (never written after allocation). store is 0 for an
// ordinary (unpadded) value.
type padLayout struct {
	top, left, rows, cols, store int
}

// storeLen is the length of v's storage for batch images.
func (v *tval) storeLen(batch int) int {
	if v.lay.store > 0 {
		return batch * v.lay.store
	}
	return batch * v.per
}

// step is one compiled operator.
type step struct {
	op  int // index in Graph.Ops
	run func(batch int)
}

func (e *Engine) errf(k int, format string, args ...any) error {
	op := e.g.Ops[k]
	return fmt.Errorf("native: op %d (%v): %s", k, op.Code, fmt.Sprintf(format, args...))
}

// compile checks the graph and builds the steps.
func (e *Engine) compile() error {
	g := e.g
	if err := g.Validate(); err != nil {
		return fmt.Errorf("native: %w", err)
	}
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		return fmt.Errorf("native: graph has %d inputs and %d outputs; one of each is supported", len(g.Inputs), len(g.Outputs))
	}
	e.vals = make([]tval, len(g.Tensors))
	produced := make([]bool, len(g.Tensors))
	e.floatOnly = true
	for i := range g.Tensors {
		if g.Tensors[i].Data == nil && g.Tensors[i].Type != model.Float32 {
			e.floatOnly = false
		}
	}
	for i := range g.Tensors {
		t := &g.Tensors[i]
		v := &e.vals[i]
		v.t = t
		if t.Data != nil {
			v.konst = true
			v.per = t.NumElements()
			if err := decodeConst(v); err != nil {
				return err
			}
			produced[i] = true
			continue
		}
		if len(t.Shape) < 1 {
			return fmt.Errorf("native: activation tensor %d %q has no batch dimension", i, t.Name)
		}
		v.per = 1
		for _, d := range t.Shape[1:] {
			v.per *= d
		}
		if v.per == 0 {
			return fmt.Errorf("native: tensor %d %q has an empty shape %v", i, t.Name, t.Shape)
		}
		switch t.Type {
		case model.Float32:
		case model.Int8, model.UInt8:
			if err := perTensorQuant(t); err != nil {
				return fmt.Errorf("native: tensor %d: %w", i, err)
			}
		default:
			return fmt.Errorf("native: tensor %d %q: activation type %v not supported", i, t.Name, t.Type)
		}
	}
	e.in, e.out = g.Inputs[0], g.Outputs[0]
	if e.vals[e.in].konst {
		return fmt.Errorf("native: graph input %d is a constant", e.in)
	}
	produced[e.in] = true
	e.fusedAway = make([]bool, len(g.Tensors))
	for k := 0; k < len(g.Ops); k++ {
		op := &g.Ops[k]
		for j, ti := range op.Inputs {
			if ti >= 0 && !produced[ti] {
				return e.errf(k, "input %d (tensor %d %q) is used before it is computed", j, ti, g.Tensors[ti].Name)
			}
		}
		if len(op.Outputs) != 1 {
			return e.errf(k, "has %d outputs, want 1", len(op.Outputs))
		}
		o := op.Outputs[0]
		if e.vals[o].konst || produced[o] {
			return e.errf(k, "output tensor %d %q is a constant or written twice", o, g.Tensors[o].Name)
		}
		s, err := e.compileOp(k)
		if err != nil {
			return err
		}
		e.steps = append(e.steps, s)
		produced[o] = true
		if e.fuseNext {
			// op k+1 (max pooling) was fused into op k: its output is
			// written by step k; op k's own output is never materialized.
			e.fuseNext = false
			e.fusedAway[o] = true
			k++
			produced[g.Ops[k].Outputs[0]] = true
			if len(g.Ops[k].Outputs) != 1 {
				return e.errf(k, "has %d outputs, want 1", len(g.Ops[k].Outputs))
			}
		}
	}
	if !produced[e.out] {
		return fmt.Errorf("native: graph output %d is never computed", e.out)
	}
	if e.vals[e.out].konst {
		return fmt.Errorf("native: graph output %d is a constant", e.out)
	}
	return nil
}

func perTensorQuant(t *model.Tensor) error {
	q := t.Quant
	if q == nil || len(q.Scale) != 1 {
		return fmt.Errorf("%v tensor %q needs per-tensor quantization parameters", t.Type, t.Name)
	}
	if !(q.Scale[0] > 0) || math.IsInf(float64(q.Scale[0]), 0) {
		return fmt.Errorf("tensor %q: scale %v must be positive and finite", t.Name, q.Scale[0])
	}
	lo, hi := int64(-128), int64(127)
	if t.Type == model.UInt8 {
		lo, hi = 0, 255
	}
	if zp := q.ZeroPoint[0]; zp < lo || zp > hi {
		return fmt.Errorf("tensor %q: zero point %d outside %v range", t.Name, zp, t.Type)
	}
	return nil
}

func decodeConst(v *tval) error {
	t := v.t
	switch t.Type {
	case model.Float32:
		v.f32 = make([]float32, v.per)
		for i := range v.f32 {
			v.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case model.Int32:
		v.i32 = make([]int32, v.per)
		for i := range v.i32 {
			v.i32[i] = int32(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case model.Int8:
		v.i8 = make([]int8, v.per)
		for i := range v.i8 {
			v.i8[i] = int8(t.Data[i])
		}
	case model.UInt8:
		v.u8 = append([]uint8(nil), t.Data...)
	case model.Int64:
		// only used as RESHAPE shapes; not decoded
	default:
		return fmt.Errorf("native: constant tensor %q: type %v not supported", t.Name, t.Type)
	}
	return nil
}

func scale(t *model.Tensor) float32 { return t.Quant.Scale[0] }
func zp(t *model.Tensor) int32      { return int32(t.Quant.ZeroPoint[0]) }

func typeRange(d model.DType) (lo, hi int32) {
	if d == model.UInt8 {
		return 0, 255
	}
	return -128, 127
}

func (e *Engine) compileOp(k int) (step, error) {
	op := &e.g.Ops[k]
	switch op.Code {
	case model.OpConv2D:
		return e.compileConv(k)
	case model.OpMaxPool2D:
		return e.compilePool(k)
	case model.OpFullyConnected:
		return e.compileFC(k)
	case model.OpReshape:
		return e.compileReshape(k)
	case model.OpSoftmax:
		return e.compileSoftmax(k)
	case model.OpQuantize:
		return e.compileQuantize(k)
	case model.OpDequantize:
		return e.compileDequantize(k)
	}
	return step{}, e.errf(k, "operator not supported by the native engine (supported: CONV_2D, MAX_POOL_2D, FULLY_CONNECTED, RESHAPE, SOFTMAX, QUANTIZE, DEQUANTIZE)")
}

// input returns the value of op input j, checking presence.
func (e *Engine) input(k, j int) (*tval, error) {
	op := &e.g.Ops[k]
	if j >= len(op.Inputs) || op.Inputs[j] < 0 {
		return nil, e.errf(k, "missing input %d", j)
	}
	return &e.vals[op.Inputs[j]], nil
}

func (e *Engine) optInput(k, j int) *tval {
	op := &e.g.Ops[k]
	if j >= len(op.Inputs) || op.Inputs[j] < 0 {
		return nil
	}
	return &e.vals[op.Inputs[j]]
}

func (e *Engine) output(k int) *tval { return &e.vals[e.g.Ops[k].Outputs[0]] }

func checkAct(a model.Activation) error {
	switch a {
	case model.ActNone, model.ActReLU, model.ActReLU6:
		return nil
	}
	return fmt.Errorf("fused activation %d not supported", a)
}

// requant builds the output requantization for an int8 conv/FC with
// weight scales ws. perTensorFloat selects TFLite's per-tensor rule
// (GetQuantizedConvolutionMultipler: float(s_in·s_w) then /s_out in double);
// otherwise the per-channel rule (double(s_in)·double(s_w[c])/double(s_out)).
func (e *Engine) requant(x, w, out *model.Tensor, act model.Activation, nout int, perTensorFloat bool) (*kernels.Requant, error) {
	ws := w.Quant.Scale
	if len(ws) != 1 && len(ws) != nout {
		return nil, fmt.Errorf("weights have %d scales for %d output channels", len(ws), nout)
	}
	if len(ws) > 1 && w.Quant.Axis != 0 {
		return nil, fmt.Errorf("per-channel weight quantization must be along axis 0, not %d", w.Quant.Axis)
	}
	for c, z := range w.Quant.ZeroPoint {
		if z != 0 {
			return nil, fmt.Errorf("weight zero point %d of channel %d must be 0", z, c)
		}
	}
	rq := &kernels.Requant{ZpOut: zp(out), Rounding: e.cfg.rounding}
	sIn, sOut := scale(x), scale(out)
	for c, s := range ws {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("weight scale %v of channel %d must be positive and finite", s, c)
		}
		var real float64
		if len(ws) == 1 && perTensorFloat {
			real = float64(sIn*s) / float64(sOut)
		} else {
			real = float64(sIn) * float64(s) / float64(sOut)
		}
		m, sh := qmath.QuantizeMultiplier(real)
		rq.Mult = append(rq.Mult, m)
		rq.Shift = append(rq.Shift, sh)
		rq.Scale = append(rq.Scale, sIn*s/sOut) // float32, XNNPACK's order
	}
	if err := checkAct(act); err != nil {
		return nil, err
	}
	rq.Lo, rq.Hi = qmath.ActivationRange(act == model.ActReLU, act == model.ActReLU6, sOut, rq.ZpOut)
	return rq, nil
}

func (e *Engine) compileConv(k int) (step, error) {
	op := &e.g.Ops[k]
	x, err := e.input(k, 0)
	if err != nil {
		return step{}, err
	}
	w, err := e.input(k, 1)
	if err != nil {
		return step{}, err
	}
	b := e.optInput(k, 2)
	y := e.output(k)
	if x.konst || !w.konst || (b != nil && !b.konst) {
		return step{}, e.errf(k, "needs an activation input and constant filter and bias")
	}
	if len(x.t.Shape) != 4 || len(w.t.Shape) != 4 || len(y.t.Shape) != 4 {
		return step{}, e.errf(k, "input %v, filter %v and output %v must be 4-D", x.t.Shape, w.t.Shape, y.t.Shape)
	}
	g := kernels.ConvGeom{H: x.t.Shape[1], W: x.t.Shape[2], C: x.t.Shape[3],
		OC: w.t.Shape[0], KH: w.t.Shape[1], KW: w.t.Shape[2], SH: op.StrideH, SW: op.StrideW}
	if w.t.Shape[3] != g.C {
		return step{}, e.errf(k, "filter %v does not match %d input channels", w.t.Shape, g.C)
	}
	if g.OH, g.PadT, err = kernels.OutSize(g.H, g.KH, g.SH, op.Padding); err != nil {
		return step{}, e.errf(k, "%v", err)
	}
	if g.OW, g.PadL, err = kernels.OutSize(g.W, g.KW, g.SW, op.Padding); err != nil {
		return step{}, e.errf(k, "%v", err)
	}
	if want := []int{g.OH, g.OW, g.OC}; !eqShape(y.t.Shape[1:], want) {
		return step{}, e.errf(k, "output shape %v, computed [N %d %d %d]", y.t.Shape, g.OH, g.OW, g.OC)
	}
	if b != nil && b.per != g.OC {
		return step{}, e.errf(k, "bias has %d values for %d channels", b.per, g.OC)
	}
	switch {
	case x.t.Type == model.Float32 && w.t.Type == model.Float32 && y.t.Type == model.Float32:
		if b != nil && b.t.Type != model.Float32 {
			return step{}, e.errf(k, "float conv needs a float32 bias, not %v", b.t.Type)
		}
		if err := checkAct(op.Activation); err != nil {
			return step{}, e.errf(k, "%v", err)
		}
		var bias []float32
		if b != nil {
			bias = b.f32
		}
		return e.convF32(k, g, x, w.f32, bias, op.Activation, y), nil
	case x.t.Type == model.Int8 && w.t.Type == model.Int8 && y.t.Type == model.Int8:
		if w.t.Quant == nil {
			return step{}, e.errf(k, "int8 filter has no quantization parameters")
		}
		if b != nil && b.t.Type != model.Int32 {
			return step{}, e.errf(k, "int8 conv needs an int32 bias, not %v", b.t.Type)
		}
		rq, err := e.requant(x.t, w.t, y.t, op.Activation, g.OC, false)
		if err != nil {
			return step{}, e.errf(k, "%v", err)
		}
		var bias []int32
		if b != nil {
			bias = b.i32
		}
		return e.convI8(k, g, x, w.i8, bias, rq, y)
	}
	return step{}, e.errf(k, "types input %v, filter %v, output %v not supported (float32 or int8 throughout)", x.t.Type, w.t.Type, y.t.Type)
}

func eqShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (e *Engine) compilePool(k int) (step, error) {
	op := &e.g.Ops[k]
	x, err := e.input(k, 0)
	if err != nil {
		return step{}, err
	}
	y := e.output(k)
	if len(x.t.Shape) != 4 || len(y.t.Shape) != 4 {
		return step{}, e.errf(k, "input %v and output %v must be 4-D", x.t.Shape, y.t.Shape)
	}
	g := kernels.ConvGeom{H: x.t.Shape[1], W: x.t.Shape[2], C: x.t.Shape[3], KH: op.FilterH, KW: op.FilterW, SH: op.StrideH, SW: op.StrideW}
	g.OC = g.C
	if g.OH, g.PadT, err = kernels.OutSize(g.H, g.KH, g.SH, op.Padding); err != nil {
		return step{}, e.errf(k, "%v", err)
	}
	if g.OW, g.PadL, err = kernels.OutSize(g.W, g.KW, g.SW, op.Padding); err != nil {
		return step{}, e.errf(k, "%v", err)
	}
	if !eqShape(y.t.Shape[1:], []int{g.OH, g.OW, g.C}) {
		return step{}, e.errf(k, "output shape %v, computed [N %d %d %d]", y.t.Shape, g.OH, g.OW, g.C)
	}
	if err := checkAct(op.Activation); err != nil {
		return step{}, e.errf(k, "%v", err)
	}
	if x.t.Type != y.t.Type {
		return step{}, e.errf(k, "input %v and output %v types differ", x.t.Type, y.t.Type)
	}
	switch x.t.Type {
	case model.Float32:
		return e.poolF32(k, g, x, op.Activation, y), nil
	case model.Int8:
		if scale(x.t) != scale(y.t) || zp(x.t) != zp(y.t) {
			return step{}, e.errf(k, "int8 max pooling needs equal input and output quantization (got %v/%d and %v/%d)", scale(x.t), zp(x.t), scale(y.t), zp(y.t))
		}
		lo, hi := qmath.ActivationRange(op.Activation == model.ActReLU, op.Activation == model.ActReLU6, scale(y.t), zp(y.t))
		return e.poolI8(k, g, x, lo, hi, y), nil
	}
	return step{}, e.errf(k, "type %v not supported", x.t.Type)
}

func (e *Engine) compileFC(k int) (step, error) {
	op := &e.g.Ops[k]
	x, err := e.input(k, 0)
	if err != nil {
		return step{}, err
	}
	w, err := e.input(k, 1)
	if err != nil {
		return step{}, err
	}
	b := e.optInput(k, 2)
	y := e.output(k)
	if x.konst || !w.konst || (b != nil && !b.konst) {
		return step{}, e.errf(k, "needs an activation input and constant weights and bias")
	}
	if len(w.t.Shape) != 2 {
		return step{}, e.errf(k, "weights must be 2-D [out, in], got %v", w.t.Shape)
	}
	nout, in := w.t.Shape[0], w.t.Shape[1]
	if in == 0 || x.per%in != 0 {
		return step{}, e.errf(k, "input of %d values per image is not a multiple of the weights' %d inputs", x.per, in)
	}
	rows := x.per / in // rows per image
	if y.per != rows*nout {
		return step{}, e.errf(k, "output %v holds %d values per image, want %d", y.t.Shape, y.per, rows*nout)
	}
	if b != nil && b.per != nout {
		return step{}, e.errf(k, "bias has %d values for %d outputs", b.per, nout)
	}
	switch {
	case x.t.Type == model.Float32 && w.t.Type == model.Float32 && y.t.Type == model.Float32:
		if b != nil && b.t.Type != model.Float32 {
			return step{}, e.errf(k, "float FC needs a float32 bias, not %v", b.t.Type)
		}
		if err := checkAct(op.Activation); err != nil {
			return step{}, e.errf(k, "%v", err)
		}
		var bias []float32
		if b != nil {
			bias = b.f32
		}
		return e.fcF32(k, rows, in, nout, x, w.f32, bias, op.Activation, y), nil
	case x.t.Type == model.Int8 && w.t.Type == model.Int8 && y.t.Type == model.Int8:
		if w.t.Quant == nil {
			return step{}, e.errf(k, "int8 weights have no quantization parameters")
		}
		if b != nil && b.t.Type != model.Int32 {
			return step{}, e.errf(k, "int8 FC needs an int32 bias, not %v", b.t.Type)
		}
		rq, err := e.requant(x.t, w.t, y.t, op.Activation, nout, true)
		if err != nil {
			return step{}, e.errf(k, "%v", err)
		}
		var bias []int32
		if b != nil {
			bias = b.i32
		}
		return e.fcI8(k, rows, in, nout, x, w.i8, bias, rq, y)
	}
	return step{}, e.errf(k, "types input %v, weights %v, output %v not supported (float32 or int8 throughout)", x.t.Type, w.t.Type, y.t.Type)
}

func (e *Engine) compileReshape(k int) (step, error) {
	x, err := e.input(k, 0)
	if err != nil {
		return step{}, err
	}
	y := e.output(k)
	if x.konst {
		return step{}, e.errf(k, "reshaping a constant is not supported")
	}
	if x.per != y.per || x.t.Type != y.t.Type {
		return step{}, e.errf(k, "input %v %v and output %v %v differ in size or type", x.t.Type, x.t.Shape, y.t.Type, y.t.Shape)
	}
	if x.t.Type != model.Float32 && (scale(x.t) != scale(y.t) || zp(x.t) != zp(y.t)) {
		return step{}, e.errf(k, "input and output quantization differ")
	}
	if x.t.Type == model.Float32 {
		// A float reshape is a view: the output shares the input's
		// storage (every tensor has one producer, and no float step
		// writes its inputs), so the step has nothing to do.
		y.alias = x
		return step{op: k, run: func(int) {}}, nil
	}
	return step{op: k, run: func(batch int) {
		switch {
		case x.f32 != nil:
			copy(y.f32, x.f32[:x.n])
		case x.i8 != nil:
			copy(y.i8, x.i8[:x.n])
		default:
			copy(y.u8, x.u8[:x.n])
		}
	}}, nil
}

func (e *Engine) compileSoftmax(k int) (step, error) {
	op := &e.g.Ops[k]
	x, err := e.input(k, 0)
	if err != nil {
		return step{}, err
	}
	y := e.output(k)
	if x.t.Type != model.Float32 || y.t.Type != model.Float32 {
		return step{}, e.errf(k, "only float32 softmax is supported (got %v→%v); dequantize first", x.t.Type, y.t.Type)
	}
	depth := x.t.Shape[len(x.t.Shape)-1]
	if x.per != y.per || depth == 0 || x.per%depth != 0 {
		return step{}, e.errf(k, "input %v and output %v do not match", x.t.Shape, y.t.Shape)
	}
	beta := op.Beta
	if beta == 0 {
		beta = 1
	}
	return step{op: k, run: func(batch int) {
		kernels.SoftmaxF32(batch*x.per/depth, depth, beta, x.f32, y.f32)
	}}, nil
}

func (e *Engine) compileQuantize(k int) (step, error) {
	x, err := e.input(k, 0)
	if err != nil {
		return step{}, err
	}
	y := e.output(k)
	if x.per != y.per {
		return step{}, e.errf(k, "input %v and output %v differ in size", x.t.Shape, y.t.Shape)
	}
	if y.t.Type != model.Int8 && y.t.Type != model.UInt8 {
		return step{}, e.errf(k, "output type %v not supported (int8 or uint8)", y.t.Type)
	}
	lo, hi := typeRange(y.t.Type)
	zo := zp(y.t)
	switch x.t.Type {
	case model.Float32:
		s := scale(y.t)
		if y.t.Type == model.Int8 {
			return e.quantizeStep(k, x, y, s, zo, lo, hi), nil
		}
		return step{op: k, run: func(batch int) {
			if y.i8 != nil {
				for i, v := range x.f32[:x.n] {
					y.i8[i] = int8(qmath.QuantizeValue(v, s, zo, lo, hi))
				}
			} else {
				for i, v := range x.f32[:x.n] {
					y.u8[i] = uint8(qmath.QuantizeValue(v, s, zo, lo, hi))
				}
			}
		}}, nil
	case model.Int8, model.UInt8:
		m, sh := qmath.QuantizeMultiplier(float64(scale(x.t)) / float64(scale(y.t)))
		zi := zp(x.t)
		return step{op: k, run: func(batch int) {
			for i := 0; i < x.n; i++ {
				var q int32
				if x.i8 != nil {
					q = int32(x.i8[i])
				} else {
					q = int32(x.u8[i])
				}
				r := kernels.RequantizeValue(q, zi, m, sh, zo, lo, hi)
				if y.i8 != nil {
					y.i8[i] = int8(r)
				} else {
					y.u8[i] = uint8(r)
				}
			}
		}}, nil
	}
	return step{}, e.errf(k, "input type %v not supported", x.t.Type)
}

func (e *Engine) compileDequantize(k int) (step, error) {
	x, err := e.input(k, 0)
	if err != nil {
		return step{}, err
	}
	y := e.output(k)
	if x.per != y.per || y.t.Type != model.Float32 || (x.t.Type != model.Int8 && x.t.Type != model.UInt8) {
		return step{}, e.errf(k, "needs int8/uint8 input and float32 output of equal size (got %v %v → %v %v)", x.t.Type, x.t.Shape, y.t.Type, y.t.Shape)
	}
	s, z := scale(x.t), zp(x.t)
	return step{op: k, run: func(batch int) {
		if x.i8 != nil {
			for i, q := range x.i8[:x.n] {
				y.f32[i] = kernels.Dequantize(int32(q), s, z)
			}
		} else {
			for i, q := range x.u8[:x.n] {
				y.f32[i] = kernels.Dequantize(int32(q), s, z)
			}
		}
	}}, nil
}
