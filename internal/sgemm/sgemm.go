package sgemm

import (
	"fmt"
	"runtime"
	"sync"
)

// Blocking parameters. mr×nr is the micro-kernel tile; kc is the largest
// depth of one packed slice (A micro-panel 6×kc and B micro-panel kc×16,
// 22 KiB together, stay in a 32 KiB L1),
// mc the rows of one packed A block (kept in L2), nc the columns of one
// packed B block.
const (
	mr = 6
	nr = 16
	kc = 256
	mc = 144
	nc = 2048
)

// minParallelFlops is the problem size (2·m·n·k) below which Gemm runs on
// the calling goroutine only: waking workers costs microseconds.
const minParallelFlops = 1 << 20

// Context holds the packing buffers and worker count of one GEMM user.
// A Context is not safe for concurrent use; give each goroutine its own.
type Context struct {
	threads int
	asm     bool // use the assembly micro-kernel (tests switch it off)
	avx512  bool // GemmPacked may use the AVX-512 6×32 kernel (with asm)
	ws      []*workspace
	pool    *pool
	jobs    []job
	g       args      // the current call, kept here so that it does not escape
	patch   Patches   // the patch matrix of a GemmPatches call
	padded  []float32 // GemmPatchesA: the zero-padded input
}

// workspace is one thread's packing buffers.
type workspace struct {
	pa, pb []float32
	tile   [mr * nr]float32
	tile32 [2 * mr * 2 * nr]float32 // the 12×32 kernels' edge tile
	xp     []float32                // directDW: the zero-padded images
	acc    [dwTaps * dwCols]float32 // directDW: one K slice's sums
	offs   []int                    // gemmDWInPlace: byte offsets of a K slice's windows
	ct     []float32                // GemmABt: Cᵀ
}

// args is one Gemm call.
type args struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	asm            bool
	// transC: the call computes Cᵀ = op(B)ᵀ·op(A)ᵀ (m, n, a, b and the
	// trans flags above are already swapped) and writes it transposed into
	// c, so that a thin C (n < 16) uses the 6-row side of the micro-tile.
	transC bool
	// patchA, patchB: op(A) or op(B) is this patch matrix (GemmPatchesA,
	// GemmPatchesB) instead of a, b.
	patchA, patchB *Patches
	// wide: the AVX-512 12×32 and 6×32 kernels may run (asm, the
	// Context's avx512 and the CPU's support; set by dispatch).
	wide bool
}

// job is one thread's share of a call: the rectangle [i0,i1)×[j0,j1) of C.
type job struct {
	g              *args
	ws             *workspace
	i0, i1, j0, j1 int
	wg             *sync.WaitGroup
}

// pool is the Context's worker goroutines. Workers hold only the pool's
// channel, never the Context, so an unreachable Context is collected and its
// cleanup closes the channel, which ends the workers.
type pool struct {
	ch chan *job
	wg sync.WaitGroup
}

// New returns a Context that uses up to threads goroutines (≤0: 1).
func New(threads int) *Context {
	if threads < 1 {
		threads = 1
	}
	c := &Context{threads: threads, asm: hasAsm || hasKernelAsm, avx512: hasAVX512}
	c.ws = make([]*workspace, threads)
	for i := range c.ws {
		c.ws[i] = &workspace{}
	}
	c.jobs = make([]job, threads)
	return c
}

func (c *Context) startPool() {
	p := &pool{ch: make(chan *job, c.threads)}
	for i := 1; i < c.threads; i++ {
		go worker(p.ch)
	}
	runtime.AddCleanup(c, func(ch chan *job) { close(ch) }, p.ch)
	c.pool = p
}

