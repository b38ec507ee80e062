package native

import (
	"github.com/edgecnn/edgecnn/internal/sgemm"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/kernels"
)

// Float fast paths: im2col + internal/sgemm with the weights packed once at
// compile time (sgemm.PackB), bias and activation applied on the GEMM
// output, and a following non-overlapping max pooling fused into the
// convolution (pooled first, then bias and activation: both are monotonic,
// so this is exactly the unfused result on the same GEMM output). Results
// differ from the reference loops only by float rounding (summation order,
// FMA).

const chunkRowsF = 128 // GEMM rows per work unit

// sgemmCtx is worker w's GEMM context (created with the scratch buffers).
func (e *Engine) sgemmCtx(w int) *sgemm.Context { return e.scr.sg[w] }

// biasActRows adds bias (one value per column; nil: none) to the rows of
// the n-column matrix out and applies act.
func biasActRows(out []float32, n int, bias []float32, act model.Activation) {
	for r := 0; r+n <= len(out); r += n {
		o := out[r : r+n : r+n]
		if bias != nil {
			b := bias[:n:n]
			for j := range o {
				o[j] += b[j]
			}
		}
		switch act {
		case model.ActReLU:
			for j, v := range o {
				o[j] = max(v, 0)
			}
		case model.ActReLU6:
			for j, v := range o {
				o[j] = min(max(v, 0), 6)
			}
		}
	}
}

// fconv is a compiled float convolution.
type fconv struct {
	g       kernels.ConvGeom
	kk      int // GEMM depth KH·KW·C
	pb      *sgemm.PackedB
	bias    []float32
	act     model.Activation
	x, y    *tval
	pw      bool // pointwise: the input rows are the GEMM rows
	pool    kernels.ConvGeom
	fused   bool // pool fused: y is the pooled tensor
	pact    model.Activation
	zbias   []float32 // bias, or zeros
	lo, hi  float32   // clamp of act then pact
	prows   int       // pooled rows per work unit (fused)
	upi     int       // work units per image (fused)
	rowsMax int       // GEMM rows of one unit at most
	wp      int       // padded input row width (pixels)
	padMax  int       // scratch for padded input rows
	direct  []float32 // one-channel direct kernel: weights as [OC/16][KH·KW][16]
	offs    []int     // its tap offsets in the padded rows
	ind     []float32 // indirect 6×32 kernel: weights as [OC/16][K][16]
	indOffs []int     // its tap offsets (elements) in the padded rows
	cp      []float32 // fused conv + 2×2 pool kernel: weights as [OC/32][K][32]
	cpOffs  []int     // its kernel-row offsets (elements) in the padded rows
	batch   int
}

