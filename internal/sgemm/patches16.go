package sgemm

// packB16 is Patches.packB for C a multiple of 16, where every 16-column
// B panel is 16 channels of one window tap: for each run of patch rows in
// one output row and each tap, the rows whose tap lies inside the image
// are one strided block (row r at r·Stride·C) that copyBlock16 moves into
// the tap's panels in one call; the others are zero.
func (p *Patches) packB16(useAsm bool, pb []float32, pc, kcb, jc, ncb int) {
	C, K, S := p.C, p.Kernel, p.Stride
	cpt := C / nr // panels per tap
	u0, u1 := jc/nr, (jc+ncb)/nr
	ldd := nr * kcb // panel stride
	var it rowIter
	it.start(p, pc)
	for q := 0; q < kcb; {
		n := min(kcb-q, p.OW-it.ox) // rows left in this output row
		b, y0, x0 := it.b, it.y0, it.x0
		for t := u0 / cpt; t*cpt < u1; t++ {
			h0, h1 := max(u0, t*cpt), min(u1, (t+1)*cpt)
			iy, ix := y0+t/K, x0+t%K
			ra, rb := 0, 0 // rows [ra, rb) have the tap inside the image
			if iy >= 0 && iy < p.H && ix+(n-1)*S >= 0 && ix < p.W {
				if ix < 0 {
					ra = (-ix + S - 1) / S
				}
				rb = min(n, (p.W-1-ix)/S+1)
			}
			dst := pb[(h0-u0)*ldd+q*nr:]
			for h := range h1 - h0 {
				d := dst[h*ldd:]
				clear(d[:ra*nr])
				clear(d[rb*nr : n*nr])
			}
			if ra < rb {
				off := ((b*p.H+iy)*p.W+ix+ra*S)*C + (h0-t*cpt)*nr
				copyBlock16(useAsm, rb-ra, h1-h0, p.X[off:], S*C, dst[ra*nr:], ldd)
			}
		}
		q += n
		for range n {
			it.next()
		}
	}
}

// copyBlock16 sets dst[h·ldd + r·16 + j] = src[r·lds + h·16 + j] for r <
// rows, h < chunks, j < 16 (rows ≥ 1, chunks ≥ 1), with the assembly twin
// when useAsm and the CPU has it.
func copyBlock16(useAsm bool, rows, chunks int, src []float32, lds int, dst []float32, ldd int) {
	_ = src[(rows-1)*lds+chunks*nr-1]
	_ = dst[(chunks-1)*ldd+rows*nr-1]
	if useAsm && hasAsm {
		copyBlock16Asm(rows, chunks, &src[0], lds, &dst[0], ldd)
		return
	}
	copyBlock16Go(rows, chunks, src, lds, dst, ldd)
}

// copyBlock16Go is the reference for copyBlock16Asm:
//
//	for r < rows, h < chunks, j < 16: dst[h·ldd + r·16 + j] = src[r·lds + h·16 + j]
func copyBlock16Go(rows, chunks int, src []float32, lds int, dst []float32, ldd int) {
	for r := range rows {
		s := src[r*lds : r*lds+chunks*nr]
		for h := range chunks {
			copy(dst[h*ldd+r*nr:h*ldd+r*nr+nr], s[h*nr:h*nr+nr])
		}
	}
}
