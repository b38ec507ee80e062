package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelDW compares kernelDW12x32Asm and kernelDW4x32Asm with
// kernel12x32Asm and kernel6x32Asm (rows past 4 zero) on the same values
// packed, bit for bit, and with the reference loop kernelDWGo to
// rounding: odd depths, A row strides and B offsets, NaN in every cell the
// kernels must not read, ±Inf and ±0 among the values, guard values
// around C's tile, accumulate or not.
func TestKernelDW(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(15, 1))
	nan := float32(math.NaN())
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, rows := range []int{12, 4} {
		for _, kcb := range []int{1, 2, 7, 95, 229, 256} {
			for it := 0; it < 6; it++ {
				withSpecial := it%2 == 1
				draw := func() float32 {
					if withSpecial && r.IntN(40) == 0 {
						return special[r.IntN(len(special))]
					}
					return r.Float32()*2 - 1
				}
				lda := rows + r.IntN(60)
				a := make([]float32, (kcb-1)*lda+rows+r.IntN(5))
				for i := range a {
					a[i] = nan
				}
				pa := make([]float32, 2*mr*kcb)
				for d := range kcb {
					for i := range rows {
						v := draw()
						a[d*lda+i] = v
						pa[(i/mr)*mr*kcb+d*mr+i%mr] = v
					}
				}
				// B rows at increasing offsets with gaps (NaN between).
				offs := make([]int, kcb)
				o := r.IntN(7)
				for d := range offs {
					offs[d] = 4 * o
					o += dwCols32 + r.IntN(dwCols32)
				}
				b := make([]float32, o+dwCols32)
				for i := range b {
					b[i] = nan
				}
				b0, b1 := make([]float32, nr*kcb), make([]float32, nr*kcb)
				for d := range kcb {
					for j := range dwCols32 {
						v := draw()
						b[offs[d]/4+j] = v
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
					kernelDW12x32Asm(kcb, &a[0], lda, &b[0], &offs[0], &got[pad], ldc, acc)
					kernel12x32Asm(kcb, &pa[0], &b0[0], &b1[0], &want[pad], ldc, acc)
				} else {
					kernelDW4x32Asm(kcb, &a[0], lda, &b[0], &offs[0], &got[pad], ldc, acc)
					tile := make([]float32, mr*ldc)
					copy(tile, base[pad:pad+n])
					kernel6x32Asm(kcb, &pa[0], &b0[0], &b1[0], &tile[0], ldc, acc)
					copy(want[pad:pad+n], tile)
				}
				kernelDWGo(rows, kcb, a, lda, b, offs, ref[pad:], ldc, acc)
				name := fmt.Sprintf("rows=%d kc=%d lda=%d acc=%v special=%v", rows, kcb, lda, acc, withSpecial)
				matchKernel(t, name, "packed kernel", got, want, ref, pad)
			}
		}
	}
}

// TestDWInPlace checks that GemmPatchesB takes gemmDWInPlace where
// dwInPlace allows it and gives the packed path's bits (the AVX2 6×16
// kernel, which the wide kernels equal): channels 32, 64 and 96, strides
// 1 and 2, padding 0-2, output channels around the 12-row blocks, beta 0,
// 1 and 0.5, with guard values after C.
func TestDWInPlace(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(15, 2))
	geoms := []Patches{
		{N: 3, H: 14, W: 14, C: 32, Kernel: 3, Stride: 1, Pad: 1},
		{N: 2, H: 9, W: 7, C: 64, Kernel: 3, Stride: 2, Pad: 1},
		{N: 1, H: 5, W: 6, C: 96, Kernel: 2, Stride: 1, Pad: 0},
		{N: 2, H: 6, W: 5, C: 32, Kernel: 5, Stride: 1, Pad: 2},
	}
	for _, geom := range geoms {
		p := geom
		p.OH = (p.H+2*p.Pad-p.Kernel)/p.Stride + 1
		p.OW = (p.W+2*p.Pad-p.Kernel)/p.Stride + 1
		p.X = randSlice(r, p.N*p.H*p.W*p.C)
		k, n := p.Rows(), p.Cols()
		for _, m := range []int{4, 8, 12, 16, 20, 64} {
			for _, beta := range []float32{0, 1, 0.5} {
				dy := randSlice(r, k*m)
				fast, packed := New(1), New(1)
				packed.avx512 = false
				if !fast.dwInPlace(true, m, &p) || packed.dwInPlace(true, m, &p) {
					t.Fatalf("%v m=%d: dwInPlace not as expected", p, m)
				}
				c0 := randSlice(r, m*n+pad)
				for i := m * n; i < len(c0); i++ {
					c0[i] = guard
				}
				got := append([]float32(nil), c0...)
				want := append([]float32(nil), c0...)
				fast.GemmPatchesB(true, m, dy, m, &p, beta, got[:m*n], n)
				packed.GemmPatchesB(true, m, dy, m, &p, beta, want[:m*n], n)
				sameBits(t, fmt.Sprintf("%v/m=%d/beta=%v", p, m, beta), got, want)
			}
		}
	}
	if New(2).dwInPlace(true, 64, &geoms[0]) || New(1).dwInPlace(true, 6, &geoms[0]) || New(1).dwInPlace(false, 64, &geoms[0]) {
		t.Fatal("dwInPlace taken for 2 threads, m not a multiple of 4 or dY not transposed")
	}
}

// TestGemmTAInPlace checks that Gemm with op(A) = Aᵀ takes gemmTA where
// gemmTAInPlace allows it and gives the packed path's bits (the AVX2 6×16
// kernel): rows around the 12-row blocks, one to three column blocks,
// depths across K slices, padded strides, beta 0, 1 and 0.5, guard cells
// around C.
func TestGemmTAInPlace(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	matchInPlace(t, "gemmTAInPlace", rand.New(rand.NewPCG(15, 3)), true, []int{4, 8, 12, 16, 20, 64, 128}, []int{1, 5, 32, 300, 600},
		func(c *Context, m, n int) bool { return c.gemmTAInPlace(true, false, m, n, 1) })
	c := New(1)
	if c.gemmTAInPlace(false, false, 64, 64, 1) || c.gemmTAInPlace(true, true, 64, 64, 1) || c.gemmTAInPlace(true, false, 64, 64, 2) ||
		c.gemmTAInPlace(true, false, 10, 64, 1) || c.gemmTAInPlace(true, false, 64, 48, 1) || New(2).gemmTAInPlace(true, false, 64, 64, 1) {
		t.Fatal("gemmTAInPlace taken outside its conditions")
	}
}
