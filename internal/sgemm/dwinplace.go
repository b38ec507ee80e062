package sgemm

// GemmPatchesB (a convolution's weight gradient dW = dYᵀ·P) reads both
// operands in place when the input channels are a multiple of 32: row i
// of op(A) at depth d is dY[d·lda + i] (twelve output channels side by
// side, broadcast one by one), and the 32 columns of a column block at
// depth d are 32 consecutive channels of one tap of output d's window in
// the zero-padded input. kernelDW12x32Asm and kernelDW4x32Asm find each
// depth's window through a table of byte offsets built once per K slice,
// so neither the patch matrix nor dYᵀ is packed. The K slices, the FMA
// chains and the order the slices are added to C are those of the packed
// path, so the result is bit-identical.

// dwCols32 is the width of one in-place column block (one tap, 32
// channels).
const dwCols32 = 2 * nr

// dwInPlace reports whether GemmPatchesB(transA, m, …, p, …) can run
// gemmDWInPlace: dY transposed (transA), m a multiple of 4, channels a
// multiple of 32, every window inside the padded input, one thread and
// the AVX-512 kernels.
func (c *Context) dwInPlace(transA bool, m int, p *Patches) bool {
	return c.InPlace() && transA && m%4 == 0 &&
		p.C%dwCols32 == 0 && p.inside()
}

// gemmDWInPlace is GemmPatchesB's in-place path (see dwInPlace): C (m × n,
// row stride ldc) = beta·C + Aᵀ·P with A k×m (row stride lda).
func (c *Context) gemmDWInPlace(m int, a []float32, lda int, p *Patches, beta float32, cm []float32, ldc int) {
	w := c.ws[0]
	k, n := p.Rows(), p.Cols()
	if beta != 0 && beta != 1 {
		scaleC(cm, ldc, 0, m, 0, n, beta)
	}
	c.patch = *p // a copy in the Context: the caller's p does not escape
	defer func() { c.patch = Patches{} }()
	pp := &c.patch
	if p.Pad > 0 {
		c.padded = padCopy(p, c.padded)
		pp.X, pp.H, pp.W, pp.Pad = c.padded, p.H+2*p.Pad, p.W+2*p.Pad, 0
	}
	x, C, K := pp.X, pp.C, pp.Kernel
	kstep := KSlice(k)
	if cap(w.offs) < kstep {
		w.offs = make([]int, kstep)
	}
	offs := w.offs[:kstep]
	var it rowIter
	it.start(pp, 0)
	for pc := 0; pc < k; pc += kstep {
		kcb := min(kstep, k-pc)
		for d := range kcb {
			offs[d] = 4 * ((it.b*pp.H+it.y0)*pp.W + it.x0) * C
			it.next()
		}
		// Windows are inside the padded input: the last tap's 32
		// channels of the slice's last window end inside x.
		_ = x[offs[kcb-1]/4+((K-1)*pp.W+K-1)*C+C-1]
		_ = a[(pc+kcb-1)*lda+m-1]
		accumulate := pc > 0 || beta != 0
		for i := 0; i < m; {
			rows := 2 * mr
			if i+rows > m {
				rows = 4
			}
			for jr := 0; jr < n; jr += dwCols32 {
				t, c0 := jr/C, jr%C
				bp := &x[(t/K*pp.W+t%K)*C+c0]
				_ = cm[(i+rows-1)*ldc+jr+dwCols32-1]
				if rows == 4 {
					kernelDW4x32Asm(kcb, &a[pc*lda+i], lda, bp, &offs[0], &cm[i*ldc+jr], ldc, accumulate)
				} else {
					kernelDW12x32Asm(kcb, &a[pc*lda+i], lda, bp, &offs[0], &cm[i*ldc+jr], ldc, accumulate)
				}
			}
			i += rows
		}
	}
}

// kernelDWGo is the reference loop of kernelDW12x32Asm (rows = 12) and
// kernelDW4x32Asm (rows = 4): for i < rows and j < 32,
//
//	s := float32(0)
//	for d := 0; d < kc; d++ {
//		s += a[d·lda+i] · b[offs[d]/4+j]
//	}
//	c[i·ldc+j] = s (+ c[i·ldc+j] with accumulate)
//
// (fused or not as the compiler does `s += x*y`: equal to the assembly to
// rounding; the assembly is checked bit for bit against kernel12x32Asm).
func kernelDWGo(rows, kc int, a []float32, lda int, b []float32, offs []int, c []float32, ldc int, accumulate bool) {
	for i := range rows {
		var s [dwCols32]float32
		for d := range kc {
			x := a[d*lda+i]
			br := b[offs[d]/4 : offs[d]/4+dwCols32]
			for j, v := range br {
				s[j] += x * v
			}
		}
		storeRow32(c[i*ldc:i*ldc+dwCols32], &s, accumulate)
	}
}

// storeRow32 writes (accumulate: adds) the sums s into row, the end of
// the reference loops kernelDWGo and kernelSBGo.
func storeRow32(row []float32, s *[dwCols32]float32, accumulate bool) {
	for j, v := range s {
		if accumulate {
			row[j] += v
		} else {
			row[j] = v
		}
	}
}

// gemmTAInPlace reports whether Gemm(transA, transB, m, n, k, alpha, …)
// can run gemmTA: op(A) = Aᵀ (A k×m: twelve rows side by side per depth,
// as dY in a dense layer's weight gradient dW = dYᵀ·X), B k×n row-major,
// alpha 1, m a multiple of 4, n of 32, one thread and the AVX-512
// kernels.
func (c *Context) gemmTAInPlace(transA, transB bool, m, n int, alpha float32) bool {
	return c.threads == 1 && c.asm && c.avx512 && hasAVX512 && transA && !transB && alpha == 1 &&
		m%4 == 0 && n%dwCols32 == 0
}

// gemmTA is Gemm's in-place path for gemmTAInPlace: C (m×n, row stride
// ldc) = beta·C + Aᵀ·B with A k×m (row stride lda) and B k×n (row stride
// ldb), both read in place by kernelDW12x32Asm and kernelDW4x32Asm (depth
// d of B at offset d·ldb), with Gemm's K slices: bit-identical to the
// packed path.
func (c *Context) gemmTA(m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	w := c.ws[0]
	if beta != 0 && beta != 1 {
		scaleC(cm, ldc, 0, m, 0, n, beta)
	}
	kstep := KSlice(k)
	if cap(w.offs) < kstep {
		w.offs = make([]int, kstep)
	}
	offs := w.offs[:kstep]
	for d := range offs {
		offs[d] = 4 * d * ldb
	}
	for pc := 0; pc < k; pc += kstep {
		kcb := min(kstep, k-pc)
		_ = a[(pc+kcb-1)*lda+m-1]
		_ = b[(pc+kcb-1)*ldb+n-1]
		accumulate := pc > 0 || beta != 0
		for jr := 0; jr < n; jr += dwCols32 {
			bp := &b[pc*ldb+jr]
			i := 0
			for ; i+2*mr <= m; i += 2 * mr {
				_ = cm[(i+2*mr-1)*ldc+jr+dwCols32-1]
				kernelDW12x32Asm(kcb, &a[pc*lda+i], lda, bp, &offs[0], &cm[i*ldc+jr], ldc, accumulate)
			}
			for ; i < m; i += 4 {
				_ = cm[(i+3)*ldc+jr+dwCols32-1]
				kernelDW4x32Asm(kcb, &a[pc*lda+i], lda, bp, &offs[0], &cm[i*ldc+jr], ldc, accumulate)
			}
		}
	}
}
