package sgemm

import "fmt"

// Patches is the im2col matrix of a convolution, read while packing and
// never stored: N images of H×W×C floats in X (NHWC), a Kernel×Kernel
// window moved by Stride over the zero-padded (Pad) input to OH×OW output
// positions. Row i = (b·OH + oy)·OW + ox is the window of output (b, oy,
// ox); column (ky·Kernel + kx)·C + c is X[b][oy·Stride−Pad+ky][ox·Stride−
// Pad+kx][c], zero outside the image (the OHWI weight order). It has
// Rows() = N·OH·OW rows and Cols() = Kernel²·C columns.
type Patches struct {
	X                   []float32
	N, H, W, C          int
	Kernel, Stride, Pad int
	OH, OW              int
}

// Rows is the number of output positions.
func (p *Patches) Rows() int { return p.N * p.OH * p.OW }

// Cols is the depth of one window.
func (p *Patches) Cols() int { return p.Kernel * p.Kernel * p.C }

func (p *Patches) check() {
	if p.N < 0 || p.H < 1 || p.W < 1 || p.C < 1 || p.Kernel < 1 || p.Stride < 1 || p.Pad < 0 || p.OH < 0 || p.OW < 0 {
		panic(fmt.Sprintf("sgemm: bad patches geometry %+v", *p))
	}
	if need := p.N * p.H * p.W * p.C; len(p.X) < need {
		panic(fmt.Sprintf("sgemm: patches input has %d elements, %d images of %dx%dx%d need %d", len(p.X), p.N, p.H, p.W, p.C, need))
	}
}

// at returns the image and window origin of row i.
func (p *Patches) at(i int) (b, y0, x0 int) {
	ow := i % p.OW
	oh := (i / p.OW) % p.OH
	return i / (p.OW * p.OH), oh*p.Stride - p.Pad, ow*p.Stride - p.Pad
}

// zeros is the source of padding values while packing.
var zeros [256]float32

// packA packs rows [ic, ic+mcb) and depths [pc, pc+kcb) of the patch
// matrix like packA packs a row-major A: element (ic+ir+r, pc+q) goes to
// pa[ir·kcb + q·mr + r]; rows past mcb are zero.
func (p *Patches) packA(useAsm bool, pa []float32, ic, mcb, pc, kcb int) {
	C, K := p.C, p.Kernel
	if C < 4 {
		p.packARows(pa, ic, mcb, pc, kcb)
		return
	}
	var src [mr][]float32
	var b, y0, x0 [mr]int
	var it rowIter
	it.start(p, ic)
	t0, cs := pc/C, pc%C // first depth's window position and channel
	for ir := 0; ir < mcb; ir += mr {
		dst := pa[ir*kcb : (ir+mr)*kcb]
		rows := min(mr, mcb-ir)
		for r := range rows {
			b[r], y0[r], x0[r] = it.b, it.y0, it.x0
			it.next()
		}
		ky, kx, c := t0/K, t0%K, cs
		for d := 0; d < kcb; {
			// A window row is contiguous across kx: when every row's
			// is inside the image (or all rows are padding), copy the
			// rest of it in one run.
			n := min(p.rowRun(&y0, &x0, rows, ky, kx, c), kcb-d, len(zeros))
			for r := range mr {
				iy, ix := y0[r]+ky, x0[r]+kx
				if r >= rows || iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
					src[r] = zeros[:n]
					continue
				}
				off := ((b[r]*p.H+iy)*p.W+ix)*C + c
				src[r] = p.X[off : off+n]
			}
			packPtrs6(useAsm, n, &src, dst[d*mr:(d+n)*mr])
			d += n
			c += n
			for c >= C {
				c -= C
				if kx++; kx == K {
					kx = 0
					ky++
				}
			}
		}
	}
}

// rowRun is the number of depths from window position (ky, kx), channel
// c, that Patches.packA can copy in one run for the micro-panel rows
// (origins y0, x0; rows valid ones): the rest of the window row when
// every valid row has it inside the image, else the rest of the channel
// run (C−c).
func (p *Patches) rowRun(y0, x0 *[mr]int, rows, ky, kx, c int) int {
	K := p.Kernel
	for r := range rows {
		iy, ix := y0[r]+ky, x0[r]+kx
		if iy < 0 || iy >= p.H || ix < 0 || x0[r]+K > p.W {
			return p.C - c
		}
	}
	return (K-kx)*p.C - c
}

