package native

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/edgecnn/edgecnn/runtime/kernels"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm"
)

// Fast int8 paths: im2col + qgemm (exact int32 accumulation) + requantization
// with runtime/qmath. They compute exactly what kernels.ConvInt8Ref and
// kernels.FullyConnectedInt8Ref compute: the accumulator is the same int32
// value (zp_in·Σw and the flip correction are folded into the bias; int32
// arithmetic wraps identically) and the requantization is the same function.

const chunkRows = 64 // GEMM rows per work unit of an unfused step

// qconv is a compiled int8 convolution.
type qconv struct {
	g      kernels.ConvGeom
	p      *qgemm.Weights
	out    *qgemm.OutputStage // bias + p.Offset(zpIn), requantization
	rq     *kernels.Requant
	lda    int
	ldc    int
	padB   byte // im2col value of a padding position: zpIn XOR flip
	hp, wp int  // padded input height and width (im2col source)
	flip   byte
	x, y   *tval
	pool   kernels.ConvGeom // fused max pooling (pool.KH > 0)
	plo    int32
	phi    int32
	batch  int
	unitFn func(w, lo, hi int)
	srcB   []byte // the (flipped) input bytes of this Run
	padBuf []byte // the padded input of this Run (padded)
	padFn  func(w, lo, hi int)
	seg    bool   // convPoolUnits runs qgemm.GemmSeg on the padded input (no im2col)
	w      []int8 // the weights [OC][KH][KW][C] (for kernels that pack them otherwise)
}

func newQconv(e *Engine, g kernels.ConvGeom, x *tval, w []int8, bias []int32, rq *kernels.Requant, y *tval) (*qconv, error) {
	k := g.KH * g.KW * g.C
	p, err := qgemm.Pack(w, g.OC, k)
	if err != nil {
		return nil, err
	}
	q := &qconv{g: g, p: p, rq: rq, x: x, y: y, flip: p.Flip(), w: w}
	q.padFn = func(_, lo, hi int) { q.padImages(lo, hi) }
	zpIn := zp(x.t)
	be := make([]int32, g.OC)
	for c := range be {
		if bias != nil {
			be[c] = bias[c]
		}
		be[c] += p.Offset(c, zpIn)
	}
	if q.out, err = qgemm.NewOutputStage(g.OC, be, rq.Mult, rq.Shift, rq.Scale, rq.ZpOut, rq.Lo, rq.Hi, rq.Rounding); err != nil {
		return nil, err
	}
	q.lda = 4 * p.KSteps
	q.ldc = 16 * p.NBlk
	q.padB = byte(int8(zpIn)) ^ q.flip
	q.hp = max((g.OH-1)*g.SH+g.KH, g.PadT+g.H)
	q.wp = max((g.OW-1)*g.SW+g.KW, g.PadL+g.W)
	return q, nil
}

// src returns the input as bytes, XORed with the kernel's flip byte.
func (q *qconv) src(e *Engine, n int) []byte {
	x := q.x.i8[:n]
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), n)
	if q.flip == 0 {
		return b
	}
	f := e.scr.flip[:n]
	const m = 0x8080808080808080
	i := 0
	if n >= 8 {
		d, s := unsafe.Pointer(&f[0]), unsafe.Pointer(&b[0])
		for ; i+8 <= n; i += 8 {
			st64(d, i, ld64(s, i)^m)
		}
	}
	for ; i < n; i++ {
		f[i] = b[i] ^ 0x80
	}
	return f
}

// padded writes the batch's input, XORed with the flip byte, into a
// zero-point-padded buffer of q.hp×q.wp pixels per image (the padding of
// every window, plus 8 bytes of slack), so that im2col needs no bounds
// checks. The images are shared by the workers.
func (q *qconv) padded(e *Engine, batch int) []byte {
	g := &q.g
	q.padBuf = e.scr.flip[:batch*q.hp*q.wp*g.C+8]
	e.pool.run(batch, q.padFn)
	return q.padBuf
}