func (e *Engine) convF32Fast(k int, g kernels.ConvGeom, x *tval, w, bias []float32, act model.Activation, y *tval) step {
	kk := g.KH * g.KW * g.C
	c := &fconv{g: g, kk: kk, pb: sgemm.PackB(true, g.OC, kk, w, kk), bias: bias, act: act, x: x, y: y,
		pw: g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PadT == 0 && g.PadL == 0, rowsMax: chunkRowsF}
	if pg, pact, py, ok := e.fusablePoolF(k, g); ok {
		c.pool, c.pact, c.y, c.fused = pg, pact, py, true
		c.lo, c.hi = clampRange(act, pact)
		c.zbias = bias
		if c.zbias == nil {
			c.zbias = make([]float32, g.OC)
		}
		per := pg.KH * g.OW // GEMM rows per pooled row
		c.prows = max(1, chunkRowsF/per)
		cp := pg.KH == 2 && pg.KW == 2 && g.OC%32 == 0 && hasConvPoolAsm
		if cp && pg.OW%3 != 0 {
			// Whole groups of three pooled pixels per unit.
			c.prows = max(3, c.prows/3*3)
		}
		if e.cfg.threads > 1 {
			// At batch 1 give every thread a share of the image.
			c.prows = min(c.prows, max(1, (pg.OH+e.cfg.threads-1)/e.cfg.threads))
		}
		c.upi = (pg.OH + c.prows - 1) / c.prows
		c.rowsMax = c.prows * per
		e.fuseNext = true
	}
	c.wp = (g.OW-1)*g.SW + g.KW
	if g.C == 1 && g.SW == 1 && g.OC%16 == 0 && !c.pw && hasConv1Asm {
		c.direct = make([]float32, g.OC*kk)
		for q := 0; q < g.OC/16; q++ {
			for t := 0; t < kk; t++ {
				for j := 0; j < 16; j++ {
					c.direct[(q*kk+t)*16+j] = w[(16*q+j)*kk+t]
				}
			}
		}
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				c.offs = append(c.offs, ky*c.wp+kx)
			}
		}
	}
	c.padMax = (((c.rowsMax+g.OW-1)/g.OW+1)*g.SH + g.KH) * c.wp * g.C
	if g.C > 1 && g.OC%32 == 0 && !c.pw && hasConv1Asm {
		c.ind = make([]float32, g.OC*kk)
		for q := 0; q < g.OC/16; q++ {
			for t := 0; t < kk; t++ {
				for j := 0; j < 16; j++ {
					c.ind[(q*kk+t)*16+j] = w[(16*q+j)*kk+t]
				}
			}
		}
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				c.indOffs = append(c.indOffs, (ky*c.wp+kx)*g.C)
			}
		}
	}
	if c.fused && c.pool.KH == 2 && c.pool.KW == 2 && g.OC%32 == 0 && hasConvPoolAsm {
		// The conv + pool kernel reads kernel rows (KW·C contiguous values).
		c.cp = make([]float32, g.OC*kk)
		for q := 0; q < g.OC/32; q++ {
			for t := 0; t < kk; t++ {
				for j := 0; j < 32; j++ {
					c.cp[(q*kk+t)*32+j] = w[(32*q+j)*kk+t]
				}
			}
		}
		for ky := 0; ky < g.KH; ky++ {
			c.cpOffs = append(c.cpOffs, ky*c.wp*g.C)
		}
		c.direct, c.ind = nil, nil
		e.scr.wantF(c.padMax)
		c.y.cpOut = true
		e.padInput(k, c)
	} else {
		e.scr.wantF(c.rowsMax*(kk+g.OC) + c.padMax + 6*32)
	}
	fused := func(wk, lo, hi int) { c.runFused(e, wk, lo, hi) }
	plain := func(wk, lo, hi int) { c.runPlain(e, wk, lo, hi) }
	return step{op: k, run: func(batch int) {
		c.batch = batch
		if c.fused {
			e.pool.run(batch*c.upi, fused)
			return
		}
		e.pool.run((batch*g.OH*g.OW+chunkRowsF-1)/chunkRowsF, plain)
	}}
}

// gemmRows computes the GEMM rows [r0, r0+rows) (global output pixels)
// into out (rows×OC), with im2col into the worker's scratch.
func (c *fconv) gemmRows(e *Engine, wk, r0, rows int, out []float32) {
	g := &c.g
	kk := c.kk
	var src []float32
	if c.pw {
		src = c.x.f32[r0*kk:]
	} else {
		a := e.scr.f[wk][:rows*kk]
		xp := e.scr.f[wk][c.rowsMax*(kk+g.OC):][:c.padMax]
		pix := g.OH * g.OW
		for j := 0; j < rows; {
			// One image's output rows [oy0, oy1) at a time.
			r := r0 + j
			n, rem := r/pix, r%pix
			cnt := min(pix-rem, rows-j)
			oy0, oy1 := rem/g.OW, (rem+cnt+g.OW-1)/g.OW
			iy0 := oy0*g.SH - g.PadT
			padRowsF(xp, c.x.f32, g, n, iy0, (oy1-1)*g.SH-g.PadT+g.KH, c.wp)
			if c.direct != nil {
				c.directRows(xp, rem%g.OW, cnt, out[j*g.OC:])
				j += cnt
				continue
			}
			if c.ind != nil {
				tile := e.scr.f[wk][c.rowsMax*(kk+g.OC)+c.padMax:][:6*32]
				c.indirectRows(xp, rem%g.OW, cnt, out[j*g.OC:], tile)
				j += cnt
				continue
			}
			im2colPaddedF(a[j*kk:(j+cnt)*kk], xp, g, c.wp, rem%g.OW, cnt)
			j += cnt
		}
		src = a
	}
	if c.direct != nil || c.ind != nil {
		return
	}
	e.sgemmCtx(wk).GemmPacked(rows, src, kk, c.pb, 0, g.OC, out, g.OC)
}