// packARows is packA for few channels (conv1): one row at a time.
func (p *Patches) packARows(pa []float32, ic, mcb, pc, kcb int) {
	C, K := p.C, p.Kernel
	var it rowIter
	it.start(p, ic)
	whole := C == 1 && pc == 0 && kcb == K*K && p.Stride == 1
	for ir := 0; ir < mcb; ir += mr {
		dst := pa[ir*kcb : (ir+mr)*kcb]
		if whole && mcb-ir >= mr && it.ox+mr <= p.OW {
			// Six windows side by side in one output row: each depth
			// is six consecutive pixels of one input row.
			p.panel1(it.b, it.y0, it.x0, dst)
			for range mr {
				it.next()
			}
			continue
		}
		for r := range mr {
			if r >= mcb-ir {
				for q := range kcb {
					dst[q*mr+r] = 0
				}
				continue
			}
			b, y0, x0 := it.b, it.y0, it.x0
			it.next()
			if C == 1 && pc == 0 && kcb == K*K {
				p.window1(b, y0, x0, dst[r:])
				continue
			}
			d := 0
			for ky := range K {
				iy := y0 + ky
				for kx := range K {
					ix := x0 + kx
					inside := iy >= 0 && iy < p.H && ix >= 0 && ix < p.W
					base := ((b*p.H+iy)*p.W + ix) * C
					for c := range C {
						if q := d - pc; q >= 0 && q < kcb {
							v := float32(0)
							if inside {
								v = p.X[base+c]
							}
							dst[q*mr+r] = v
						}
						d++
					}
				}
			}
		}
	}
}

// panel1 writes the one-channel, stride-1 windows at (b, y0, x0+r), r <
// 6, as one A micro-panel: dst[q·6+r] = window value q of window r
// (the six rows packARows would write one by one with window1).
func (p *Patches) panel1(b, y0, x0 int, dst []float32) {
	K := p.Kernel
	img := p.X[b*p.H*p.W : (b+1)*p.H*p.W]
	dst = dst[:K*K*mr]
	for ky := range K {
		iy := y0 + ky
		for kx := range K {
			d := (*[mr]float32)(dst[(ky*K+kx)*mr:])
			if iy < 0 || iy >= p.H {
				*d = [mr]float32{}
				continue
			}
			row := img[iy*p.W : (iy+1)*p.W]
			x := x0 + kx
			if x >= 0 && x+mr <= p.W {
				*d = *(*[mr]float32)(row[x:])
				continue
			}
			for r := range mr {
				v := float32(0)
				if ix := x + r; ix >= 0 && ix < p.W {
					v = row[ix]
				}
				d[r] = v
			}
		}
	}
}

// window1 writes the one-channel window at (b, y0, x0) to dst[0],
// dst[mr], dst[2·mr], … (one row of an A micro-panel).
func (p *Patches) window1(b, y0, x0 int, dst []float32) {
	K := p.Kernel
	img := p.X[b*p.H*p.W : (b+1)*p.H*p.W]
	q := 0
	for ky := range K {
		iy := y0 + ky
		if iy < 0 || iy >= p.H {
			for range K {
				dst[q*mr] = 0
				q++
			}
			continue
		}
		row := img[iy*p.W : (iy+1)*p.W]
		for kx := range K {
			v := float32(0)
			if ix := x0 + kx; ix >= 0 && ix < p.W {
				v = row[ix]
			}
			dst[q*mr] = v
			q++
		}
	}
}

// packPtrs6 sets dst[q·6+r] = src[r][q] for q < n, r < 6, with the
// assembly twin when useAsm and the CPU has it.
func packPtrs6(useAsm bool, n int, src *[mr][]float32, dst []float32) {
	if useAsm && hasAsm && n > 0 {
		s0, s1, s2 := src[0][:n], src[1][:n], src[2][:n]
		s3, s4, s5 := src[3][:n], src[4][:n], src[5][:n]
		_ = dst[n*mr-1]
		packPtrs6Asm(n, &s0[0], &s1[0], &s2[0], &s3[0], &s4[0], &s5[0], &dst[0])
		return
	}
	interleave6(n, src, dst)
}

// interleave6 sets dst[q·6+r] = src[r][q] for q < n, r < 6 (the reference
// for packPtrs6Asm).
func interleave6(n int, src *[mr][]float32, dst []float32) {
	r0, r1, r2 := src[0][:n], src[1][:n], src[2][:n]
	r3, r4, r5 := src[3][:n], src[4][:n], src[5][:n]
	dst = dst[:n*mr]
	for q := range n {
		d := dst[q*mr : q*mr+mr : q*mr+mr]
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[q], r1[q], r2[q], r3[q], r4[q], r5[q]
	}
}

