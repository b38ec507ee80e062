package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

const guard = float32(-12345.5)

// refGemm is the textbook triple loop in float64.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			r := float64(alpha) * s
			if beta != 0 {
				r += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(r)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Float64()*2 - 1)
	}
	return s
}

// mat returns a rows×cols matrix with stride ld, the padding filled with
// guard values, plus guard cells before and after the storage.
type mat struct {
	buf      []float32 // guard | data | guard
	data     []float32
	rows, ld int
	cols     int
}

const pad = 37

func newMat(r *rand.Rand, rows, cols, ld int, fill float32, random bool) mat {
	n := 0
	if rows > 0 {
		n = (rows-1)*ld + cols
	}
	buf := make([]float32, n+2*pad)
	for i := range buf {
		buf[i] = guard
	}
	data := buf[pad : pad+n : pad+n]
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			if random {
				data[i*ld+j] = float32(r.Float64()*2 - 1)
			} else {
				data[i*ld+j] = fill
			}
		}
	}
	return mat{buf: buf, data: data, rows: rows, cols: cols, ld: ld}
}

// checkGuards fails if anything outside the rows×cols window changed.
func (m mat) checkGuards(t *testing.T, name string) {
	t.Helper()
	for i, v := range m.buf {
		o := i - pad
		inside := o >= 0 && o < len(m.data) && o%m.ld < m.cols
		if !inside && v != guard {
			t.Fatalf("%s: guard cell at offset %d overwritten with %v", name, o, v)
		}
	}
}

func tol(k int) float64 { return 1e-5 * float64(k+4) }

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	extra          int // added to every leading dimension
}

func (tc gemmCase) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%v,beta=%v,ldx+%d", tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.extra)
}

// run executes the case on ctx and compares with refGemm.
func (tc gemmCase) run(t *testing.T, ctx *Context, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	a := newMat(r, ar, ac, max(1, ac)+tc.extra, 0, true)
	b := newMat(r, br, bc, max(1, bc)+tc.extra, 0, true)
	var c mat
	if tc.beta == 0 {
		c = newMat(r, tc.m, tc.n, max(1, tc.n)+tc.extra, float32(math.NaN()), false)
	} else {
		c = newMat(r, tc.m, tc.n, max(1, tc.n)+tc.extra, 0, true)
	}
	want := append([]float32(nil), c.data...)
	refGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data, a.ld, b.data, b.ld, tc.beta, want, c.ld)
	ctx.Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data, a.ld, b.data, b.ld, tc.beta, c.data, c.ld)
	c.checkGuards(t, "C")
	a.checkGuards(t, "A")
	b.checkGuards(t, "B")
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			g, w := c.data[i*c.ld+j], want[i*c.ld+j]
			if math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > tol(tc.k)*(1+math.Abs(float64(w))) {
				t.Fatalf("%v: C[%d,%d] = %v, want %v", tc, i, j, g, w)
			}
		}
	}
}

// contexts returns the configurations every correctness test runs on:
// 1, 2 and 3 threads, with the assembly kernel (where built) and pure Go.
func contexts() map[string]*Context {
	out := map[string]*Context{}
	for _, th := range []int{1, 2, 3} {
		c := New(th)
		out[fmt.Sprintf("threads=%d,asm=%v", th, c.asm)] = c
		if c.asm {
			g := New(th)
			g.asm = false
			out[fmt.Sprintf("threads=%d,asm=false", th)] = g
		}
		if c.avx512 {
			g := New(th)
			g.avx512 = false
			out[fmt.Sprintf("threads=%d,avx512=false", th)] = g
		}
	}
	return out
}

func TestGemmSmallShapes(t *testing.T) {
	sizes := []int{1, 2, 5, 6, 7, 16, 17, 33}
	for name, ctx := range contexts() {
		t.Run(name, func(t *testing.T) {
			seed := uint64(1)
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, m := range sizes {
						for _, n := range sizes {
							for _, k := range []int{1, 7, 17} {
								seed++
								tc := gemmCase{tA, tB, m, n, k, 1, 0, int(seed % 3)}
								tc.run(t, ctx, seed)
							}
						}
					}
				}
			}
		})
	}
}

func TestGemmAlphaBeta(t *testing.T) {
	for name, ctx := range contexts() {
		t.Run(name, func(t *testing.T) {
			seed := uint64(100)
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 0}, {2, -1.5}, {0, 0}, {0, 0.5}, {1.25, 1}, {0.75, 0.25}} {
						for _, sh := range [][3]int{{7, 17, 33}, {100, 45, 300}, {13, 50, 600}} {
							seed++
							tc := gemmCase{tA, tB, sh[0], sh[1], sh[2], ab[0], ab[1], 5}
							tc.run(t, ctx, seed)
						}
					}
				}
			}
		})
	}
}