// indirectRows computes cnt output pixels from column ox0 of the output
// row whose input starts at row 0 of the padded rows xp, six pixels (one
// tile row each) at a time, reading the input windows in place.
func (c *fconv) indirectRows(xp []float32, ox0, cnt int, out, tile []float32) {
	g := &c.g
	oc, kk := g.OC, c.kk
	var pix [6]int
	oy, ox := 0, ox0
	for i0 := 0; i0 < cnt; i0 += 6 {
		m := min(6, cnt-i0)
		for i := range 6 {
			if i >= m {
				pix[i] = pix[m-1] // a valid window; the row is discarded
				continue
			}
			pix[i] = (oy*g.SH*c.wp + ox*g.SW) * g.C
			if ox++; ox == g.OW {
				ox = 0
				oy++
			}
		}
		for p := 0; p < oc/32; p++ {
			b := c.ind[2*p*kk*16:]
			if m == 6 {
				convIndirect(g.C, c.indOffs, xp, &pix, b, kk*16, out[i0*oc+32*p:], oc)
				continue
			}
			convIndirect(g.C, c.indOffs, xp, &pix, b, kk*16, tile, 32)
			for i := 0; i < m; i++ {
				copy(out[(i0+i)*oc+32*p:][:32], tile[i*32:(i+1)*32])
			}
		}
	}
}

// directRows computes cnt output pixels from column ox0 of the output row
// whose input starts at row 0 of the padded rows xp (C = 1, stride 1).
func (c *fconv) directRows(xp []float32, ox0, cnt int, out []float32) {
	g := &c.g
	kk := c.kk
	oy, o := 0, 0
	for ox := ox0; cnt > 0; ox, oy = 0, oy+1 {
		n := min(g.OW-ox, cnt)
		x := xp[oy*g.SH*c.wp+ox:]
		for q := 0; q < g.OC/16; q++ {
			conv1(n, x, c.offs, c.direct[q*kk*16:(q+1)*kk*16], out[o*g.OC+16*q:], g.OC)
		}
		o += n
		cnt -= n
	}
}

func (c *fconv) runPlain(e *Engine, wk, lo, hi int) {
	g := &c.g
	total := c.batch * g.OH * g.OW
	for u := lo; u < hi; u++ {
		r0 := u * chunkRowsF
		rows := min(chunkRowsF, total-r0)
		out := c.y.f32[r0*g.OC : (r0+rows)*g.OC]
		c.gemmRows(e, wk, r0, rows, out)
		biasActRows(out, g.OC, c.bias, c.act)
	}
}

// padInput stores conv k's input with the zero border its windows need,
// when that input comes from another fused conv + pool step (which then
// writes inside the border) and nothing else reads it: the conv reads its
// windows in place instead of copying padded rows (padRowsF) per unit.
func (e *Engine) padInput(k int, c *fconv) {
	x, g, p := c.x, &c.g, &c.pool
	if !x.cpOut || x.lay.store > 0 || e.cfg.intermediates || x == &e.vals[e.out] || x == &e.vals[e.in] || len(x.t.Shape) != 4 {
		return
	}
	for j, op := range e.g.Ops {
		for _, i := range op.Inputs {
			if i >= 0 && &e.vals[i] == x && j != k {
				return
			}
		}
	}
	// Input rows −PadT … last, columns −PadL … wp−PadL−1 (as padRowsF).
	last := (2*p.OH-1)*g.SH - g.PadT + g.KH - 1
	l := padLayout{top: g.PadT, left: g.PadL}
	l.rows = l.top + max(g.H, last+1)
	l.cols = max(l.left+g.W, c.wp)
	l.store = l.rows * l.cols * g.C
	x.lay = l
	for ky := range c.cpOffs {
		c.cpOffs[ky] = ky * l.cols * g.C // kernel rows, at the stored row width
	}
}

// runConvPool computes the pooled rows of units [lo, hi) with the fused
// conv + pool kernel, three pooled pixels per call (one or two at the end
// of a unit whose count is not a multiple of three).
func (c *fconv) runConvPool(e *Engine, wk, lo, hi int) {
	g, p := &c.g, &c.pool
	oc := g.OC
	xl, yl := &c.x.lay, &c.y.lay
	rw := c.wp // row width of the padded input rows (pixels)
	if xl.store > 0 {
		rw = xl.cols
	}
	s, r := g.SW*g.C, g.SH*rw*g.C
	kc := g.KW * g.C
	var pp, po [3]int
	for u := lo; u < hi; u++ {
		n, py0 := u/c.upi, (u%c.upi)*c.prows
		py1 := min(p.OH, py0+c.prows)
		iy0 := 2*py0*g.SH - g.PadT
		var xp []float32
		if xl.store > 0 {
			// In place: the stored border is the padding.
			xp = c.x.f32[n*xl.store+((iy0+xl.top)*xl.cols+xl.left-g.PadL)*g.C:]
		} else {
			xp = e.scr.f[wk][:c.padMax]
			padRowsF(xp, c.x.f32, g, n, iy0, (2*py1-1)*g.SH-g.PadT+g.KH, c.wp)
		}
		cnt := (py1 - py0) * p.OW
		for q := 0; q < oc/32; q++ {
			b := c.cp[q*c.kk*32 : (q+1)*c.kk*32]
			bias := c.zbias[32*q : 32*q+32]
			for i0 := 0; i0 < cnt; i0 += 3 {
				m := min(3, cnt-i0)
				for j := range m {
					i := i0 + j
					py, px := i/p.OW, i%p.OW
					pp[j] = (2*py*g.SH*rw + 2*px*g.SW) * g.C
					if yl.store > 0 {
						po[j] = n*yl.store + ((py0+py+yl.top)*yl.cols+px+yl.left)*oc + 32*q
					} else {
						po[j] = ((n*p.OH+py0+py)*p.OW+px)*oc + 32*q
					}
				}
				convPool(kc, c.cpOffs, xp, &pp, m, s, r, b, bias, c.lo, c.hi, c.y.f32, &po)
			}
		}
	}
}