// packB packs depths [pc, pc+kcb) (patch rows) and columns [jc, jc+ncb)
// of the patch matrix like packB packs a row-major B: element (pc+q,
// jc+jr+j) goes to pb[jr·kcb + q·nr + j]; columns past ncb are zero.
func (p *Patches) packB(useAsm bool, pb []float32, pc, kcb, jc, ncb int) {
	C, K := p.C, p.Kernel
	if C%nr == 0 {
		p.packB16(useAsm, pb, pc, kcb, jc, ncb)
		return
	}
	panels := (ncb + nr - 1) / nr
	if ncb%nr != 0 {
		clear(pb[(panels-1)*nr*kcb : panels*nr*kcb])
	}
	var it rowIter
	it.start(p, pc)
	if C == 1 && jc == 0 && ncb == K*K && ncb <= nr {
		p.packB1(pb, &it, kcb)
		return
	}
	t0, cs := jc/C, jc%C // first column's window position and channel
	ky0, kx0 := t0/K, t0%K
	for q := range kcb {
		b, y0, x0 := it.b, it.y0, it.x0
		it.next()
		ky, kx, c := ky0, kx0, cs
		for j := 0; j < ncb; {
			n := min(C-c, nr-j%nr, ncb-j)
			d := pb[(j/nr)*nr*kcb+q*nr+j%nr:][:n]
			iy, ix := y0+ky, x0+kx
			switch {
			case iy < 0 || iy >= p.H || ix < 0 || ix >= p.W:
				clear(d)
			case n == nr: // a whole panel row: inline moves, no call
				off := ((b*p.H+iy)*p.W+ix)*C + c
				*(*[nr]float32)(d) = *(*[nr]float32)(p.X[off : off+nr])
			case n == 1: // one channel (conv1)
				d[0] = p.X[((b*p.H+iy)*p.W+ix)*C+c]
			default:
				off := ((b*p.H+iy)*p.W+ix)*C + c
				copy(d, p.X[off:off+n])
			}
			j += n
			if c += n; c == C {
				c = 0
				if kx++; kx == K {
					kx = 0
					ky++
				}
			}
		}
	}
}

// packB1 is packB for one input channel whose K² columns fit one panel
// (conv1's weight gradient): row q of the panel is the window of patch
// row q.
func (p *Patches) packB1(pb []float32, it *rowIter, kcb int) {
	K := p.Kernel
	for q := range kcb {
		b, y0, x0 := it.b, it.y0, it.x0
		it.next()
		d := pb[q*nr : q*nr+nr]
		img := p.X[b*p.H*p.W : (b+1)*p.H*p.W]
		j := 0
		for ky := range K {
			iy := y0 + ky
			if iy < 0 || iy >= p.H {
				for range K {
					d[j] = 0
					j++
				}
				continue
			}
			row := img[iy*p.W : (iy+1)*p.W]
			for kx := range K {
				v := float32(0)
				if ix := x0 + kx; ix >= 0 && ix < p.W {
					v = row[ix]
				}
				d[j] = v
				j++
			}
		}
	}
}

// rowIter walks the rows of a patch matrix in order: image b and window
// origin (y0, x0) of the current row, without divisions.
type rowIter struct {
	p         *Patches
	b, oy, ox int
	y0, x0    int
}

func (it *rowIter) start(p *Patches, i int) {
	it.p = p
	it.b, it.y0, it.x0 = p.at(i)
	it.ox = i % p.OW
	it.oy = (i / p.OW) % p.OH
}

func (it *rowIter) next() {
	p := it.p
	it.ox++
	it.x0 += p.Stride
	if it.ox < p.OW {
		return
	}
	it.ox, it.x0 = 0, -p.Pad
	it.oy++
	it.y0 += p.Stride
	if it.oy < p.OH {
		return
	}
	it.oy, it.y0 = 0, -p.Pad
	it.b++
}