// padImages fills images [n0, n1) of q.padBuf (see padded).
func (q *qconv) padImages(n0, n1 int) {
	g := &q.g
	c := g.C
	x := q.x.i8[:n1*g.H*g.W*c]
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
	rowP := q.wp * c
	p := q.padBuf
	pat := uint64(q.padB) * 0x0101010101010101
	fill := func(d []byte) {
		for len(d) >= 8 {
			binary.LittleEndian.PutUint64(d, pat)
			d = d[8:]
		}
		for i := range d {
			d[i] = q.padB
		}
	}
	f := uint64(q.flip) * 0x0101010101010101
	for n := n0; n < n1; n++ {
		img := p[n*q.hp*rowP : (n+1)*q.hp*rowP]
		fill(img[:g.PadT*rowP])
		fill(img[(g.PadT+g.H)*rowP:])
		for y := 0; y < g.H; y++ {
			row := img[(y+g.PadT)*rowP : (y+g.PadT+1)*rowP]
			fill(row[:g.PadL*c])
			fill(row[(g.PadL+g.W)*c:])
			src := b[((n*g.H+y)*g.W)*c : ((n*g.H+y)*g.W+g.W)*c]
			dst := row[g.PadL*c:][:len(src)]
			i := 0
			if len(src) >= 8 {
				d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
				for ; i+8 <= len(src); i += 8 {
					st64(d, i, ld64(s, i)^f)
				}
			}
			for ; i < len(src); i++ {
				dst[i] = src[i] ^ q.flip
			}
		}
	}
}

// im2col writes the receptive fields of count output pixels (n, oy, ox0…)
// from the padded input to consecutive rows of dst (stride lda, K bytes
// each; the row's padding bytes after K may be overwritten: they meet zero
// weights).
//
// The word-copy paths (short segments) copy each of the KH segments of
// KW·C bytes of a row as a 4- or 8-byte word: a wide store may spill into the next
// segment of the row (written afterwards) or the row's padding, never into
// the next row. Reads may run up to 7 bytes past a window: the padded
// buffer has 8 bytes of slack. Bounds are checked once per call.
func (q *qconv) im2col(dst []byte, lda int, src []byte, n, oy, ox0, count int) {
	if count <= 0 {
		return
	}
	g := &q.g
	kwc := g.KW * g.C
	rowP := q.wp * g.C
	step := g.SW * g.C
	base := ((n*q.hp+oy*g.SH)*q.wp + ox0*g.SW) * g.C
	last := (g.KH - 1) * kwc // offset of the last segment in a row
	w8 := (kwc + 7) &^ 7
	srcEnd := base + (g.KH-1)*rowP + (count-1)*step // start of the last segment read
	if base < 0 || (count-1)*lda+lda > len(dst) || srcEnd+w8 > len(src) {
		panic(fmt.Sprintf("native: im2col out of bounds: %d rows of %d in %d bytes, source %d+%d of %d", count, lda, len(dst), srcEnd, w8, len(src)))
	}
	switch {
	case g.KH == 3 && kwc == 3 && lda >= 12:
		// 3×3 kernel over one channel: each row is 9 bytes from three
		// input rows, written as one 8-byte and one 4-byte store.
		d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[base])
		for j := 0; j < count; j++ {
			dj, sj := j*lda, j*step
			v0 := uint64(ld32(s, sj) & 0xffffff)
			v1 := uint64(ld32(s, sj+rowP) & 0xffffff)
			v2 := ld32(s, sj+2*rowP)
			st64(d, dj, v0|v1<<24|uint64(v2)<<48)
			st32(d, dj+8, v2>>16)
		}
	case kwc <= 4 && last+4 <= lda:
		d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[base])
		for j := 0; j < count; j++ {
			dj, sj := j*lda, j*step
			for ky := 0; ky < g.KH; ky++ {
				st32(d, dj+ky*kwc, ld32(s, sj+ky*rowP))
			}
		}
	case kwc <= 8 && last+8 <= lda:
		d, s := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[base])
		for j := 0; j < count; j++ {
			dj, sj := j*lda, j*step
			for ky := 0; ky < g.KH; ky++ {
				st64(d, dj+ky*kwc, ld64(s, sj+ky*rowP))
			}
		}
	default:
		for ky := 0; ky < g.KH; ky++ {
			s := src[base+ky*rowP:]
			o := ky * kwc
			for j := 0; j < count; j++ {
				copy(dst[j*lda+o:j*lda+o+kwc], s[j*step:j*step+kwc])
			}
		}
	}
}

