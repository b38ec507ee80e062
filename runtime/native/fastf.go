package native

import (
	"github.com/edgecnn/edgecnn/internal/sgemm"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/kernels"
)

// Float fast paths: im2col + internal/sgemm (packed SIMD GEMM), bias and
// activation applied on the GEMM output. Results differ from the reference
// loops only by float rounding (summation order, FMA).

const chunkRowsF = 128

// sgemmCtx is worker w's GEMM context (created with the scratch buffers).
func (e *Engine) sgemmCtx(w int) *sgemm.Context { return e.scr.sg[w] }

func biasAct(out, bias []float32, act model.Activation) {
	for i := range out {
		v := out[i]
		if bias != nil {
			v += bias[i]
		}
		switch act {
		case model.ActReLU:
			v = max(v, 0)
		case model.ActReLU6:
			v = min(max(v, 0), 6)
		}
		out[i] = v
	}
}

func (e *Engine) convF32Fast(k int, g kernels.ConvGeom, x *tval, w, bias []float32, act model.Activation, y *tval) step {
	kk := g.KH * g.KW * g.C
	e.scr.wantF(chunkRowsF * kk)
	var batchN int
	pointwise := g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadT == 0 && g.PadL == 0
	fn := func(wk, lo, hi int) {
		sg := e.sgemmCtx(wk)
		a := e.scr.f[wk]
		pix := g.OH * g.OW
		total := batchN * pix
		for u := lo; u < hi; u++ {
			r0 := u * chunkRowsF
			rows := min(chunkRowsF, total-r0)
			src := a
			if pointwise {
				src = x.f32[r0*kk:]
			} else {
				for j := 0; j < rows; j++ {
					r := r0 + j
					n, rem := r/pix, r%pix
					im2colF(a[j*kk:(j+1)*kk], x.f32, &g, n, rem/g.OW, rem%g.OW)
				}
			}
			out := y.f32[r0*g.OC : (r0+rows)*g.OC]
			sg.Gemm(false, true, rows, g.OC, kk, 1, src, kk, w, kk, 0, out, g.OC)
			for j := 0; j < rows; j++ {
				biasAct(out[j*g.OC:(j+1)*g.OC], bias, act)
			}
		}
	}
	return step{op: k, run: func(batch int) {
		batchN = batch
		e.pool.run((batch*g.OH*g.OW+chunkRowsF-1)/chunkRowsF, fn)
	}}
}

func im2colF(dst, x []float32, g *kernels.ConvGeom, n, oy, ox int) {
	o := 0
	for ky := 0; ky < g.KH; ky++ {
		iy := oy*g.SH - g.PadT + ky
		for kx := 0; kx < g.KW; kx++ {
			ix := ox*g.SW - g.PadL + kx
			d := dst[o : o+g.C]
			o += g.C
			if iy < 0 || iy >= g.H || ix < 0 || ix >= g.W {
				clear(d)
				continue
			}
			copy(d, x[((n*g.H+iy)*g.W+ix)*g.C:])
		}
	}
}

func (e *Engine) fcF32Fast(k, rows, in, nout int, x *tval, w, bias []float32, act model.Activation, y *tval) step {
	var batchN int
	fn := func(wk, lo, hi int) {
		sg := e.sgemmCtx(wk)
		total := batchN * rows
		for u := lo; u < hi; u++ {
			r0 := u * chunkRowsF
			n := min(chunkRowsF, total-r0)
			out := y.f32[r0*nout : (r0+n)*nout]
			sg.Gemm(false, true, n, nout, in, 1, x.f32[r0*in:], in, w, in, 0, out, nout)
			for j := 0; j < n; j++ {
				biasAct(out[j*nout:(j+1)*nout], bias, act)
			}
		}
	}
	return step{op: k, run: func(batch int) {
		batchN = batch
		e.pool.run((batch*rows+chunkRowsF-1)/chunkRowsF, fn)
	}}
}
