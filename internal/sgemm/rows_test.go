package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernel12x32Seg compares kernel12x32SegAsm with kernel12x32Asm on the
// same twelve rows gathered segment by segment (bit for bit), over depths,
// first-segment lengths, segment lengths and jumps, with NaN in the
// skipped cells (a read there would poison the sums) and guard values
// around C's tile.
func TestKernel12x32Seg(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(14, 35))
	nan := float32(math.NaN())
	for _, kcb := range []int{1, 2, 7, 96, 144, 192, 256} {
		for _, seg := range []int{1, 3, 96, 192, 300} {
			for _, first := range []int{1, seg / 2, seg} {
				if first < 1 {
					continue
				}
				gap := 1 + r.IntN(40)
				lda := 1 + r.IntN(70)
				// The depth d of row i lies at i·lda + pos(d).
				pos := make([]int, kcb)
				o, left := 0, first
				for d := range kcb {
					pos[d] = o
					o++
					if left--; left == 0 {
						o += gap
						left = seg
					}
				}
				size := 11*lda + pos[kcb-1] + 1
				a := make([]float32, size)
				for i := range a {
					a[i] = nan
				}
				pa := make([]float32, 2*mr*kcb)
				for i := range 2 * mr {
					for d := range kcb {
						v := r.Float32()*2 - 1
						a[i*lda+pos[d]] = v
						pa[(i/mr)*mr*kcb+d*mr+i%mr] = v
					}
				}
				// Rows overlap when lda is small: read back what the
				// last write left.
				for i := range 2 * mr {
					for d := range kcb {
						pa[(i/mr)*mr*kcb+d*mr+i%mr] = a[i*lda+pos[d]]
					}
				}
				b0, b1 := randSlice(r, nr*kcb), randSlice(r, nr*kcb)
				ldc := 2*nr + r.IntN(9)
				n := (2*mr-1)*ldc + 2*nr
				base := randSlice(r, n+2*pad)
				for i := range base[:pad] {
					base[i], base[len(base)-1-i] = guard, guard
				}
				acc := r.IntN(2) == 0
				got := append([]float32(nil), base...)
				want := append([]float32(nil), base...)
				kernel12x32SegAsm(kcb, &a[0], lda, first, seg, gap, &b0[0], &b1[0], &got[pad], ldc, acc)
				kernel12x32Asm(kcb, &pa[0], &b0[0], &b1[0], &want[pad], ldc, acc)
				name := fmt.Sprintf("kc=%d seg=%d first=%d gap=%d lda=%d acc=%v", kcb, seg, first, gap, lda, acc)
				for i := range got {
					g, w := got[i], want[i]
					if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
						t.Fatalf("%s: c[%d] = %v, want %v", name, i-pad, g, w)
					}
				}
			}
		}
	}
}

// TestKernel14x32Seg compares kernel14x32SegAsm with kernel12x32Asm (rows
// 0-11) and kernel6x32Asm (rows 12-13, the rest of the micro-panel zero)
// on the same rows gathered segment by segment, bit for bit, and with its
// reference loop kernelSegGo to rounding: depths, first-segment lengths,
// segment lengths and jumps, NaN in the skipped cells, ±Inf and ±0 among
// the values, guard values around C's tile, accumulate or not.
func TestKernel14x32Seg(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(14, 36))
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	special := []float32{0, float32(math.Copysign(0, -1)), inf, -inf}
	for _, kcb := range []int{1, 2, 7, 95, 144, 192, 256} {
		for _, seg := range []int{1, 3, 96, 192, 300} {
			for _, first := range []int{1, seg / 2, seg} {
				if first < 1 {
					continue
				}
				for _, withSpecial := range []bool{false, true} {
					gap := r.IntN(40)
					lda := 1 + r.IntN(70)
					pos := make([]int, kcb)
					o, left := 0, first
					for d := range kcb {
						pos[d] = o
						o++
						if left--; left == 0 {
							o += gap
							left = seg
						}
					}
					a := make([]float32, 13*lda+pos[kcb-1]+1)
					for i := range a {
						a[i] = nan
					}
					draw := func() float32 {
						if withSpecial && r.IntN(50) == 0 {
							return special[r.IntN(len(special))]
						}
						return r.Float32()*2 - 1
					}
					for i := range rows14 {
						for d := range kcb {
							a[i*lda+pos[d]] = draw()
						}
					}
					// Rows overlap when lda is small: gather what the last
					// write left, into three 6-row micro-panels.
					pa := make([]float32, 3*mr*kcb)
					for i := range rows14 {
						for d := range kcb {
							pa[(i/mr)*mr*kcb+d*mr+i%mr] = a[i*lda+pos[d]]
						}
					}
					b0, b1 := make([]float32, nr*kcb), make([]float32, nr*kcb)
					for i := range b0 {
						b0[i], b1[i] = draw(), draw()
					}
					ldc := 2*nr + r.IntN(9)
					n := (rows14-1)*ldc + 2*nr
					base := randSlice(r, n+2*pad)
					for i := range base[:pad] {
						base[i], base[len(base)-1-i] = guard, guard
					}
					acc := r.IntN(2) == 0
					got := append([]float32(nil), base...)
					want := append([]float32(nil), base...)
					ref := append([]float32(nil), base...)
					kernel14x32SegAsm(kcb, &a[0], lda, first, seg, gap, &b0[0], &b1[0], &got[pad], ldc, acc)
					kernel12x32Asm(kcb, &pa[0], &b0[0], &b1[0], &want[pad], ldc, acc)
					tail := make([]float32, mr*ldc)
					copy(tail, base[pad+2*mr*ldc:pad+n])
					kernel6x32Asm(kcb, &pa[2*mr*kcb], &b0[0], &b1[0], &tail[0], ldc, acc)
					copy(want[pad+2*mr*ldc:pad+n], tail)
					kernelSegGo(rows14, kcb, a, lda, first, seg, gap, b0, b1, ref[pad:], ldc, acc)
					name := fmt.Sprintf("kc=%d seg=%d first=%d gap=%d lda=%d acc=%v special=%v", kcb, seg, first, gap, lda, acc, withSpecial)
					matchKernel(t, name, "kernel12x32Asm", got, want, ref, pad)
				}
			}
		}
	}
}
