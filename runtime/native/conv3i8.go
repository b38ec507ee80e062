package native

import "github.com/edgecnn/edgecnn/runtime/kernels/qgemm"

// conv3I8 compiles a 3×3, stride-1 convolution of a one-channel input
// fused with a 2×2 max pooling (the seed CNN's first layer) to the direct
// kernel qgemm.Conv3Pool2: the windows are read from the padded input
// (no im2col), the pooling is taken over the int32 accumulators in
// registers and only the pooled maxima are requantized (the
// requantization is monotonic: see convPoolUnits). ok is false where the
// layer has another shape or the CPU has no assembly kernel for it; the
// im2col + GEMM path then runs, with the same results.
func (e *Engine) conv3I8(k int, q *qconv) (step, bool) {
	g, pg := &q.g, &q.pool
	if g.C != 1 || g.KH != 3 || g.KW != 3 || g.SH != 1 || g.SW != 1 || pg.KH != 2 || pg.KW != 2 || q.flip != qgemm.Flip() {
		return step{}, false
	}
	p3, err := qgemm.PackConv3(q.w, g.OC)
	if err != nil || !p3.HasConv3() {
		return step{}, false
	}
	ldc := 16 * p3.NBlk
	e.direct3++
	e.scr.want(0, pg.OW*ldc, q.hp*q.wp)
	unit := func(w, lo, hi int) {
		c := e.scr.c[w]
		oc := g.OC
		for u := lo; u < hi; u++ {
			n, py := u/pg.OH, u%pg.OH
			src := q.srcB[(n*q.hp+2*py)*q.wp:]
			p3.Conv3Pool2(src, q.wp, pg.OW, c, ldc)
			out := q.y.i8[((n*pg.OH+py)*pg.OW)*oc:][:pg.OW*oc]
			q.out.Rows(c, ldc, pg.OW, out, oc)
			if q.plo > q.rq.Lo || q.phi < q.rq.Hi {
				for i, v := range out {
					out[i] = int8(min(max(int32(v), q.plo), q.phi))
				}
			}
		}
	}
	return step{op: k, run: func(batch int) {
		q.batch = batch
		q.srcB = q.padded(e, batch)
		e.pool.run(batch*pg.OH, unit)
	}}, true
}