// requantRow converts one GEMM row (+bias) to int8 outputs.
func (q *qconv) requantRow(c []int32, out []int8) { q.out.Row(c, out) }

// units of an unfused conv: chunks of chunkRows output pixels.
func (q *qconv) convUnits(e *Engine) func(w, lo, hi int) {
	return func(w, lo, hi int) {
		g := &q.g
		a, c := e.scr.a[w], e.scr.c[w]
		pix := g.OH * g.OW
		total := q.batch * pix
		for u := lo; u < hi; u++ {
			r0 := u * chunkRows
			rows := min(chunkRows, total-r0)
			for j := 0; j < rows; {
				r := r0 + j
				n, rem := r/pix, r%pix
				oy, ox := rem/g.OW, rem%g.OW
				cnt := min(g.OW-ox, rows-j) // the rest of this output row
				q.im2col(a[j*q.lda:], q.lda, q.srcB, n, oy, ox, cnt)
				j += cnt
			}
			rows4 := (rows + 3) &^ 3
			q.p.Gemm(a, q.lda, rows4, c, q.ldc)
			for j := 0; j < rows; j++ {
				o := (r0 + j) * g.OC
				q.requantRow(c[j*q.ldc:], q.y.i8[o:o+g.OC])
			}
		}
	}
}

// units of a conv fused with the following max pooling (window = stride,
// no padding): one unit is one pooled output row of one image. Max pooling
// commutes with the requantization, which is monotonic non-decreasing in
// the accumulator for a multiplier < 1 (shift ≤ 0), so the maximum is taken
// over the int32 accumulators and only pooled values are requantized.
func (q *qconv) convPoolUnits(e *Engine) func(w, lo, hi int) {
	return func(w, lo, hi int) {
		g, pg := &q.g, &q.pool
		a, c := e.scr.a[w], e.scr.c[w]
		kh, kw := pg.KH, pg.KW
		r := q.rq
		for u := lo; u < hi; u++ {
			n, py := u/pg.OH, u%pg.OH
			rows := 0
			for dy := 0; dy < kh; dy++ {
				if q.seg {
					// the windows read in place: KH segments of KW·C bytes
					oy := py*kh + dy
					q.p.GemmSeg(q.srcB[(n*q.hp+oy*g.SH)*q.wp*g.C:], g.SW*g.C, pg.OW*kw, g.KH, q.wp*g.C, c[rows*q.ldc:], q.ldc)
				} else {
					q.im2col(a[rows*q.lda:], q.lda, q.srcB, n, py*kh+dy, 0, pg.OW*kw)
				}
				rows += pg.OW * kw
			}
			if !q.seg {
				q.p.Gemm(a, q.lda, (rows+3)&^3, c, q.ldc)
			}
			rowW := pg.OW * kw // conv pixels per conv row in this unit
			oc := g.OC
			out := q.y.i8[((n*pg.OH+py)*pg.OW)*oc:]
			m := e.scr.m[w][:q.ldc]
			if kh == 2 && kw == 2 {
				// the maximum over each window of the raw accumulators,
				// requantized once, for the whole pooled row.
				q.out.Pool2x2(c, q.ldc, rowW, pg.OW, out, oc)
				if q.plo > r.Lo || q.phi < r.Hi {
					o := out[:pg.OW*oc]
					for i, v := range o {
						o[i] = int8(min(max(int32(v), q.plo), q.phi))
					}
				}
				continue
			}
			for px := 0; px < pg.OW; px++ {
				o := out[px*oc : (px+1)*oc]
				// the maximum over the window of the raw accumulators,
				// requantized once.
				copy(m, c[(px*kw)*q.ldc:][:q.ldc])
				for dy := 0; dy < kh; dy++ {
					for dx := 0; dx < kw; dx++ {
						rr := c[(dy*rowW+px*kw+dx)*q.ldc:][:len(m)]
						for i := range m {
							m[i] = max(m[i], rr[i])
						}
					}
				}
				q.out.Row(m, o)
				if q.plo > r.Lo || q.phi < r.Hi {
					for i, v := range o {
						o[i] = int8(min(max(int32(v), q.plo), q.phi))
					}
				}
			}
		}
	}
}

