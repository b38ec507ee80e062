package sgemm

// GemmPatchesA reads most windows in place: twelve neighbouring outputs
// of one output row have their windows at a constant stride (Stride·C)
// in the zero-padded input, and a K slice of a window is one or more
// runs of whole or partial window rows (Kernel·C values each, W·C apart),
// which kernel12x32SegAsm reads like a row-major A that jumps between
// runs. A row of 12k+2 outputs (conv2's 14) ends in one block of
// fourteen (kernel14x32SegAsm); otherwise the outputs left at the end of
// each output row (OW mod 12) are gathered twelve at a time into packed
// micro-panels for kernel12x32Asm. All kernels give the same FMA chains as the packed path, and the
// slices are summed in the same order, so the result is bit-identical.

// rowsInPlace reports whether GemmPatchesA(p, transB, n, …, beta) can run
// gemmRowsInPlace: p without padding (already padded), every window
// inside, at least one whole 12-output block per output row, n a
// multiple of 32, beta 0, one thread and the AVX-512 kernels.
func (c *Context) rowsInPlace(p *Patches, transB bool, n int, beta float32) bool {
	return c.threads == 1 && c.asm && c.avx512 && hasAVX512 && transB && beta == 0 && n%(2*nr) == 0 &&
		p.Pad == 0 && p.inside() && p.OW >= 2*mr
}

// gemmRowsInPlace is GemmPatchesA's in-place path (see rowsInPlace): C
// (p.Rows() × n, row stride ldc) = P·Bᵀ with B n×k (row stride ldb).
func (c *Context) gemmRowsInPlace(p *Patches, n int, b []float32, ldb int, cm []float32, ldc int) {
	w := c.ws[0]
	k := p.Cols()
	kstep := KSlice(k)
	run := p.Kernel * p.C // one window row
	lda, gap := p.Stride*p.C, p.W*p.C-run
	g := &args{transB: true, n: n, k: k, b: b, ldb: ldb, asm: c.asm}
	w.pa = grow(w.pa, 2*mr*kstep)
	full := p.OW / (2 * mr) * (2 * mr)
	// Rows of 12k+2 outputs (conv2's 14) end in one 14-output block
	// (kernel14x32SegAsm) instead of leaving two outputs to gather.
	last14 := p.OW%(2*mr) == rows14-2*mr
	if last14 {
		full -= 2 * mr
	}
	for pc := 0; pc < k; pc += kstep {
		kcb := min(kstep, k-pc)
		// The slice starts in window row pc/run, pc%run values in.
		start := pc/run*p.W*p.C + pc%run
		first := min(run-pc%run, kcb)
		w.pb = grow(w.pb, n*kcb)
		packB(g, w.pb, pc, kcb, 0, n)
		acc := pc > 0
		var left leftRows
		for img := range p.N {
			for oy := range p.OH {
				row0 := (img*p.OH + oy) * p.OW
				base := (img*p.H+oy*p.Stride)*p.W*p.C + start
				for ox := 0; ox < full; ox += 2 * mr {
					a := p.X[base+ox*lda : base+(ox+2*mr-1)*lda+p.segEnd(pc, kcb)]
					for jr := 0; jr < n; jr += 2 * nr {
						b0 := w.pb[jr*kcb : (jr+nr)*kcb]
						b1 := w.pb[(jr+nr)*kcb : (jr+2*nr)*kcb]
						cc := cm[(row0+ox)*ldc+jr : (row0+ox+2*mr-1)*ldc+jr+2*nr]
						kernel12x32SegAsm(kcb, &a[0], lda, first, run, gap, &b0[0], &b1[0], &cc[0], ldc, acc)
					}
				}
				if last14 {
					ox := full
					a := p.X[base+ox*lda : base+(ox+rows14-1)*lda+p.segEnd(pc, kcb)]
					for jr := 0; jr < n; jr += 2 * nr {
						b0 := w.pb[jr*kcb : (jr+nr)*kcb]
						b1 := w.pb[(jr+nr)*kcb : (jr+2*nr)*kcb]
						cc := cm[(row0+ox)*ldc+jr : (row0+ox+rows14-1)*ldc+jr+2*nr]
						kernel14x32SegAsm(kcb, &a[0], lda, first, run, gap, &b0[0], &b1[0], &cc[0], ldc, acc)
					}
					continue
				}
				for ox := full; ox < p.OW; ox++ {
					left.row[left.n], left.off[left.n] = row0+ox, base+ox*lda
					if left.n++; left.n == 2*mr {
						w.leftover(p, &left, pc, kcb, n, cm, ldc, acc)
					}
				}
			}
		}
		if left.n > 0 {
			w.leftover(p, &left, pc, kcb, n, cm, ldc, acc)
		}
	}
}

