package sgemm

// Direct paths for a one-channel 3×3 convolution (conv1), whose patch
// matrix P has only 9 columns: packing it costs more than the products.
//
// The weight gradient dW = dYᵀ·P fills one 16-wide B panel about half
// and leaves the 6×16 micro-kernel mostly idle on packing. directDW
// computes it instead from the zero-padded input and dY in place: 32
// output channels × 9 taps stay in registers while the positions stream
// by. Each element is the same FMA chain as the GEMM's (from zero over
// each K slice in increasing depth, the slice sums added to C in slice
// order), so the result equals GemmPatchesB's general path bit for bit.
//
// The forward product Y = P·Wᵀ (directFwd) keeps the 9 taps × 32 output
// channels of the weights in registers and reads the windows from the
// zero-padded input: each output is one FMA chain over the 9 taps from
// zero, as in the GEMM (k = 9 is one K slice), so it equals
// GemmPatchesA's general path bit for bit.

// dwTaps and dwCols are the taps (3×3 window) and output channels (A
// rows) of one directDW kernel call.
const (
	dwTaps = 9
	dwCols = 32
)

// directDW reports whether GemmPatchesB(transA, m, …, p) can run the
// direct path: one input channel, a 3×3 window, stride 1, output
// positions inside the padded input, m a multiple of 32, and a kernel
// whose chains match the GEMM's (the AVX-512 one beside the AVX-512 GEMM,
// the Go one beside the Go GEMM).
func (c *Context) directDW(transA bool, m int, p *Patches) bool {
	return transA && m%dwCols == 0 && c.direct3x3(p)
}

// direct3x3 reports whether p is a one-channel 3×3 stride-1 convolution
// whose windows lie inside the padded input, and c's kernels have a
// direct twin (the AVX-512 one beside the AVX-512 GEMM, the Go one beside
// the Go GEMM).
func (c *Context) direct3x3(p *Patches) bool {
	if p.C != 1 || p.Kernel != 3 || p.Stride != 1 {
		return false
	}
	if p.OH+2 > p.H+2*p.Pad || p.OW+2 > p.W+2*p.Pad {
		return false
	}
	return !c.asm || (c.avx512 && hasAVX512 && hasDWAsm)
}

// directFwd reports whether GemmPatchesA(p, transB, n, …, beta, …) can
// run the direct forward path: direct3x3, weights n×9 (transB), n a
// multiple of 32, beta 0.
func (c *Context) directFwd(p *Patches, transB bool, n int, beta float32) bool {
	return transB && n%dwCols == 0 && beta == 0 && c.direct3x3(p)
}

// padImages writes p's images zero-padded into w.xp: window (ky, kx) of
// output (oy, ox) of image b is xp[((b·hp)+oy+ky)·wp + ox+kx].
func (w *workspace) padImages(p *Patches) (hp, wp int) {
	hp, wp = p.H+2*p.Pad, p.W+2*p.Pad
	w.xp = grow(w.xp, p.N*hp*wp)
	clear(w.xp)
	for b := range p.N {
		for y := range p.H {
			src := p.X[(b*p.H+y)*p.W : (b*p.H+y+1)*p.W]
			copy(w.xp[(b*hp+y+p.Pad)*wp+p.Pad:], src)
		}
	}
	return hp, wp
}

// gemmDirectFwd is GemmPatchesA's direct path (see directFwd): C (rows
// p.Rows(), row stride ldc) = P·Bᵀ with B = b (n×9, row stride ldb).
func (c *Context) gemmDirectFwd(p *Patches, n int, b []float32, ldb int, cm []float32, ldc int) {
	w := c.ws[0]
	hp, wp := w.padImages(p)
	useAsm := c.asm
	for j0 := 0; j0 < n; j0 += dwCols {
		wt := &w.acc // the weights, tap-major: wt[t·32+j] = B[j0+j][t]
		for j := range dwCols {
			for t, v := range b[(j0+j)*ldb : (j0+j)*ldb+dwTaps] {
				wt[t*dwCols+j] = v
			}
		}
		for bi := range p.N {
			for oy := range p.OH {
				row := (bi*p.OH + oy) * p.OW
				conv3x3(useAsm, p.OW, w.xp[(bi*hp+oy)*wp:], wp, wt, cm[row*ldc+j0:], ldc)
			}
		}
	}
}

