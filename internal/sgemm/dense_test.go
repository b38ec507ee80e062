package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelSB compares kernelSB12x32Asm and kernelSB4x32Asm with
// kernel12x32Asm and kernel6x32Asm (rows past 4 zero) on the same values
// packed, bit for bit, and with the reference loop kernelSBGo to
// rounding: odd depths and strides, NaN in every cell the kernels must
// not read, ±Inf and ±0 among the values, guard values around C's tile,
// accumulate or not.
func TestKernelSB(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(16, 1))
	nan := float32(math.NaN())
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, rows := range []int{12, 4} {
		for _, kcb := range []int{1, 2, 7, 95, 128, 242, 256} {
			for it := 0; it < 6; it++ {
				withSpecial := it%2 == 1
				draw := func() float32 {
					if withSpecial && r.IntN(40) == 0 {
						return special[r.IntN(len(special))]
					}
					return r.Float32()*2 - 1
				}
				lda := kcb + r.IntN(9)
				ldb := dwCols32 + r.IntN(40)
				a := make([]float32, (rows-1)*lda+kcb+r.IntN(3))
				b := make([]float32, (kcb-1)*ldb+dwCols32+r.IntN(3))
				for i := range a {
					a[i] = nan
				}
				for i := range b {
					b[i] = nan
				}
				pa := make([]float32, 2*mr*kcb)
				b0, b1 := make([]float32, nr*kcb), make([]float32, nr*kcb)
				for d := range kcb {
					for i := range rows {
						v := draw()
						a[i*lda+d] = v
						pa[(i/mr)*mr*kcb+d*mr+i%mr] = v
					}
					for j := range dwCols32 {
						v := draw()
						b[d*ldb+j] = v
						if j < nr {
							b0[d*nr+j] = v
						} else {
							b1[d*nr+j-nr] = v
						}
					}
				}
				ldc := dwCols32 + r.IntN(9)
				n := (rows-1)*ldc + dwCols32
				base := randSlice(r, n+2*pad)
				for i := range base[:pad] {
					base[i], base[len(base)-1-i] = guard, guard
				}
				acc := r.IntN(2) == 0
				got := append([]float32(nil), base...)
				want := append([]float32(nil), base...)
				ref := append([]float32(nil), base...)
				if rows == 12 {
					kernelSB12x32Asm(kcb, &a[0], lda, &b[0], ldb, &got[pad], ldc, acc)
					kernel12x32Asm(kcb, &pa[0], &b0[0], &b1[0], &want[pad], ldc, acc)
				} else {
					kernelSB4x32Asm(kcb, &a[0], lda, &b[0], ldb, &got[pad], ldc, acc)
					tile := make([]float32, mr*ldc)
					copy(tile, base[pad:pad+n])
					kernel6x32Asm(kcb, &pa[0], &b0[0], &b1[0], &tile[0], ldc, acc)
					copy(want[pad:pad+n], tile)
				}
				kernelSBGo(rows, kcb, a, lda, b, ldb, ref[pad:], ldc, acc)
				name := fmt.Sprintf("rows=%d kc=%d lda=%d ldb=%d acc=%v special=%v", rows, kcb, lda, ldb, acc, withSpecial)
				matchKernel(t, name, "packed kernel", got, want, ref, pad)
			}
		}
	}
}

// TestGemmNNInPlace checks that Gemm with op(A) = A, op(B) = B takes
// gemmNN where gemmNNInPlace allows it and gives the packed path's bits
// (the AVX2 6×16 kernel): rows around the 12-row blocks, one to three
// column blocks, depths across K slices, padded strides, beta 0, 1 and
// 0.5, guard cells around C.
func TestGemmNNInPlace(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	matchInPlace(t, "gemmNNInPlace", rand.New(rand.NewPCG(16, 2)), false, []int{4, 8, 12, 16, 32, 36}, []int{1, 5, 128, 300, 600},
		func(c *Context, m, n int) bool { return c.gemmNNInPlace(false, false, m, n, 1) })
	c := New(1)
	if c.gemmNNInPlace(true, false, 64, 64, 1) || c.gemmNNInPlace(false, true, 64, 64, 1) || c.gemmNNInPlace(false, false, 64, 64, 2) ||
		c.gemmNNInPlace(false, false, 10, 64, 1) || c.gemmNNInPlace(false, false, 64, 48, 1) || New(2).gemmNNInPlace(false, false, 64, 64, 1) {
		t.Fatal("gemmNNInPlace taken outside its conditions")
	}
}

