package sgemm

// Packing copies a block of op(A) or op(B) into the contiguous micro-panel
// order the micro-kernel streams through. Full panels go through four
// helpers (copyPanels6/16 when a panel's values of one depth are contiguous
// in memory, packRows6/16 when they lie in different rows), each with an
// assembly twin on amd64; edges and alpha ≠ 1 use plain loops.

// packA packs rows [ic, ic+mcb) and depths [pc, pc+kcb) of alpha·op(A) into
// pa as consecutive mr-row micro-panels: element (ic+ir+r, pc+p) goes to
// pa[ir·kcb + p·mr + r]. Rows past mcb are zero.
func packA(g *args, pa []float32, ic, mcb, pc, kcb int) {
	if g.patchA != nil {
		g.patchA.packA(g.asm, pa, ic, mcb, pc, kcb)
		return
	}
	a, lda, alpha := g.a, g.lda, g.alpha
	full := mcb / mr * mr
	if full < mcb {
		clear(pa[full*kcb : (full+mr)*kcb])
	}
	if g.transA {
		// A is k×m: the 6 values of one depth are contiguous.
		start := 0
		if alpha == 1 && full > 0 {
			copyPanels6(g.asm, kcb, a[pc*lda+ic:], lda, full/mr, pa)
			start = full
		}
		if start < mcb {
			for p := 0; p < kcb; p++ {
				src := a[(pc+p)*lda+ic : (pc+p)*lda+ic+mcb]
				for ir := start; ir < mcb; ir += mr {
					d := pa[ir*kcb+p*mr:]
					for r, v := range src[ir:min(ir+mr, mcb)] {
						d[r] = alpha * v
					}
				}
			}
		}
		return
	}
	for ir := 0; ir < mcb; ir += mr {
		dst := pa[ir*kcb : (ir+mr)*kcb]
		i := ic + ir
		if ir < full && alpha == 1 {
			packRows6(g.asm, kcb, a[i*lda+pc:], lda, dst)
			continue
		}
		for r := 0; r < min(mr, mcb-ir); r++ {
			src := a[(i+r)*lda+pc : (i+r)*lda+pc+kcb]
			d := dst[r:]
			for p, v := range src {
				d[p*mr] = alpha * v
			}
		}
	}
}

// packB packs depths [pc, pc+kcb) and columns [jc, jc+ncb) of op(B) into pb
// as consecutive nr-column micro-panels: element (pc+p, jc+jr+j) goes to
// pb[jr·kcb + p·nr + j]. Columns past ncb are zero.
func packB(g *args, pb []float32, pc, kcb, jc, ncb int) {
	if g.patchB != nil {
		g.patchB.packB(g.asm, pb, pc, kcb, jc, ncb)
		return
	}
	b, ldb := g.b, g.ldb
	full := ncb / nr * nr
	if full < ncb {
		clear(pb[full*kcb : (full+nr)*kcb])
	}
	if !g.transB {
		// B is k×n: the 16 values of one depth are contiguous.
		if full > 0 {
			copyPanels16(g.asm, kcb, b[pc*ldb+jc:], ldb, full/nr, pb)
		}
		if full < ncb {
			for p := 0; p < kcb; p++ {
				d := pb[full*kcb+p*nr:]
				for j, v := range b[(pc+p)*ldb+jc+full : (pc+p)*ldb+jc+ncb] {
					d[j] = v
				}
			}
		}
		return
	}
	// B is n×k: gather the panel's columns, four row streams at a time.
	for jr := 0; jr < ncb; jr += nr {
		dst := pb[jr*kcb : (jr+nr)*kcb]
		cols := min(nr, ncb-jr)
		j := jc + jr
		c := 0
		if cols == nr {
			packRows16(g.asm, kcb, b[j*ldb+pc:], ldb, dst)
			c = nr
		}
		for ; c+4 <= cols; c += 4 {
			r0 := b[(j+c)*ldb+pc:][:kcb]
			r1 := b[(j+c+1)*ldb+pc:][:kcb]
			r2 := b[(j+c+2)*ldb+pc:][:kcb]
			r3 := b[(j+c+3)*ldb+pc:][:kcb]
			for p := range kcb {
				d := dst[p*nr+c : p*nr+c+4 : p*nr+c+4]
				d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			}
		}
		for ; c < cols; c++ {
			src := b[(j+c)*ldb+pc : (j+c)*ldb+pc+kcb]
			d := dst[c:]
			for p, v := range src {
				d[p*nr] = v
			}
		}
	}
}

// packRows6 sets dst[p*6+r] = src[r*ld+p] for r < 6, p < kc, with the
// assembly twin when useAsm and the CPU has it.
func packRows6(useAsm bool, kc int, src []float32, ld int, dst []float32) {
	_ = src[(mr-1)*ld+kc-1]
	_ = dst[mr*kc-1]
	if useAsm && hasAsm {
		packRows6Asm(kc, &src[0], ld, &dst[0])
		return
	}
	packRows6Go(kc, src, ld, dst)
}