// gemmDirectDW is GemmPatchesB's direct path (see directDW): C (m×9, row
// stride ldc) = dYᵀ·P + beta·C with dY = a (k×m, row stride lda).
func (c *Context) gemmDirectDW(m int, a []float32, lda int, p *Patches, beta float32, cm []float32, ldc int) {
	w := c.ws[0]
	if beta != 0 && beta != 1 {
		scaleC(cm, ldc, 0, m, 0, dwTaps, beta)
	}
	hp, wp := w.padImages(p)
	k := p.Rows()
	kstep := KSlice(k)
	useAsm := c.asm
	for pc := 0; pc < k; pc += kstep {
		kcb := min(kstep, k-pc)
		accumulate := pc > 0 || beta != 0
		for i0 := 0; i0 < m; i0 += dwCols {
			acc := &w.acc
			*acc = [dwTaps * dwCols]float32{}
			var it rowIter
			it.start(p, pc)
			for q := 0; q < kcb; {
				n := min(kcb-q, p.OW-it.ox)
				x := w.xp[(it.b*hp+it.oy)*wp+it.ox:]
				dy := a[(pc+q)*lda+i0:]
				dwConv3x3(useAsm, n, x, wp, dy, lda, acc)
				q += n
				for range n {
					it.next()
				}
			}
			for r := range dwCols {
				row := cm[(i0+r)*ldc : (i0+r)*ldc+dwTaps]
				for t := range row {
					if accumulate {
						row[t] += acc[t*dwCols+r]
					} else {
						row[t] = acc[t*dwCols+r]
					}
				}
			}
		}
	}
}

// dwConv3x3 adds, for q < n, the outer product of the 3×3 window at x+q
// (rows ldx apart) and the 32 values dy[q·lddy : q·lddy+32] into acc
// (tap-major: acc[t·32+j]), with the AVX-512 twin when useAsm.
func dwConv3x3(useAsm bool, n int, x []float32, ldx int, dy []float32, lddy int, acc *[dwTaps * dwCols]float32) {
	_ = x[2*ldx+n+1]
	_ = dy[(n-1)*lddy+dwCols-1]
	if useAsm {
		dwConv3x3Asm(n, &x[0], ldx, &dy[0], lddy, &acc[0])
		return
	}
	dwConv3x3Go(n, x, ldx, dy, lddy, acc)
}

// dwConv3x3Go is the reference for dwConv3x3Asm:
//
//	for q < n, ky < 3, kx < 3, j < 32:
//		acc[(ky·3+kx)·32+j] += x[ky·ldx+q+kx] · dy[q·lddy+j]
//
// in increasing q: every element is one multiply-add chain, as in
// kernel6x16Go (the same expression, so the compiler fuses both or
// neither).
func dwConv3x3Go(n int, x []float32, ldx int, dy []float32, lddy int, acc *[dwTaps * dwCols]float32) {
	for q := range n {
		d := dy[q*lddy : q*lddy+dwCols]
		for ky := range 3 {
			win := x[ky*ldx+q : ky*ldx+q+3]
			for kx, v := range win {
				s := acc[(ky*3+kx)*dwCols : (ky*3+kx+1)*dwCols]
				for j, dv := range d {
					s[j] += v * dv
				}
			}
		}
	}
}

// conv3x3 sets, for q < n, y[q·ldy+j] (j < 32) to the 3×3 window at x+q
// (rows ldx apart) times the tap-major weights w (w[t·32+j]), with the
// AVX-512 twin when useAsm.
func conv3x3(useAsm bool, n int, x []float32, ldx int, w *[dwTaps * dwCols]float32, y []float32, ldy int) {
	_ = x[2*ldx+n+1]
	_ = y[(n-1)*ldy+dwCols-1]
	if useAsm {
		conv3x3Asm(n, &x[0], ldx, &w[0], &y[0], ldy)
		return
	}
	conv3x3Go(n, x, ldx, w, y, ldy)
}

// conv3x3Go is the reference for conv3x3Asm:
//
//	for q < n, j < 32: s := 0; for t < 9 { s += x[(t/3)·ldx+q+t%3] · w[t·32+j] }; y[q·ldy+j] = s
//
// each output one multiply-add chain over the taps from zero, as in
// kernel6x16Go (the same expression, so the compiler fuses both or
// neither).
func conv3x3Go(n int, x []float32, ldx int, w *[dwTaps * dwCols]float32, y []float32, ldy int) {
	for q := range n {
		var s [dwCols]float32
		for t := range dwTaps {
			v := x[(t/3)*ldx+q+t%3]
			wt := w[t*dwCols : (t+1)*dwCols]
			for j, wv := range wt {
				s[j] += v * wv
			}
		}
		copy(y[q*ldy:q*ldy+dwCols], s[:])
	}
}