func worker(ch chan *job) {
	for j := range ch {
		j.ws.run(j.g, j.i0, j.i1, j.j0, j.j1)
		j.wg.Done()
	}
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices:
// op(A) is m×k (A is k×m when transA), op(B) is k×n (B is n×k when transB),
// C is m×n; lda, ldb, ldc are row strides. beta == 0 overwrites C (NaNs in C
// are not propagated).
//
// Dimensions, strides or slices that do not fit panic with a message naming
// the argument, as BLAS does: they are programming errors.
func (c *Context) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, cm, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(cm, ldc, 0, m, 0, n, beta)
		return
	}
	if c.gemmNNInPlace(transA, transB, m, n, alpha) {
		c.gemmNN(m, n, k, a, lda, b, ldb, beta, cm, ldc)
		return
	}
	if c.gemmTAInPlace(transA, transB, m, n, alpha) {
		c.gemmTA(m, n, k, a, lda, b, ldb, beta, cm, ldc)
		return
	}
	c.g = args{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: cm, ldc: ldc, asm: c.asm}
	defer func() { c.g = args{} }() // drop references to the caller's slices
	if swapPays(m, n, k) {
		c.g = args{transA: !transB, transB: !transA, m: n, n: m, k: k, alpha: alpha, a: b, lda: ldb, b: a, ldb: lda, beta: beta, c: cm, ldc: ldc, asm: c.asm, transC: true}
		m, n = n, m
	}
	c.dispatch(m, n, k)
}

// dispatch runs the call in c.g (m×n C, depth k) on the Context's threads.
func (c *Context) dispatch(m, n, k int) {
	g := &c.g
	g.wide = g.asm && c.avx512 && hasAVX512

	t := c.threads
	if 2*float64(m)*float64(n)*float64(k) < minParallelFlops {
		t = 1
	}
	tm, tn := split(m, n, k, t)
	if tm*tn == 1 {
		c.ws[0].run(g, 0, m, 0, n)
		return
	}
	if c.pool == nil {
		c.startPool()
	}
	wg := &c.pool.wg
	mt, nt := (m+mr-1)/mr, (n+nr-1)/nr // tiles
	idx := 0
	for x := 0; x < tm; x++ {
		i0, i1 := mr*(mt*x/tm), min(m, mr*(mt*(x+1)/tm))
		for y := 0; y < tn; y++ {
			j0, j1 := nr*(nt*y/tn), min(n, nr*(nt*(y+1)/tn))
			c.jobs[idx] = job{g: g, ws: c.ws[idx], i0: i0, i1: i1, j0: j0, j1: j1, wg: wg}
			idx++
		}
	}
	wg.Add(idx - 1)
	for i := 1; i < idx; i++ {
		c.pool.ch <- &c.jobs[i]
	}
	j := &c.jobs[0]
	j.ws.run(j.g, j.i0, j.i1, j.j0, j.j1)
	wg.Wait()
	for i := range c.jobs[:idx] {
		c.jobs[i] = job{}
	}
}

// padded is the multiply work of an m×n C in whole mr×nr tiles.
func padded(m, n int) int {
	return (m + mr - 1) / mr * mr * ((n + nr - 1) / nr * nr)
}

// swapPays reports whether computing Cᵀ wastes enough less of the
// micro-tile (conv1's 32×9 weight gradient: 576 → 384 padded products) to
// pay for writing C transposed, which only the deep products do.
func swapPays(m, n, k int) bool {
	return k >= 32 && 5*padded(n, m) < 4*padded(m, n)
}

// split chooses a tm×tn grid of thread rectangles (tm·tn ≤ t) that minimises
// the largest per-thread cost: padded multiply work plus the packing each
// thread repeats for its rows and columns.
func split(m, n, k, t int) (tm, tn int) {
	mt, nt := (m+mr-1)/mr, (n+nr-1)/nr
	best := -1.0
	tm, tn = 1, 1
	for x := 1; x <= t && x <= mt; x++ {
		for y := 1; x*y <= t && y <= nt; y++ {
			rows := float64(mr * ((mt + x - 1) / x))
			cols := float64(nr * ((nt + y - 1) / y))
			cost := rows*cols*float64(k) + 8*(rows+cols)*float64(k)
			if best < 0 || cost < best {
				best, tm, tn = cost, x, y
			}
		}
	}
	return tm, tn
}

func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMat("A", a, ar, ac, lda)
	checkMat("B", b, br, bc, ldb)
	checkMat("C", c, m, n, ldc)
}

func checkMat(name string, s []float32, rows, cols, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("sgemm: ld%s=%d < max(1, %d columns)", name, ld, cols))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("sgemm: %s has %d elements, a %d×%d matrix with stride %d needs %d", name, len(s), rows, cols, ld, need))
	}
}

