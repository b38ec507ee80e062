package sgemm

// kernel multiplies one packed A micro-panel by one packed B micro-panel
// (depth kcb) into the mr×nr tile c (row stride ldc) with the assembly
// micro-kernel when useAsm and the CPU has one, else with kernel6x16Go.
func kernel(useAsm bool, kcb int, a, b, c []float32, ldc int, accumulate bool) {
	_ = a[mr*kcb-1]
	_ = b[nr*kcb-1]
	_ = c[(mr-1)*ldc+nr-1]
	if useAsm && hasKernelAsm {
		kernelAsm(kcb, &a[0], &b[0], &c[0], ldc, accumulate)
		return
	}
	kernel6x16Go(kcb, a, b, c, ldc, accumulate)
}

// kernel6x16Go is the reference micro-kernel, the pure-Go twin of the
// assembly ones. With a the packed 6×kc A micro-panel and b the packed
// kc×16 B micro-panel it computes, for i < 6 and j < 16,
//
//	s := float32(0)
//	for p := 0; p < kc; p++ {
//		s += a[p*6+i] * b[p*16+j]
//	}
//	if accumulate {
//		c[i*ldc+j] += s
//	} else {
//		c[i*ldc+j] = s
//	}
//
// It works in 2×4 register sub-blocks so that the accumulators stay in
// registers on amd64 (16 XMM) as well as arm64.
func kernel6x16Go(kc int, a, b, c []float32, ldc int, accumulate bool) {
	a = a[:kc*mr]
	b = b[:kc*nr]
	for i0 := 0; i0 < mr; i0 += 2 {
		for j0 := 0; j0 < nr; j0 += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			ia, ib := i0, j0
			for p := 0; p < kc; p++ {
				ap := a[ia : ia+2 : ia+2]
				bp := b[ib : ib+4 : ib+4]
				a0, a1 := ap[0], ap[1]
				b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				ia += mr
				ib += nr
			}
			r0 := c[i0*ldc+j0 : i0*ldc+j0+4 : i0*ldc+j0+4]
			r1 := c[(i0+1)*ldc+j0 : (i0+1)*ldc+j0+4 : (i0+1)*ldc+j0+4]
			if accumulate {
				r0[0] += c00
				r0[1] += c01
				r0[2] += c02
				r0[3] += c03
				r1[0] += c10
				r1[1] += c11
				r1[2] += c12
				r1[3] += c13
			} else {
				r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
				r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
			}
		}
	}
}