// fusable reports whether the requantization is monotonic (all shifts ≤ 0,
// so no wrapping left shift).
func (q *qconv) monotonic() bool {
	for _, s := range q.out.Shift {
		if s > 0 {
			return false
		}
	}
	return true
}

func (e *Engine) convI8Fast(k int, q *qconv) step {
	g := &q.g
	pix := g.OH * g.OW
	if st, ok := e.conv3I8(k, q); ok {
		return st
	}
	if q.pool.KH > 0 {
		rows := q.pool.KH * q.pool.OW * q.pool.KW
		// no im2col where the kernel rows are whole k steps
		q.seg = (g.KW*g.C)%4 == 0 && q.p.HasGemmSeg(g.KH)
		if q.seg {
			e.segSteps++
		}
		e.scr.want(((rows+3)&^3)*q.lda+8, ((rows+3)&^3)*q.ldc, q.hp*q.wp*g.C)
		e.scr.wantM(q.ldc)
		fn := q.convPoolUnits(e)
		return step{op: k, run: func(batch int) {
			q.batch = batch
			q.srcB = q.padded(e, batch)
			e.pool.run(batch*q.pool.OH, fn)
		}}
	}
	e.scr.want(chunkRows*q.lda+8, chunkRows*q.ldc, q.hp*q.wp*g.C)
	fn := q.convUnits(e)
	return step{op: k, run: func(batch int) {
		q.batch = batch
		q.srcB = q.padded(e, batch)
		e.pool.run((batch*pix+chunkRows-1)/chunkRows, fn)
	}}
}

// fcI8Fast: a fully connected layer is a 1×1 convolution over rows of in
// values.
func (e *Engine) fcI8Fast(k, rows, in, nout int, x *tval, w []int8, bias []int32, rq *kernels.Requant, y *tval) (step, error) {
	g := kernels.ConvGeom{H: 1, W: rows, C: in, OH: 1, OW: rows, OC: nout, KH: 1, KW: 1, SH: 1, SW: 1}
	q, err := newQconv(e, g, x, w, bias, rq, y)
	if err != nil {
		return step{}, err
	}
	e.scr.want(chunkRows*q.lda, chunkRows*q.ldc, rows*in)
	inPlace := in%4 == 0 && q.p.HasGemmSeg(1)
	fn := func(wk, lo, hi int) {
		a, c := e.scr.a[wk], e.scr.c[wk]
		total := q.batch * rows
		for u := lo; u < hi; u++ {
			r0 := u * chunkRows
			n := min(chunkRows, total-r0)
			if row := q.srcB[r0*in:]; n == 1 && q.p.HasGemv() && len(row) >= q.lda {
				// one row, read in place (bytes past in meet zero weights)
				q.p.Gemv(row, c)
				q.requantRow(c, y.i8[r0*nout:r0*nout+nout])
				continue
			}
			if inPlace {
				// the rows read where they are (stride in): no copy
				q.p.GemmSeg(q.srcB[r0*in:], in, n, 1, 4*q.p.KSteps, c, q.ldc)
				for j := 0; j < n; j++ {
					o := (r0 + j) * nout
					q.requantRow(c[j*q.ldc:], y.i8[o:o+nout])
				}
				continue
			}
			for j := 0; j < n; j++ {
				copy(a[j*q.lda:j*q.lda+in], q.srcB[(r0+j)*in:])
			}
			if n == 1 {
				q.p.Gemv(a, c) // lda = 4·KSteps here
			} else {
				q.p.Gemm(a, q.lda, (n+3)&^3, c, q.ldc)
			}
			for j := 0; j < n; j++ {
				o := (r0 + j) * nout
				q.requantRow(c[j*q.ldc:], y.i8[o:o+nout])
			}
		}
	}
	return step{op: k, run: func(batch int) {
		q.batch = batch
		q.srcB = q.src(e, batch*rows*in)
		e.pool.run((batch*rows+chunkRows-1)/chunkRows, fn)
	}}, nil
}