// scaleC sets C[i0:i1, j0:j1] *= beta (beta == 0 writes zeros).
func scaleC(c []float32, ldc, i0, i1, j0, j1 int, beta float32) {
	if beta == 1 {
		return
	}
	for i := i0; i < i1; i++ {
		row := c[i*ldc+j0 : i*ldc+j1]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// KSlice is the depth of the K slices a product of depth k is cut into:
// ⌈k/256⌉ slices of equal depth (the last shorter). Every element of C is
// summed from zero over each slice in increasing depth and the slice
// sums are added to C in order, for any thread count; fused kernels that
// must give the same bits slice the same way. KSlice(0) is 1.
func KSlice(k int) int {
	if k < 1 {
		return 1
	}
	s := (k + kc - 1) / kc
	return (k + s - 1) / s
}

// grow returns s with length n, reusing its storage when large enough.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// run computes the rectangle [i0,i1)×[j0,j1) of C sequentially.
func (w *workspace) run(g *args, i0, i1, j0, j1 int) {
	if g.beta != 0 && g.beta != 1 {
		if g.transC {
			scaleC(g.c, g.ldc, j0, j1, i0, i1, g.beta)
		} else {
			scaleC(g.c, g.ldc, i0, i1, j0, j1, g.beta)
		}
	}
	// Equal K slices of at most kc (a 288-deep product runs as 2×144, not
	// 256+32); the slicing depends on k only, never on the thread split.
	kstep := KSlice(g.k)
	for jc := j0; jc < j1; jc += nc {
		ncb := min(nc, j1-jc)
		ncp := (ncb + nr - 1) / nr * nr
		for pc := 0; pc < g.k; pc += kstep {
			kcb := min(kstep, g.k-pc)
			w.pb = grow(w.pb, ncp*kcb)
			packB(g, w.pb, pc, kcb, jc, ncb)
			accumulate := pc > 0 || g.beta != 0
			for ic := i0; ic < i1; ic += mc {
				mcb := min(mc, i1-ic)
				mcp := (mcb + mr - 1) / mr * mr
				w.pa = grow(w.pa, mcp*kcb)
				packA(g, w.pa, ic, mcb, pc, kcb)
				w.macro(g, kcb, ic, mcb, jc, ncb, accumulate)
			}
		}
	}
}

// macro multiplies the packed mcb×kcb A block by the packed kcb×ncb B block
// into C at (ic, jc). Without transC it is macroPacked on the freshly
// packed panels: with AVX-512 (g.wide) the 12×32 and 6×32 kernels, which
// give the same bits as the 6×16 kernel.
func (w *workspace) macro(g *args, kcb, ic, mcb, jc, ncb int, accumulate bool) {
	if !g.transC {
		w.macroPacked(g, g.wide, w.pb, kcb, 0, ic, mcb, jc, ncb, 0, accumulate)
		return
	}
	c, ldc := g.c, g.ldc
	for jr := 0; jr < ncb; jr += nr {
		nn := min(nr, ncb-jr)
		bp := w.pb[jr*kcb : (jr+nr)*kcb]
		for ir := 0; ir < mcb; ir += mr {
			mm := min(mr, mcb-ir)
			ap := w.pa[ir*kcb : (ir+mr)*kcb]
			t := w.tile[:]
			kernel(g.asm, kcb, ap, bp, t, nr, false)
			// C'[i][j] = C[j][i].
			for j := 0; j < nn; j++ {
				col := c[(jc+jr+j)*ldc+ic+ir:][:mm]
				for i := range col {
					if accumulate {
						col[i] += t[i*nr+j]
					} else {
						col[i] = t[i*nr+j]
					}
				}
			}
		}
	}
}

// storeTile writes (or, with accumulate, adds) the mm×nn corner of the
// tile t (row stride nr) into c (row stride ldc): the edge of a GEMM
// whose block is smaller than the micro-kernel.
func storeTile(c []float32, ldc int, t []float32, nr, mm, nn int, accumulate bool) {
	for i := 0; i < mm; i++ {
		row := c[i*ldc : i*ldc+nn]
		tr := t[i*nr : i*nr+nn]
		if accumulate {
			for j, v := range tr {
				row[j] += v
			}
		} else {
			copy(row, tr)
		}
	}
}
