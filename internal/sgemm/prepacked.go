package sgemm

import "fmt"

// PackedB is a k×n right-hand matrix packed once into the micro-kernel's
// panel order, for repeated products with the same B (inference weights):
// GemmPacked then packs only A. The K slicing equals Gemm's, so for blocks
// of more than one row GemmPacked returns exactly what Gemm returns for the
// same operands; a single row runs the one-row kernel (kernel1x16Go).
type PackedB struct {
	n, k, kstep int
	np          int       // 16-column panels
	p           []float32 // slice s (depths [s·kstep, …)): panels of kcb×16 at off[s]
	off         []int
}

// PackB packs op(B) (k×n; B is n×k when transB) with row stride ldb.
// It panics on dimensions that do not fit, as Gemm does.
func PackB(transB bool, n, k int, b []float32, ldb int) *PackedB {
	if n < 1 || k < 1 {
		panic(fmt.Sprintf("sgemm: PackB: n=%d k=%d must be positive", n, k))
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat("B", b, br, bc, ldb)
	kstep := KSlice(k)
	np := (n + nr - 1) / nr
	pb := &PackedB{n: n, k: k, kstep: kstep, np: np, p: make([]float32, np*nr*k)}
	g := &args{transB: transB, n: n, k: k, b: b, ldb: ldb, asm: hasAsm}
	o := 0
	for pc := 0; pc < k; pc += kstep {
		kcb := min(kstep, k-pc)
		pb.off = append(pb.off, o)
		packB(g, pb.p[o:o+np*nr*kcb], pc, kcb, 0, n)
		o += np * nr * kcb
	}
	return pb
}

// N and K are the dimensions of the packed op(B).
func (p *PackedB) N() int { return p.n }
func (p *PackedB) K() int { return p.k }

// GemmPacked computes columns [j0, j1) of C = op(A)·B on the calling
// goroutine only (alpha 1, beta 0): A is m×k row-major with stride lda, C
// is m×n with stride ldc; j0 must be a multiple of 16 (a panel boundary)
// so that callers can split the columns between goroutines. Steady-state
// calls allocate nothing.
func (c *Context) GemmPacked(m int, a []float32, lda int, b *PackedB, j0, j1 int, cm []float32, ldc int) {
	if m < 0 || j0 < 0 || j0%nr != 0 || j1 > b.n || j0 > j1 {
		panic(fmt.Sprintf("sgemm: GemmPacked: m=%d columns [%d,%d) of %d", m, j0, j1, b.n))
	}
	checkMat("A", a, m, b.k, lda)
	checkMat("C", cm, m, b.n, ldc)
	if m == 0 || j0 == j1 {
		return
	}
	w := c.ws[0]
	c.g = args{m: m, n: b.n, k: b.k, alpha: 1, a: a, lda: lda, c: cm, ldc: ldc, asm: c.asm}
	defer func() { c.g = args{} }()
	g := &c.g
	for s, pc := 0, 0; pc < b.k; s, pc = s+1, pc+b.kstep {
		kcb := min(b.kstep, b.k-pc)
		panels := b.p[b.off[s] : b.off[s]+b.np*nr*kcb]
		accumulate := pc > 0
		for ic := 0; ic < m; ic += mc {
			mcb := min(mc, m-ic)
			if mcb == 1 {
				row := a[ic*lda+pc : ic*lda+pc+kcb]
				jr := j0
				if c.asm && c.avx512 && hasAVX512 {
					for ; jr+8*nr <= j1; jr += 8 * nr {
						bp := panels[jr*kcb : (jr+8*nr)*kcb]
						out := cm[ic*ldc+jr : ic*ldc+jr+8*nr]
						kernel1x128Asm(kcb, &row[0], &bp[0], &out[0], accumulate)
					}
				}
				for ; jr+4*nr <= j1; jr += 4 * nr {
					kernel1x64(c.asm, kcb, row, panels[jr*kcb:(jr+4*nr)*kcb], cm[ic*ldc+jr:ic*ldc+jr+4*nr], accumulate)
				}
				for ; jr < j1; jr += nr {
					nn := min(nr, j1-jr)
					bp := panels[jr*kcb : (jr+nr)*kcb]
					out := cm[ic*ldc+jr : ic*ldc+jr+nn]
					if nn == nr {
						kernel1(c.asm, kcb, row, bp, out, accumulate)
						continue
					}
					t := w.tile[:nr]
					kernel1(c.asm, kcb, row, bp, t, false)
					for j, v := range t[:nn] {
						if accumulate {
							out[j] += v
						} else {
							out[j] = v
						}
					}
				}
				continue
			}
			mcp := (mcb + mr - 1) / mr * mr
			w.pa = grow(w.pa, mcp*kcb)
			wide := c.asm && c.avx512 && hasAVX512
			direct := 0 // rows the 12×32 kernel reads in place
			if wide && (j1-j0)%(2*nr) == 0 {
				direct = mcb / (2 * mr) * (2 * mr)
			}
			if direct < mcb {
				packA(g, w.pa[direct*kcb:], ic+direct, mcb-direct, pc, kcb)
			}
			w.macroPacked(g, wide, panels[j0*kcb:], kcb, pc, ic, mcb, j0, j1-j0, direct, accumulate)
		}
	}
}

// macroPacked is macro on the pre-packed panels pb (column jc first): with
// wide, pairs of whole panels run the AVX-512 12×32 kernel on pairs of
// whole A micro-panels and the 6×32 kernel on a remaining one, which give
// the same bits as the 6×16 kernels.
//
// The first direct rows of the block (a multiple of 12, only when every
// column pair is whole) are not packed: the strided 12×32 kernel reads
// depths [pc, pc+kcb) of them from A in place.
func (w *workspace) macroPacked(g *args, wide bool, pb []float32, kcb, pc, ic, mcb, jc, ncb, direct int, accumulate bool) {
	c, ldc := g.c, g.ldc
	step := nr
	for jr := 0; jr < ncb; jr += step {
		two := wide && jr+2*nr <= ncb
		step = nr
		if two {
			step = 2 * nr
		}
		for ir := 0; ir < mcb; ir += mr {
			mm := min(mr, mcb-ir)
			ap := w.pa[ir*kcb : (ir+mr)*kcb]
			off := (ic+ir)*ldc + jc + jr
			if two && ir+2*mr <= mcb {
				// Twelve rows: two A micro-panels share each B row.
				b0 := pb[jr*kcb : (jr+nr)*kcb]
				b1 := pb[(jr+nr)*kcb : (jr+2*nr)*kcb]
				cc := c[off : off+(2*mr-1)*ldc+2*nr]
				if ir+2*mr <= direct {
					r0 := (ic+ir)*g.lda + pc
					ar := g.a[r0 : r0+(2*mr-1)*g.lda+kcb]
					kernel12x32StridedAsm(kcb, &ar[0], g.lda, &b0[0], &b1[0], &cc[0], ldc, accumulate)
				} else {
					ap := w.pa[ir*kcb : (ir+2*mr)*kcb]
					kernel12x32Asm(kcb, &ap[0], &b0[0], &b1[0], &cc[0], ldc, accumulate)
				}
				ir += mr
				continue
			}
			if two && mm == mr && mcb-ir == mr {
				b0 := pb[jr*kcb : (jr+nr)*kcb]
				b1 := pb[(jr+nr)*kcb : (jr+2*nr)*kcb]
				cc := c[off : off+(mr-1)*ldc+2*nr]
				kernel6x32Asm(kcb, &ap[0], &b0[0], &b1[0], &cc[0], ldc, accumulate)
				continue
			}
			if two {
				// The last 1-5 or 7-11 rows: the packed A rows past mcb
				// are zero, so the 6×32 or 12×32 kernel computes a whole
				// tile and the rows that exist are stored.
				b0 := pb[jr*kcb : (jr+nr)*kcb]
				b1 := pb[(jr+nr)*kcb : (jr+2*nr)*kcb]
				t := w.tile32[:]
				rows := mcb - ir
				if rows > mr {
					ap := w.pa[ir*kcb : (ir+2*mr)*kcb]
					kernel12x32Asm(kcb, &ap[0], &b0[0], &b1[0], &t[0], 2*nr, false)
					ir += mr
				} else {
					kernel6x32Asm(kcb, &ap[0], &b0[0], &b1[0], &t[0], 2*nr, false)
				}
				storeTile(c[off:], ldc, t, 2*nr, rows, 2*nr, accumulate)
				continue
			}
			for q := jr; q < jr+step && q < ncb; q += nr {
				nn := min(nr, ncb-q)
				bp := pb[q*kcb : (q+nr)*kcb]
				o := (ic+ir)*ldc + jc + q
				if mm == mr && nn == nr {
					kernel(g.asm, kcb, ap, bp, c[o:o+(mr-1)*ldc+nr], ldc, accumulate)
					continue
				}
				t := w.tile[:]
				kernel(g.asm, kcb, ap, bp, t, nr, false)
				storeTile(c[o:], ldc, t, nr, mm, nn, accumulate)
			}
		}
	}
}

// kernel1 computes one row: c[j] (+)= Σ_p a[p]·b[p*16+j] for j < 16, with
// the assembly twin when useAsm and the CPU has it. Each output is one
// multiply-add chain in increasing p, as in the 6×16 kernels, so a row
// gets the same bits from either (on the same path).
func kernel1(useAsm bool, kcb int, a, b, c []float32, accumulate bool) {
	_ = a[kcb-1]
	_ = b[nr*kcb-1]
	_ = c[nr-1]
	if useAsm && hasAsm {
		kernel1x16Asm(kcb, &a[0], &b[0], &c[0], accumulate)
		return
	}
	kernel1x16Go(kcb, a, b, c, accumulate)
}

// kernel1x64 is kernel1 on four consecutive panels (b holds 4·kcb·16
// values, c 64 outputs): four independent chains hide the FMA latency.
func kernel1x64(useAsm bool, kcb int, a, b, c []float32, accumulate bool) {
	_ = a[kcb-1]
	_ = b[4*nr*kcb-1]
	_ = c[4*nr-1]
	if useAsm && hasKernel1x64Asm {
		kernel1x64Asm(kcb, &a[0], &b[0], &c[0], accumulate)
		return
	}
	for q := range 4 {
		kernel1x16Go(kcb, a, b[q*nr*kcb:(q+1)*nr*kcb], c[q*nr:(q+1)*nr], accumulate)
	}
}

// kernel1x16Go is the reference one-row micro-kernel, the pure-Go twin of
// kernel1x16Asm and kernel1x64Asm (per panel):
//
//	for j < 16: s := float32(0); for p < kc { s += a[p]*b[p*16+j] }; c[j] (+)= s
func kernel1x16Go(kc int, a, b, c []float32, accumulate bool) {
	var s [nr]float32
	a = a[:kc]
	b = b[:kc*nr]
	for p, x := range a {
		bp := (*[nr]float32)(b[p*nr:])
		for j := range nr {
			s[j] += x * bp[j]
		}
	}
	c = c[:nr]
	for j := range nr {
		if accumulate {
			c[j] += s[j]
		} else {
			c[j] = s[j]
		}
	}
}