// GemmPatchesA computes C = P·op(B) + beta·C for the patch matrix P
// (m = P.Rows(), k = P.Cols()): a convolution's forward product
// (output = patches · weightsᵀ with transB and OHWI weights) without an
// im2col buffer. op(B) is k×n (B is n×k when transB); C is m×n with row
// stride ldc. The result is bit-identical to Gemm on the stored im2col
// matrix.
func (c *Context) GemmPatchesA(p *Patches, transB bool, n int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	p.check()
	m, k := p.Rows(), p.Cols()
	checkPatchArgs(m, n, k, transB, "B", b, ldb, cm, ldc)
	if m == 0 || n == 0 {
		return
	}
	if c.directFwd(p, transB, n, beta) {
		c.patch = *p // a copy: the caller's p does not escape
		c.gemmDirectFwd(&c.patch, n, b, ldb, cm, ldc)
		c.patch = Patches{}
		return
	}
	c.g = args{transB: transB, m: m, n: n, k: k, alpha: 1, lda: k, b: b, ldb: ldb, beta: beta, c: cm, ldc: ldc, asm: c.asm, patchA: &c.patch}
	c.patch = *p // a copy: the caller's p does not escape
	defer func() { c.g, c.patch = args{}, Patches{} }()
	if p.Pad > 0 && p.C >= 4 && p.inside() {
		// Pack from a zero-padded copy: every window row is then one
		// run of Kernel·C values for all six rows of a micro-panel
		// (no border breaks it into single taps); the values packed,
		// and so the result, are the same.
		c.padded = padCopy(p, c.padded)
		c.patch.X, c.patch.H, c.patch.W, c.patch.Pad = c.padded, p.H+2*p.Pad, p.W+2*p.Pad, 0
	}
	if c.rowsInPlace(&c.patch, transB, n, beta) {
		c.gemmRowsInPlace(&c.patch, n, b, ldb, cm, ldc)
		return
	}
	c.dispatch(m, n, k)
}

// inside reports whether every window lies inside the padded input.
func (p *Patches) inside() bool {
	return (p.OH-1)*p.Stride+p.Kernel <= p.H+2*p.Pad && (p.OW-1)*p.Stride+p.Kernel <= p.W+2*p.Pad
}

// padCopy writes p's images with p.Pad zeros around them into buf (grown
// as needed) and returns it.
func padCopy(p *Patches, buf []float32) []float32 {
	hp, wp, C := p.H+2*p.Pad, p.W+2*p.Pad, p.C
	buf = grow(buf, p.N*hp*wp*C)
	row := p.W * C
	for b := range p.N {
		img := buf[b*hp*wp*C : (b+1)*hp*wp*C]
		clear(img[:p.Pad*wp*C])
		clear(img[(p.Pad+p.H)*wp*C:])
		for y := range p.H {
			d := img[(p.Pad+y)*wp*C : (p.Pad+y+1)*wp*C]
			clear(d[:p.Pad*C])
			copy(d[p.Pad*C:], p.X[(b*p.H+y)*row:(b*p.H+y+1)*row])
			clear(d[p.Pad*C+row:])
		}
	}
	return buf
}

// GemmPatchesB computes C = op(A)·P + beta·C for the patch matrix P
// (k = P.Rows(), n = P.Cols()): a convolution's weight gradient (dW =
// dYᵀ·patches with transA) without an im2col buffer. op(A) is m×k (A is
// k×m when transA); C is m×n with row stride ldc. The result is
// bit-identical to Gemm on the stored im2col matrix.
func (c *Context) GemmPatchesB(transA bool, m int, a []float32, lda int, p *Patches, beta float32, cm []float32, ldc int) {
	p.check()
	k, n := p.Rows(), p.Cols()
	checkPatchArgs(m, n, k, transA, "A", a, lda, cm, ldc)
	if m == 0 || n == 0 {
		return
	}
	if c.directDW(transA, m, p) {
		c.patch = *p // a copy: the caller's p does not escape
		c.gemmDirectDW(m, a, lda, &c.patch, beta, cm, ldc)
		c.patch = Patches{}
		return
	}
	if c.dwInPlace(transA, m, p) {
		c.gemmDWInPlace(m, a, lda, p, beta, cm, ldc)
		return
	}
	c.g = args{transA: transA, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, ldb: n, beta: beta, c: cm, ldc: ldc, asm: c.asm, patchB: &c.patch}
	c.patch = *p
	defer func() { c.g, c.patch = args{}, Patches{} }()
	c.dispatch(m, n, k)
}

// checkPatchArgs checks the stored operand (name "A": m×k, k×m when
// trans; "B": k×n, n×k when trans) and C.
func checkPatchArgs(m, n, k int, trans bool, name string, s []float32, ld int, cm []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	rows, cols := m, k
	if name == "B" {
		rows, cols = k, n
	}
	if trans {
		rows, cols = cols, rows
	}
	checkMat(name, s, rows, cols, ld)
	checkMat("C", cm, m, n, ldc)
}
