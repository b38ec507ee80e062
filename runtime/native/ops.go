package native

import (
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/kernels"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// Operator steps. Each picks the reference kernel (runtime/kernels) or a
// fast path; fast paths must equal the reference bit for bit (int8) and are
// tested against it.

func (e *Engine) convF32(k int, g kernels.ConvGeom, x *tval, w, bias []float32, act model.Activation, y *tval) step {
	if !e.cfg.reference {
		return e.convF32Fast(k, g, x, w, bias, act, y)
	}
	return step{op: k, run: func(batch int) {
		gg := g
		gg.N = batch
		kernels.ConvF32Ref(gg, x.f32, w, bias, act, y.f32)
	}}
}

func (e *Engine) poolF32(k int, g kernels.ConvGeom, x *tval, act model.Activation, y *tval) step {
	if !e.cfg.reference {
		return step{op: k, run: func(batch int) { maxPoolF32(g, batch, x.f32, act, y.f32) }}
	}
	return step{op: k, run: func(batch int) {
		gg := g
		gg.N = batch
		kernels.MaxPoolF32Ref(gg, x.f32, act, y.f32)
	}}
}

func (e *Engine) fcF32(k, rows, in, nout int, x *tval, w, bias []float32, act model.Activation, y *tval) step {
	if !e.cfg.reference {
		return e.fcF32Fast(k, rows, in, nout, x, w, bias, act, y)
	}
	return step{op: k, run: func(batch int) {
		kernels.FullyConnectedF32Ref(batch*rows, in, nout, x.f32, w, bias, act, y.f32)
	}}
}

// hasMinus128 reports weights the fast kernels cannot take (TFLite's int8
// weights are symmetric, [−127, 127]; such layers run the reference loop).
func hasMinus128(w []int8) bool {
	for _, v := range w {
		if v == -128 {
			return true
		}
	}
	return false
}

func (e *Engine) convI8(k int, g kernels.ConvGeom, x *tval, w []int8, bias []int32, rq *kernels.Requant, y *tval) (step, error) {
	zpIn := zp(x.t)
	if e.cfg.reference || hasMinus128(w) {
		return step{op: k, run: func(batch int) {
			gg := g
			gg.N = batch
			kernels.ConvInt8Ref(gg, x.i8, zpIn, w, bias, rq, y.i8)
		}}, nil
	}
	q, err := newQconv(e, g, x, w, bias, rq, y)
	if err != nil {
		return step{}, e.errf(k, "%v", err)
	}
	if pg, lo, hi, ok := e.fusablePool(k, q); ok {
		q.pool, q.plo, q.phi = pg, lo, hi
		e.fuseNext = true
	}
	return e.convI8Fast(k, q), nil
}

// fusablePool reports whether op k+1 is an int8 max pooling that can be
// computed on op k's accumulators: it is the only consumer of op k's
// output, which is not a graph output; its windows do not overlap and need
// no padding; the requantization is monotonic; intermediates are not kept.
func (e *Engine) fusablePool(k int, q *qconv) (pg kernels.ConvGeom, lo, hi int32, ok bool) {
	if e.cfg.intermediates || k+1 >= len(e.g.Ops) || !q.monotonic() {
		return pg, 0, 0, false
	}
	op := &e.g.Ops[k+1]
	t := e.g.Ops[k].Outputs[0]
	if op.Code != model.OpMaxPool2D || len(op.Inputs) < 1 || op.Inputs[0] != t || t == e.out || len(op.Outputs) != 1 {
		return pg, 0, 0, false
	}
	for j, o := range e.g.Ops {
		if j == k+1 {
			continue
		}
		for _, i := range o.Inputs {
			if i == t {
				return pg, 0, 0, false
			}
		}
	}
	y := &e.vals[op.Outputs[0]]
	if y.t.Type != model.Int8 || checkAct(op.Activation) != nil || len(y.t.Shape) != 4 || y.t.Quant == nil || len(y.t.Quant.Scale) != 1 {
		return pg, 0, 0, false
	}
	x := &e.vals[t]
	if scale(x.t) != scale(y.t) || zp(x.t) != zp(y.t) {
		return pg, 0, 0, false
	}
	pg = kernels.ConvGeom{H: q.g.OH, W: q.g.OW, C: q.g.OC, OC: q.g.OC, KH: op.FilterH, KW: op.FilterW, SH: op.StrideH, SW: op.StrideW}
	if pg.KH < 1 || pg.KW < 1 || pg.KH != pg.SH || pg.KW != pg.SW {
		return pg, 0, 0, false
	}
	var err error
	if pg.OH, pg.PadT, err = kernels.OutSize(pg.H, pg.KH, pg.SH, op.Padding); err != nil || pg.PadT != 0 || (pg.OH-1)*pg.SH+pg.KH > pg.H {
		return pg, 0, 0, false
	}
	if pg.OW, pg.PadL, err = kernels.OutSize(pg.W, pg.KW, pg.SW, op.Padding); err != nil || pg.PadL != 0 || (pg.OW-1)*pg.SW+pg.KW > pg.W {
		return pg, 0, 0, false
	}
	if !eqShape(y.t.Shape[1:], []int{pg.OH, pg.OW, pg.C}) {
		return pg, 0, 0, false
	}
	lo, hi = qmath.ActivationRange(op.Activation == model.ActReLU, op.Activation == model.ActReLU6, scale(y.t), zp(y.t))
	q.y = y
	return pg, lo, hi, true
}

func (e *Engine) poolI8(k int, g kernels.ConvGeom, x *tval, lo, hi int32, y *tval) step {
	return step{op: k, run: func(batch int) {
		gg := g
		gg.N = batch
		kernels.MaxPoolInt8Ref(gg, x.i8, lo, hi, y.i8)
	}}
}

func (e *Engine) fcI8(k, rows, in, nout int, x *tval, w []int8, bias []int32, rq *kernels.Requant, y *tval) (step, error) {
	zpIn := zp(x.t)
	if e.cfg.reference || hasMinus128(w) {
		return step{op: k, run: func(batch int) {
			kernels.FullyConnectedInt8Ref(batch*rows, in, nout, x.i8, zpIn, w, bias, rq, y.i8)
		}}, nil
	}
	s, err := e.fcI8Fast(k, rows, in, nout, x, w, bias, rq, y)
	if err != nil {
		return step{}, e.errf(k, "%v", err)
	}
	return s, nil
}

// maxPoolF32 equals kernels.MaxPoolF32Ref (max is exact), with the channel
// loop innermost over contiguous slices.
func maxPoolF32(g kernels.ConvGeom, batch int, x []float32, act model.Activation, out []float32) {
	c := g.C
	for n := 0; n < batch; n++ {
		for oy := 0; oy < g.OH; oy++ {
			y0 := oy*g.SH - g.PadT
			ky0, ky1 := max(0, -y0), min(g.KH, g.H-y0)
			for ox := 0; ox < g.OW; ox++ {
				x0 := ox*g.SW - g.PadL
				kx0, kx1 := max(0, -x0), min(g.KW, g.W-x0)
				o := out[((n*g.OH+oy)*g.OW+ox)*c:][:c]
				first := true
				for ky := ky0; ky < ky1; ky++ {
					for kx := kx0; kx < kx1; kx++ {
						in := x[((n*g.H+y0+ky)*g.W+x0+kx)*c:][:c]
						if first {
							copy(o, in)
							first = false
							continue
						}
						for i, v := range in {
							o[i] = max(o[i], v)
						}
					}
				}
				if act != model.ActNone {
					for i, v := range o {
						o[i] = kernels.ActivationF32(act, v)
					}
				}
			}
		}
	}
}
