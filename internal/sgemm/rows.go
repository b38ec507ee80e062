package sgemm

// GemmPatchesA reads most windows in place when a K slice is exactly one
// window row (Kernel·C values, as for a 3×3 convolution over 64
// channels: 576 = 3 slices of 192): twelve neighbouring outputs of one
// output row then have their slice at a constant stride (Stride·C) in
// the zero-padded input, which kernel12x32StridedAsm reads like a
// row-major A. The outputs left at the end of each output row (OW mod
// 12) are gathered twelve at a time into packed micro-panels for
// kernel12x32Asm. Both kernels give the same FMA chains as the packed
// path, and the slices are summed in the same order, so the result is
// bit-identical.

// rowsInPlace reports whether GemmPatchesA(p, transB, n, …, beta) can run
// gemmRowsInPlace: p without padding (already padded), every window
// inside, one K slice per window row, at least one whole 12-output block
// per output row, n a multiple of 32, beta 0, one thread and the AVX-512
// kernels.
func (c *Context) rowsInPlace(p *Patches, transB bool, n int, beta float32) bool {
	return c.threads == 1 && c.asm && c.avx512 && hasAVX512 && transB && beta == 0 && n%(2*nr) == 0 &&
		p.Pad == 0 && p.inside() && p.OW >= 2*mr && KSlice(p.Cols()) == p.Kernel*p.C && p.Kernel*p.C <= len(zeros)
}

// gemmRowsInPlace is GemmPatchesA's in-place path (see rowsInPlace): C
// (p.Rows() × n, row stride ldc) = P·Bᵀ with B n×k (row stride ldb).
func (c *Context) gemmRowsInPlace(p *Patches, n int, b []float32, ldb int, cm []float32, ldc int) {
	w := c.ws[0]
	k := p.Cols()
	kstep := p.Kernel * p.C
	lda := p.Stride * p.C
	g := &args{transB: true, n: n, k: k, b: b, ldb: ldb, asm: c.asm}
	w.pa = grow(w.pa, 2*mr*kstep)
	full := p.OW / (2 * mr) * (2 * mr)
	for pc := 0; pc < k; pc += kstep {
		ky := pc / kstep
		w.pb = grow(w.pb, n*kstep)
		packB(g, w.pb, pc, kstep, 0, n)
		acc := pc > 0
		var left leftRows
		for img := range p.N {
			for oy := range p.OH {
				row0 := (img*p.OH + oy) * p.OW
				base := (img*p.H + oy*p.Stride + ky) * p.W * p.C
				for ox := 0; ox < full; ox += 2 * mr {
					a := p.X[base+ox*lda : base+(ox+2*mr-1)*lda+kstep]
					for jr := 0; jr < n; jr += 2 * nr {
						b0 := w.pb[jr*kstep : (jr+nr)*kstep]
						b1 := w.pb[(jr+nr)*kstep : (jr+2*nr)*kstep]
						cc := cm[(row0+ox)*ldc+jr : (row0+ox+2*mr-1)*ldc+jr+2*nr]
						kernel12x32StridedAsm(kstep, &a[0], lda, &b0[0], &b1[0], &cc[0], ldc, acc)
					}
				}
				for ox := full; ox < p.OW; ox++ {
					left.row[left.n], left.off[left.n] = row0+ox, base+ox*lda
					if left.n++; left.n == 2*mr {
						w.leftover(p, &left, kstep, n, cm, ldc, acc)
					}
				}
			}
		}
		if left.n > 0 {
			w.leftover(p, &left, kstep, n, cm, ldc, acc)
		}
	}
}

// leftRows are up to twelve outputs whose slices are gathered for one
// packed 12×32 kernel call: C row and slice offset in the input.
type leftRows struct {
	n        int
	row, off [2 * mr]int
}

// leftover packs the slices of the outputs in l (zero rows past l.n),
// multiplies them by the packed B slice w.pb into the 12×32 tile, adds
// (acc) or writes the rows into C and empties l.
func (w *workspace) leftover(p *Patches, l *leftRows, kstep, n int, cm []float32, ldc int, acc bool) {
	for h := range 2 {
		var src [mr][]float32
		for r := range mr {
			i := h*mr + r
			src[r] = zeros[:kstep]
			if i < l.n {
				src[r] = p.X[l.off[i] : l.off[i]+kstep]
			}
		}
		packPtrs6(true, kstep, &src, w.pa[h*mr*kstep:(h+1)*mr*kstep])
	}
	t := w.tile32[:]
	for jr := 0; jr < n; jr += 2 * nr {
		b0 := w.pb[jr*kstep : (jr+nr)*kstep]
		b1 := w.pb[(jr+nr)*kstep : (jr+2*nr)*kstep]
		kernel12x32Asm(kstep, &w.pa[0], &b0[0], &b1[0], &t[0], 2*nr, false)
		for i := range l.n {
			row := cm[l.row[i]*ldc+jr : l.row[i]*ldc+jr+2*nr]
			tr := t[i*2*nr : (i+1)*2*nr]
			if acc {
				for j, v := range tr {
					row[j] += v
				}
			} else {
				copy(row, tr)
			}
		}
	}
	l.n = 0
}
