package sgemm

// Dense layers in training read their weights in place instead of
// packing them every step: the forward product Y = X·Wᵀ runs as Yᵀ =
// W·Xᵀ (GemmABt: W's rows read in place by kernel12x32StridedAsm, only
// the few rows of X packed), and the input gradient dX = dY·W reads dY
// and W in place (kernelSB12x32Asm, kernelSB4x32Asm). Every element keeps
// its FMA chain (x·w and w·x are the same product) and Gemm's K slices,
// so both equal Gemm (and GemmPacked) bit for bit.

// InPlace reports whether the in-place paths (GemmABt, GemmPatchesB's
// weight gradient (dwInPlace), and Gemm's for
// op(A) = A, op(B) = B with m a multiple of 4 and n of 32) run on this
// Context: one thread and the AVX-512 kernels.
func (c *Context) InPlace() bool {
	return c.threads == 1 && c.asm && c.avx512 && hasAVX512
}

// gemmNNInPlace reports whether Gemm(transA, transB, m, n, k, alpha, …)
// can run gemmNN (see InPlace).
func (c *Context) gemmNNInPlace(transA, transB bool, m, n int, alpha float32) bool {
	return c.InPlace() && !transA && !transB && alpha == 1 && m%4 == 0 && n%dwCols32 == 0
}

// gemmNN is Gemm's in-place path for gemmNNInPlace: C (m×n, row stride
// ldc) = beta·C + A·B with A m×k and B k×n row-major, Gemm's K slices.
func (c *Context) gemmNN(m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	if beta != 0 && beta != 1 {
		scaleC(cm, ldc, 0, m, 0, n, beta)
	}
	kstep := KSlice(k)
	for pc := 0; pc < k; pc += kstep {
		kcb := min(kstep, k-pc)
		_ = a[(m-1)*lda+pc+kcb-1]
		_ = b[(pc+kcb-1)*ldb+n-1]
		accumulate := pc > 0 || beta != 0
		for jr := 0; jr < n; jr += dwCols32 {
			bp := &b[pc*ldb+jr]
			i := 0
			for ; i+2*mr <= m; i += 2 * mr {
				_ = cm[(i+2*mr-1)*ldc+jr+dwCols32-1]
				kernelSB12x32Asm(kcb, &a[i*lda+pc], lda, bp, ldb, &cm[i*ldc+jr], ldc, accumulate)
			}
			for ; i < m; i += 4 {
				_ = cm[(i+3)*ldc+jr+dwCols32-1]
				kernelSB4x32Asm(kcb, &a[i*lda+pc], lda, bp, ldb, &cm[i*ldc+jr], ldc, accumulate)
			}
		}
	}
}