func (c *fconv) runFused(e *Engine, wk, lo, hi int) {
	if c.cp != nil {
		c.runConvPool(e, wk, lo, hi)
		return
	}
	g, p := &c.g, &c.pool
	oc := g.OC
	for u := lo; u < hi; u++ {
		n, py0 := u/c.upi, (u%c.upi)*c.prows
		py1 := min(p.OH, py0+c.prows)
		r0 := (n*g.OH + py0*p.KH) * g.OW
		rows := (py1 - py0) * p.KH * g.OW
		buf := e.scr.f[wk][c.rowsMax*c.kk:]
		cm := buf[:rows*oc]
		c.gemmRows(e, wk, r0, rows, cm)
		for py := py0; py < py1; py++ {
			base := (py - py0) * p.KH * g.OW
			for px := 0; px < p.OW; px++ {
				o := c.y.f32[((n*p.OH+py)*p.OW+px)*oc:][:oc:oc]
				first := base + px*p.KW
				if p.KH == 2 && p.KW == 2 {
					pool4(cm[first*oc:], cm[(first+1)*oc:], cm[(first+g.OW)*oc:], cm[(first+g.OW+1)*oc:], c.zbias, o, c.lo, c.hi)
					continue
				}
				copy(o, cm[first*oc:][:oc])
				for ky := 0; ky < p.KH; ky++ {
					for kx := 0; kx < p.KW; kx++ {
						r := cm[(first+ky*g.OW+kx)*oc:][:oc:oc]
						for j := range o {
							o[j] = max(o[j], r[j])
						}
					}
				}
				biasActRows(o, oc, c.bias, c.act)
				if c.pact != model.ActNone {
					biasActRows(o, oc, nil, c.pact)
				}
			}
		}
	}
}

// fusablePoolF reports whether op k+1 is a float max pooling that can be
// computed on conv op k's GEMM output: it is the only consumer of op k's
// output, which is not a graph output; its windows tile the rows and
// columns without overlap or padding; intermediates are not kept.
func (e *Engine) fusablePoolF(k int, cg kernels.ConvGeom) (pg kernels.ConvGeom, act model.Activation, y *tval, ok bool) {
	if e.cfg.intermediates || k+1 >= len(e.g.Ops) {
		return pg, 0, nil, false
	}
	op := &e.g.Ops[k+1]
	t := e.g.Ops[k].Outputs[0]
	if op.Code != model.OpMaxPool2D || len(op.Inputs) < 1 || op.Inputs[0] != t || t == e.out || len(op.Outputs) != 1 {
		return pg, 0, nil, false
	}
	for j, o := range e.g.Ops {
		if j == k+1 {
			continue
		}
		for _, i := range o.Inputs {
			if i == t {
				return pg, 0, nil, false
			}
		}
	}
	y = &e.vals[op.Outputs[0]]
	if y.t.Type != model.Float32 || y.konst || checkAct(op.Activation) != nil || len(y.t.Shape) != 4 {
		return pg, 0, nil, false
	}
	pg = kernels.ConvGeom{H: cg.OH, W: cg.OW, C: cg.OC, OC: cg.OC, KH: op.FilterH, KW: op.FilterW, SH: op.StrideH, SW: op.StrideW}
	if pg.KH < 1 || pg.KW < 1 || pg.KH != pg.SH || pg.KW != pg.SW {
		return pg, 0, nil, false
	}
	var err error
	if pg.OH, pg.PadT, err = kernels.OutSize(pg.H, pg.KH, pg.SH, op.Padding); err != nil || pg.PadT != 0 || (pg.OH-1)*pg.SH+pg.KH > pg.H {
		return pg, 0, nil, false
	}
	if pg.OW, pg.PadL, err = kernels.OutSize(pg.W, pg.KW, pg.SW, op.Padding); err != nil || pg.PadL != 0 || (pg.OW-1)*pg.SW+pg.KW > pg.W {
		return pg, 0, nil, false
	}
	if !eqShape(y.t.Shape[1:], []int{pg.OH, pg.OW, pg.C}) {
		return pg, 0, nil, false
	}
	return pg, op.Activation, y, true
}