// packRows6Go is the reference for packRows6Asm:
//
//	for p := 0; p < kc; p++ {
//		for r := 0; r < 6; r++ {
//			dst[p*6+r] = src[r*ld+p]
//		}
//	}
func packRows6Go(kc int, src []float32, ld int, dst []float32) {
	r0 := src[:kc]
	r1 := src[ld:][:kc]
	r2 := src[2*ld:][:kc]
	r3 := src[3*ld:][:kc]
	r4 := src[4*ld:][:kc]
	r5 := src[5*ld:][:kc]
	for p := range kc {
		d := dst[p*mr : p*mr+mr : p*mr+mr]
		d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
	}
}

// packRows16 sets dst[p*16+c] = src[c*ld+p] for c < 16, p < kc, with the
// assembly twin when useAsm and the CPU has it.
func packRows16(useAsm bool, kc int, src []float32, ld int, dst []float32) {
	_ = src[(nr-1)*ld+kc-1]
	_ = dst[nr*kc-1]
	if useAsm && hasAsm {
		packRows16Asm(kc, &src[0], ld, &dst[0])
		return
	}
	packRows16Go(kc, src, ld, dst)
}

// packRows16Go is the reference for packRows16Asm:
//
//	for p := 0; p < kc; p++ {
//		for c := 0; c < 16; c++ {
//			dst[p*16+c] = src[c*ld+p]
//		}
//	}
func packRows16Go(kc int, src []float32, ld int, dst []float32) {
	for c := 0; c < nr; c += 4 {
		r0 := src[c*ld:][:kc]
		r1 := src[(c+1)*ld:][:kc]
		r2 := src[(c+2)*ld:][:kc]
		r3 := src[(c+3)*ld:][:kc]
		for p := range kc {
			d := dst[p*nr+c : p*nr+c+4 : p*nr+c+4]
			d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
}

// copyPanels6 copies np whole 6-wide panels whose depth-p values are
// contiguous, with the assembly twin when useAsm and the CPU has it.
func copyPanels6(useAsm bool, kc int, src []float32, ld, np int, dst []float32) {
	_ = src[(kc-1)*ld+np*mr-1]
	_ = dst[np*mr*kc-1]
	if useAsm && hasAsm {
		copyPanels6Asm(kc, &src[0], ld, np, &dst[0])
		return
	}
	copyPanels6Go(kc, src, ld, np, dst)
}

// copyPanels6Go is the reference for copyPanels6Asm:
//
//	for p := 0; p < kc; p++ {
//		for q := 0; q < np; q++ {
//			for r := 0; r < 6; r++ {
//				dst[q*6*kc+p*6+r] = src[p*ld+q*6+r]
//			}
//		}
//	}
func copyPanels6Go(kc int, src []float32, ld, np int, dst []float32) {
	for p := 0; p < kc; p++ {
		s := src[p*ld : p*ld+np*mr]
		for q := 0; q < np; q++ {
			// [4]+[2] array copies compile to inline moves; copy() or a
			// [6] array would call memmove.
			d := dst[q*mr*kc+p*mr:]
			*(*[4]float32)(d) = [4]float32(s[q*mr:])
			*(*[2]float32)(d[4:]) = [2]float32(s[q*mr+4:])
		}
	}
}

// copyPanels16 copies np whole 16-wide panels whose depth-p values are
// contiguous, with the assembly twin when useAsm and the CPU has it.
func copyPanels16(useAsm bool, kc int, src []float32, ld, np int, dst []float32) {
	_ = src[(kc-1)*ld+np*nr-1]
	_ = dst[np*nr*kc-1]
	if useAsm && hasAsm {
		copyPanels16Asm(kc, &src[0], ld, np, &dst[0])
		return
	}
	copyPanels16Go(kc, src, ld, np, dst)
}

// copyPanels16Go is the reference for copyPanels16Asm:
//
//	for p := 0; p < kc; p++ {
//		for q := 0; q < np; q++ {
//			for j := 0; j < 16; j++ {
//				dst[q*16*kc+p*16+j] = src[p*ld+q*16+j]
//			}
//		}
//	}
func copyPanels16Go(kc int, src []float32, ld, np int, dst []float32) {
	for p := 0; p < kc; p++ {
		s := src[p*ld : p*ld+np*nr]
		for q := 0; q < np; q++ {
			d := dst[q*nr*kc+p*nr:]
			*(*[4]float32)(d) = [4]float32(s[q*nr:])
			*(*[4]float32)(d[4:]) = [4]float32(s[q*nr+4:])
			*(*[4]float32)(d[8:]) = [4]float32(s[q*nr+8:])
			*(*[4]float32)(d[12:]) = [4]float32(s[q*nr+12:])
		}
	}
}