// TestGemmBlockEdges crosses the mc, kc and nc block boundaries.
func TestGemmBlockEdges(t *testing.T) {
	shapes := [][3]int{
		{mc + 1, nr + 1, kc + 1},
		{2*mc - 1, 3, 2*kc + 5},
		{5, nc + nr + 3, 9},
		{mr*3 + 5, nc - 1, kc - 1},
		{301, 47, 513},
		{64, 128, 3136 / 8},
		{32, 9, 2*kc + 77}, // computed transposed (swapPays)
		{64, 10, 128},      // computed transposed
		{9, 32, 600},
	}
	if !swapPays(32, 9, 2*kc+77) || !swapPays(64, 10, 128) || swapPays(9, 32, 600) {
		t.Fatal("swapPays does not select the transposed path for the shapes meant to test it")
	}
	for name, ctx := range contexts() {
		t.Run(name, func(t *testing.T) {
			seed := uint64(1000)
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					for _, sh := range shapes {
						seed++
						tc := gemmCase{tA, tB, sh[0], sh[1], sh[2], 1, float32(seed%2) * 0.5, int(seed % 4)}
						tc.run(t, ctx, seed)
					}
				}
			}
		})
	}
}

func TestGemmZeroSizes(t *testing.T) {
	ctx := New(2)
	for _, sh := range [][3]int{{0, 5, 3}, {5, 0, 3}, {0, 0, 0}, {4, 6, 0}} {
		for _, beta := range []float32{0, 2} {
			tc := gemmCase{false, true, sh[0], sh[1], sh[2], 1, beta, 1}
			tc.run(t, ctx, 9)
		}
	}
}

// TestDeterministic: the same inputs give bit-identical outputs across runs
// and thread counts.
func TestDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, sh := range []struct {
		transA, transB bool
		m, n, k        int
	}{
		{false, true, 397, 211, 700}, // split along M and N
		{true, false, 32, 9, 5000},   // computed transposed, split along N
	} {
		a, b := randSlice(r, sh.m*sh.k), randSlice(r, sh.k*sh.n)
		lda, ldb := sh.k, sh.n
		if sh.transA {
			lda = sh.m
		}
		if sh.transB {
			ldb = sh.k
		}
		var first []float32
		for _, th := range []int{1, 2, 3, 4, 1} {
			c := make([]float32, sh.m*sh.n)
			New(th).Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, b, ldb, 0, c, sh.n)
			if first == nil {
				first = c
				continue
			}
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%+v threads=%d: C[%d] = %v, first run %v", sh, th, i, c[i], first[i])
				}
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	m, n, k := 150, 60, 300
	a, b, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	for _, th := range []int{1, 2} {
		ctx := New(th)
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				lda, ldb := k, n
				if tA {
					lda = m
				}
				if tB {
					ldb = k
				}
				for _, nn := range []int{n, 9} { // 9: computed transposed
					f := func() { ctx.Gemm(tA, tB, m, nn, k, 1, a, lda, b, ldb, 0.5, c, nn) }
					f() // warm up: buffers, workers
					if allocs := testing.AllocsPerRun(3, f); allocs != 0 {
						t.Errorf("threads=%d tA=%v tB=%v n=%d: %v allocations per call", th, tA, tB, nn, allocs)
					}
				}
			}
		}
	}
}

func TestBadArgsPanic(t *testing.T) {
	ctx := New(1)
	s := make([]float32, 12)
	cases := []struct {
		name string
		f    func()
	}{
		{"negative m", func() { ctx.Gemm(false, false, -1, 2, 2, 1, s, 2, s, 2, 0, s, 2) }},
		{"short A", func() { ctx.Gemm(false, false, 4, 3, 4, 1, s, 4, s, 3, 0, s, 3) }},
		{"lda too small", func() { ctx.Gemm(false, false, 2, 2, 3, 1, s, 2, s, 2, 0, s, 2) }},
		{"short C", func() { ctx.Gemm(false, false, 3, 5, 1, 1, s, 1, s, 5, 0, s[:10], 5) }},
	}
	for _, tc := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}