// padRowsF copies input rows [iy0, iy1) of image n into xp, each row
// widened to wp pixels starting at column −PadL, with zeros for the
// padding (rows or columns outside the image).
func padRowsF(xp, x []float32, g *kernels.ConvGeom, n, iy0, iy1, wp int) {
	c := g.C
	rw := wp * c
	for iy := iy0; iy < iy1; iy++ {
		d := xp[(iy-iy0)*rw : (iy-iy0+1)*rw]
		if iy < 0 || iy >= g.H {
			clear(d)
			continue
		}
		lo := g.PadL * c
		w := min(g.W, wp-g.PadL) * c
		clear(d[:lo])
		copy(d[lo:lo+w], x[(n*g.H+iy)*g.W*c:][:w])
		clear(d[lo+w:])
	}
}

// im2colPaddedF writes the im2col rows of cnt output pixels, starting at
// output column ox0 of the output row whose first input row is padded row
// 0 of xp, and continuing on the following output rows (each row SH
// padded rows further down). Every tap is in xp, so there are no bounds
// tests: each kernel row is one contiguous run of KW·C values.
func im2colPaddedF(dst, xp []float32, g *kernels.ConvGeom, wp, ox0, cnt int) {
	c := g.C
	kw := g.KW * c
	kk := g.KH * kw
	rw := wp * c
	oy, ox := 0, ox0
	for j := 0; j < cnt; j++ {
		row := dst[j*kk : (j+1)*kk]
		base := oy*g.SH*rw + ox*g.SW*c
		for ky := 0; ky < g.KH; ky++ {
			s := xp[base+ky*rw:][:kw]
			d := row[ky*kw : (ky+1)*kw]
			if kw <= 16 {
				for i, v := range s {
					d[i] = v
				}
			} else {
				copy(d, s)
			}
		}
		if ox++; ox == g.OW {
			ox = 0
			oy++
		}
	}
}

// fcF32Fast multiplies by the pre-packed weights. Few rows (batch 1, or
// fewer row chunks than threads) are split over the threads by output
// columns, more rows by row chunks.
func (e *Engine) fcF32Fast(k, rows, in, nout int, x *tval, w, bias []float32, act model.Activation, y *tval) step {
	pb := sgemm.PackB(true, nout, in, w, in)
	var batchN int
	byRows := func(wk, lo, hi int) {
		sg := e.sgemmCtx(wk)
		total := batchN * rows
		for u := lo; u < hi; u++ {
			r0 := u * chunkRowsF
			n := min(chunkRowsF, total-r0)
			out := y.f32[r0*nout : (r0+n)*nout]
			sg.GemmPacked(n, x.f32[r0*in:], in, pb, 0, nout, out, nout)
			biasActRows(out, nout, bias, act)
		}
	}
	panels := (nout + 15) / 16
	byCols := func(wk, lo, hi int) {
		m := batchN * rows
		j0, j1 := lo*16, min(nout, hi*16)
		e.sgemmCtx(wk).GemmPacked(m, x.f32, in, pb, j0, j1, y.f32, nout)
		for r := 0; r < m; r++ {
			var b []float32
			if bias != nil {
				b = bias[j0:j1]
			}
			biasActRows(y.f32[r*nout+j0:r*nout+j1], j1-j0, b, act)
		}
	}
	// Splitting columns pays when the weights dominate (GEMV-like).
	split := e.cfg.threads > 1 && panels > 1 && in*nout >= 1<<15
	return step{op: k, run: func(batch int) {
		batchN = batch
		if split && (batch*rows <= 4 || (batch*rows+chunkRowsF-1)/chunkRowsF < e.cfg.threads) {
			// Few rows (batch 1, or a chunk of a float Run): every thread
			// takes a share of the columns.
			e.pool.run(panels, byCols)
			return
		}
		e.pool.run((batch*rows+chunkRowsF-1)/chunkRowsF, byRows)
	}}
}