// GemmABt computes C = A·Bᵀ (alpha 1, beta 0) for row-major A (m×k, row
// stride lda), B (n×k, row stride ldb) and C (m×n, row stride ldc): a
// dense layer's forward product with B its weights, for few rows m (a
// batch) and many depths. On an InPlace Context it computes Cᵀ = B·Aᵀ
// with B's rows read in place (the rows past the last twelve packed), A
// packed as the right-hand side, and writes C transposed; elsewhere it is
// Gemm(false, true, …). Either way the result equals Gemm bit for bit.
// Steady-state calls allocate nothing.
func (c *Context) GemmABt(m, n, k int, a []float32, lda int, b []float32, ldb int, cm []float32, ldc int) {
	if !c.InPlace() || m == 0 || n == 0 || k == 0 {
		c.Gemm(false, true, m, n, k, 1, a, lda, b, ldb, 0, cm, ldc)
		return
	}
	checkArgs(false, true, m, n, k, a, lda, b, ldb, cm, ldc)
	w := c.ws[0]
	mp := (m + dwCols32 - 1) / dwCols32 * dwCols32 // Cᵀ's columns, whole pairs of panels
	w.ct = grow(w.ct, n*mp)
	kstep := KSlice(k)
	full := n / (2 * mr) * (2 * mr)
	for pc := 0; pc < k; pc += kstep {
		kcb := min(kstep, k-pc)
		w.pb = grow(w.pb, mp*kcb)
		packRowsT(a, lda, m, mp, pc, kcb, w.pb)
		if full < n {
			w.pa = grow(w.pa, 2*mr*kcb)
			packRowsZ(b, ldb, full, n, pc, kcb, w.pa)
		}
		acc := pc > 0
		for jr := 0; jr < mp; jr += dwCols32 {
			b0 := w.pb[jr*kcb : (jr+nr)*kcb]
			b1 := w.pb[(jr+nr)*kcb : (jr+2*nr)*kcb]
			for i := 0; i < full; i += 2 * mr {
				ar := b[i*ldb+pc : (i+2*mr-1)*ldb+pc+kcb]
				cc := w.ct[i*mp+jr : (i+2*mr-1)*mp+jr+dwCols32]
				kernel12x32StridedAsm(kcb, &ar[0], ldb, &b0[0], &b1[0], &cc[0], mp, acc)
			}
			if full < n {
				t := w.tile32[:]
				kernel12x32Asm(kcb, &w.pa[0], &b0[0], &b1[0], &t[0], dwCols32, false)
				storeTile(w.ct[full*mp+jr:], mp, t, dwCols32, n-full, dwCols32, acc)
			}
		}
	}
	for j := range n { // C = (Cᵀ)ᵀ
		row := w.ct[j*mp : j*mp+m]
		for i, v := range row {
			cm[i*ldc+j] = v
		}
	}
}

// packRowsT packs depths [pc, pc+kcb) of the m rows of a (row stride
// lda) as the columns of a kcb×mp right-hand block: panel q (16 columns)
// holds pb[q·16·kcb + d·16 + j] = a[(16q+j)·lda + pc+d], zero for rows
// past m.
func packRowsT(a []float32, lda, m, mp, pc, kcb int, pb []float32) {
	for q := 0; q < mp; q += nr {
		dst := pb[q*kcb : (q+nr)*kcb]
		if q+nr <= m {
			packRows16(true, kcb, a[q*lda+pc:], lda, dst)
			continue
		}
		clear(dst)
		for j := q; j < m; j++ {
			for d, v := range a[j*lda+pc : j*lda+pc+kcb] {
				dst[d*nr+j-q] = v
			}
		}
	}
}

// packRowsZ packs depths [pc, pc+kcb) of rows [i0, i1) of b (at most
// twelve, row stride ldb) as two 6-row A micro-panels, zero past i1.
func packRowsZ(b []float32, ldb, i0, i1, pc, kcb int, pa []float32) {
	clear(pa[:2*mr*kcb])
	for i := i0; i < i1; i++ {
		r := i - i0
		dst := pa[(r/mr)*mr*kcb:]
		for d, v := range b[i*ldb+pc : i*ldb+pc+kcb] {
			dst[d*mr+r%mr] = v
		}
	}
}

// kernelSBGo is the reference loop of kernelSB12x32Asm (rows = 12) and
// kernelSB4x32Asm (rows = 4): for i < rows and j < 32,
//
//	s := float32(0)
//	for d := 0; d < kc; d++ {
//		s += a[i·lda+d] · b[d·ldb+j]
//	}
//	c[i·ldc+j] = s (+ c[i·ldc+j] with accumulate)
//
// (fused or not as the compiler does `s += x*y`: equal to the assembly to
// rounding; the assembly is checked bit for bit against kernel12x32Asm).
func kernelSBGo(rows, kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	for i := range rows {
		var s [dwCols32]float32
		for d := range kc {
			x := a[i*lda+d]
			for j, v := range b[d*ldb : d*ldb+dwCols32] {
				s[j] += x * v
			}
		}
		storeRow32(c[i*ldc:i*ldc+dwCols32], &s, accumulate)
	}
}