// TestKernelTwins compares the selected micro-kernel with kernel6x16Go on
// random panels of many depths, both store modes and padded strides. On
// arm64 the NEON kernel must equal the Go twin bit for bit (the compiler
// fuses the twin's multiply-adds there, as FMLA does).
func TestKernelTwins(t *testing.T) {
	exact := runtime.GOARCH == "arm64" && hasKernelAsm
	t.Logf("assembly micro-kernel: %v, bit-exact check: %v", hasKernelAsm, exact)
	r := rand.New(rand.NewPCG(5, 5))
	for _, kcb := range []int{1, 2, 3, 4, 5, 8, 9, 31, 64, 255, 256} {
		for _, ldc := range []int{nr, nr + 3, 40} {
			for _, acc := range []bool{false, true} {
				a, b := randSlice(r, mr*kcb), randSlice(r, nr*kcb)
				base := randSlice(r, (mr-1)*ldc+nr+2*pad)
				for i := range base[:pad] {
					base[i] = guard
				}
				for i := len(base) - pad; i < len(base); i++ {
					base[i] = guard
				}
				got := append([]float32(nil), base...)
				want := append([]float32(nil), base...)
				kernel(true, kcb, a, b, got[pad:len(got)-pad], ldc, acc)
				kernel6x16Go(kcb, a, b, want[pad:len(want)-pad], ldc, acc)
				for i := range got {
					if exact && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d ldc=%d acc=%v: c[%d] = %v, Go twin %v (not bit-identical)", kcb, ldc, acc, i-pad, got[i], want[i])
					}
					if math.Abs(float64(got[i]-want[i])) > tol(kcb)*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("kc=%d ldc=%d acc=%v: c[%d] = %v, want %v", kcb, ldc, acc, i-pad, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestPackTwins checks the packing routines against their pure-Go twins
// (bit-exact: they only move values) with guard cells around dst.
func TestPackTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for _, kcb := range []int{1, 2, 3, 4, 5, 7, 8, 9, 63, 256} {
		for _, extra := range []int{0, 1, 5} {
			ld := kcb + extra
			for _, rows := range []int{mr, nr} {
				src := randSlice(r, (rows-1)*ld+kcb)
				got := make([]float32, rows*kcb+2*pad)
				for i := range got {
					got[i] = guard
				}
				want := append([]float32(nil), got...)
				if rows == mr {
					packRows6(true, kcb, src, ld, got[pad:])
					packRows6Go(kcb, src, ld, want[pad:])
				} else {
					packRows16(true, kcb, src, ld, got[pad:])
					packRows16Go(kcb, src, ld, want[pad:])
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("rows=%d kc=%d ld=%d: dst[%d] = %v, want %v", rows, kcb, ld, i-pad, got[i], want[i])
					}
				}
				// The reference loop itself.
				for p := 0; p < kcb; p++ {
					for c := 0; c < rows; c++ {
						if want[pad+p*rows+c] != src[c*ld+p] {
							t.Fatalf("rows=%d: reference pack wrong at p=%d c=%d", rows, p, c)
						}
					}
				}
			}
		}
	}
}

// TestCopyPanelTwins checks copyPanels6/16 against their pure-Go twins and
// the reference loop, bit-exact, with guard cells around dst.
func TestCopyPanelTwins(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, w := range []int{mr, nr} {
		for _, kcb := range []int{1, 2, 5, 64, 256} {
			for _, np := range []int{1, 2, 7} {
				for _, extra := range []int{0, 3} {
					ld := np*w + extra
					src := randSlice(r, (kcb-1)*ld+np*w)
					got := make([]float32, np*w*kcb+2*pad)
					for i := range got {
						got[i] = guard
					}
					want := append([]float32(nil), got...)
					if w == mr {
						copyPanels6(true, kcb, src, ld, np, got[pad:])
						copyPanels6Go(kcb, src, ld, np, want[pad:])
					} else {
						copyPanels16(true, kcb, src, ld, np, got[pad:])
						copyPanels16Go(kcb, src, ld, np, want[pad:])
					}
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("w=%d kc=%d np=%d ld=%d: dst[%d] = %v, want %v", w, kcb, np, ld, i-pad, got[i], want[i])
						}
					}
					for p := 0; p < kcb; p++ {
						for q := 0; q < np; q++ {
							for j := 0; j < w; j++ {
								if want[pad+q*w*kcb+p*w+j] != src[p*ld+q*w+j] {
									t.Fatalf("w=%d: reference copy wrong at p=%d q=%d j=%d", w, p, q, j)
								}
							}
						}
					}
				}
			}
		}
	}
}

// workers counts the goroutines running this package's worker loop.
func workers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "internal/sgemm.worker(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitNoWorkers collects garbage until no worker goroutine is left.
func waitNoWorkers(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for workers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d worker goroutines of unreachable Contexts still running: workers leak", workers())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWorkersExit: the worker goroutines of an unreachable Context end (its
// cleanup closes their channel), so per-call Contexts do not leak.
func TestWorkersExit(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	m, n, k := 200, 200, 200
	a, b, c := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	waitNoWorkers(t) // Contexts of earlier tests
	ctx := New(4)
	ctx.Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	// A goroutine that is running on another thread at the instant of
	// runtime.Stack shows no frames ("stack unavailable"), so on a busy
	// machine poll until the workers have parked.
	deadline := time.Now().Add(5 * time.Second)
	for w := workers(); w != 3; w = workers() {
		if time.Now().After(deadline) {
			t.Fatalf("New(4) runs %d worker goroutines after a parallel call, want 3", w)
		}
		time.Sleep(time.Millisecond)
	}
	runtime.KeepAlive(ctx)
	for i := 0; i < 20; i++ {
		New(4).Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	}
	waitNoWorkers(t)
}