// matchInPlace runs Gemm(transA, false, …) for every m in ms, n in 32,
// 64 and 96 and k in ks (alpha 1, beta 0, 1 or 0.5, padded strides
// drawn from r) on a one-thread AVX-512 Context, where the in-place path
// (name: taken reports it) must be taken, and on one without AVX-512,
// where it must not, and checks that both give the same bits.
func matchInPlace(t *testing.T, name string, r *rand.Rand, transA bool, ms, ks []int, taken func(c *Context, m, n int) bool) {
	t.Helper()
	it := 0
	for _, m := range ms {
		for _, n := range []int{32, 64, 96} {
			for _, k := range ks {
				it++
				tc := gemmCase{transA, false, m, n, k, 1, []float32{0, 1, 0.5}[r.IntN(3)], r.IntN(3)}
				fast, packed := New(1), New(1)
				packed.avx512 = false
				if !taken(fast, m, n) || taken(packed, m, n) {
					t.Fatalf("%v: %s not as expected", tc, name)
				}
				got := tc.exec(t, fast, uint64(it))
				want := tc.exec(t, packed, uint64(it))
				sameBits(t, fmt.Sprint(tc), got, want)
			}
		}
	}
}

// TestGemmABt checks GemmABt against Gemm(false, true, …) bit for bit on
// the AVX-512 Context (Cᵀ computed in place) and on one without it (the
// fallback): rows around the 16-column panels, outputs around the
// 12-row blocks, depths across K slices, padded strides, guard values
// after C; and that steady-state calls allocate nothing.
func TestGemmABt(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 3))
	for _, m := range []int{1, 3, 16, 17, 32, 33, 64} {
		for _, n := range []int{1, 10, 12, 13, 24, 128} {
			for _, k := range []int{1, 9, 242, 600, 3136} {
				lda, ldb, ldc := k+r.IntN(3), k+r.IntN(3), n+r.IntN(3)
				a, b := randSlice(r, (m-1)*lda+k), randSlice(r, (n-1)*ldb+k)
				want := make([]float32, (m-1)*ldc+n+pad)
				for i := range want {
					want[i] = guard
				}
				got := append([]float32(nil), want...)
				ref := New(1)
				ref.avx512 = false
				ref.Gemm(false, true, m, n, k, 1, a, lda, b, ldb, 0, want, ldc)
				for _, wide := range []bool{true, false} {
					c := New(1)
					c.avx512 = c.avx512 && wide
					for i := range got {
						got[i] = guard
					}
					c.GemmABt(m, n, k, a, lda, b, ldb, got, ldc)
					name := fmt.Sprintf("m=%d n=%d k=%d wide=%v", m, n, k, wide)
					for i := range want {
						if i%ldc >= n && i < (m-1)*ldc+n && got[i] != guard || i >= (m-1)*ldc+n && got[i] != guard {
							t.Fatalf("%s: guard %d = %v", name, i, got[i])
						}
					}
					sameBits(t, name, got, want)
				}
			}
		}
	}
	c := New(1)
	a, b, out := randSlice(r, 32*3136), randSlice(r, 128*3136), make([]float32, 32*128)
	c.GemmABt(32, 128, 3136, a, 3136, b, 3136, out, 128)
	if allocs := testing.AllocsPerRun(5, func() { c.GemmABt(32, 128, 3136, a, 3136, b, 3136, out, 128) }); allocs != 0 {
		t.Fatalf("GemmABt allocates %v times per call, want 0", allocs)
	}
}