// segEnd is the extent, from a window's slice start, of depths [pc,
// pc+kcb) of the window in the input: where the last run ends.
func (p *Patches) segEnd(pc, kcb int) int {
	run := p.Kernel * p.C
	last := pc + kcb - 1 // the last depth
	return (last/run-pc/run)*p.W*p.C + last%run - pc%run + 1
}

// rows14 is the height of kernel14x32SegAsm's tile.
const rows14 = 14

// leftRows are up to twelve outputs whose slices are gathered for one
// packed 12×32 kernel call: C row and slice start in the input.
type leftRows struct {
	n        int
	row, off [2 * mr]int
}

// leftover packs depths [pc, pc+kcb) of the windows in l (zero rows past
// l.n), run by run, multiplies them by the packed B slice w.pb into the
// 12×32 tile, adds (acc) or writes the rows into C and empties l.
func (w *workspace) leftover(p *Patches, l *leftRows, pc, kcb, n int, cm []float32, ldc int, acc bool) {
	run := p.Kernel * p.C
	for h := range 2 {
		pa := w.pa[h*mr*kcb : (h+1)*mr*kcb]
		jump := 0 // from the slice start to the current run's start
		for d := 0; d < kcb; {
			q := min(run-(pc+d)%run, kcb-d)
			var src [mr][]float32
			for r := range mr {
				i := h*mr + r
				src[r] = zeros[:q]
				if i < l.n {
					src[r] = p.X[l.off[i]+jump : l.off[i]+jump+q]
				}
			}
			packPtrs6(true, q, &src, pa[d*mr:(d+q)*mr])
			d += q
			jump += q + p.W*p.C - run
		}
	}
	t := w.tile32[:]
	for jr := 0; jr < n; jr += 2 * nr {
		b0 := w.pb[jr*kcb : (jr+nr)*kcb]
		b1 := w.pb[(jr+nr)*kcb : (jr+2*nr)*kcb]
		kernel12x32Asm(kcb, &w.pa[0], &b0[0], &b1[0], &t[0], 2*nr, false)
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

// kernelSegGo is the reference loop of the segmented kernels
// (kernel12x32SegAsm with rows = 12, kernel14x32SegAsm with rows = 14):
// for i < rows and j < 32, with pos(d) the offset of depth d in a row
// (depths [0, first) at 0…first−1, then seg depths after each jump of gap
// elements past a segment's end),
//
//	s := float32(0)
//	for d := 0; d < kc; d++ {
//		s += a[i·lda+pos(d)] · b(d, j)   // b(d, j) = b0[d·16+j], j < 16; b1[d·16+j−16] else
//	}
//	c[i·ldc+j] = s (+ c[i·ldc+j] with accumulate)
//
// (fused or not as the compiler does `s += x*y`: equal to the assembly to
// rounding; the assembly is checked bit for bit against kernel12x32Asm).
func kernelSegGo(rows, kc int, a []float32, lda, first, seg, gap int, b0, b1, c []float32, ldc int, accumulate bool) {
	for i := range rows {
		var s [2 * nr]float32
		o, left := i*lda, first
		for d := range kc {
			x := a[o]
			for j := range nr {
				s[j] += x * b0[d*nr+j]
				s[nr+j] += x * b1[d*nr+j]
			}
			o++
			if left--; left == 0 {
				o += gap
				left = seg
			}
		}
		row := c[i*ldc : i*ldc+2*nr]
		for j, v := range s {
			if accumulate {
				row[j] += v
			} else {
				row[j] = v
			}
		}
	}
}
