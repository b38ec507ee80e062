package sgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWideMacroBitIdentical checks that Gemm and GemmPatchesA/B with the
// AVX-512 12×32 and 6×32 kernels in the macro loop give exactly the bits of
// the AVX2 6×16 kernel (every element one FMA chain in increasing depth),
// over random shapes around the 12-row and 32-column tile edges, all four
// transpose cases, beta 0, 1 and 0.5, 1 and 2 threads, with guard cells.
func TestWideMacroBitIdentical(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU (or the noasm build): the wide kernels never run")
	}
	r := rand.New(rand.NewPCG(21, 5))
	dims := []int{1, 5, 6, 11, 12, 13, 23, 24, 31, 32, 33, 47, 64, 65, 150, 301}
	for it := 0; it < 300; it++ {
		tc := gemmCase{r.IntN(2) == 1, r.IntN(2) == 1, dims[r.IntN(len(dims))], dims[r.IntN(len(dims))], 1 + r.IntN(600), 1, []float32{0, 1, 0.5}[r.IntN(3)], r.IntN(3)}
		if it%7 == 0 {
			tc.alpha = -0.75
		}
		for _, th := range []int{1, 2} {
			wide, narrow := New(th), New(th)
			narrow.avx512 = false
			got := tc.exec(t, wide, uint64(it))
			want := tc.exec(t, narrow, uint64(it))
			sameBits(t, fmt.Sprintf("%v/threads=%d", tc, th), got, want)
		}
	}
	for _, geom := range patchGeoms {
		p := geom
		p.OH = (p.H+2*p.Pad-p.Kernel)/p.Stride + 1
		p.OW = (p.W+2*p.Pad-p.Kernel)/p.Stride + 1
		p.X = randSlice(r, p.N*p.H*p.W*p.C)
		rows, k := p.Rows(), p.Cols()
		for _, n := range []int{5, 32, 64, 70} {
			w, dy := randSlice(r, n*k), randSlice(r, rows*n)
			wide, narrow := New(1), New(1)
			narrow.avx512 = false
			got, want := make([]float32, max(rows, k)*n), make([]float32, max(rows, k)*n)
			wide.GemmPatchesA(&p, true, n, w, k, 0, got, n)
			narrow.GemmPatchesA(&p, true, n, w, k, 0, want, n)
			sameBits(t, fmt.Sprintf("%v/n=%d/forward", p, n), got[:rows*n], want[:rows*n])
			got, want = got[:n*k], want[:n*k]
			wide.GemmPatchesB(true, n, dy, n, &p, 0, got, k)
			narrow.GemmPatchesB(true, n, dy, n, &p, 0, want, k)
			sameBits(t, fmt.Sprintf("%v/n=%d/dW", p, n), got, want)
		}
	}
}

// exec runs the case on ctx with operands drawn from seed (the same for
// every ctx) and returns C's storage after checking the guard cells.
func (tc gemmCase) exec(t *testing.T, ctx *Context, seed uint64) []float32 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 11))
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	a := newMat(r, ar, ac, ac+tc.extra, 0, true)
	b := newMat(r, br, bc, bc+tc.extra, 0, true)
	c := newMat(r, tc.m, tc.n, tc.n+tc.extra, 0, true)
	ctx.Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a.data, a.ld, b.data, b.ld, tc.beta, c.data, c.ld)
	c.checkGuards(t, "C")
	return c.data
}
