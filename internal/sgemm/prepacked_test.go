package sgemm

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmPacked compares GemmPacked with the float64 reference on odd
// shapes (one row, block edges, several K slices), column ranges, strides
// with guard cells, assembly and pure Go; the result must equal Gemm bit
// for bit (same packing and slicing; the one-row kernels keep the 6×16
// kernels' per-element order), so batch size never changes an answer.
func TestGemmPacked(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 3))
	shapes := [][3]int{{1, 1, 1}, {1, 16, 9}, {1, 128, 3136}, {2, 10, 128}, {5, 17, 7}, {6, 16, 256}, {7, 33, 257},
		{28, 64, 288}, {56, 32, 9}, {145, 40, 513}, {300, 5, 3}}
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, transB := range []bool{false, true} {
			for name, ctx := range map[string]*Context{"asm": New(1), "avx2": func() *Context { c := New(1); c.avx512 = false; return c }(), "go": func() *Context { c := New(1); c.asm = false; return c }()} {
				br, bc := k, n
				if transB {
					br, bc = n, k
				}
				a := newMat(r, m, k, k+3, 0, true)
				b := newMat(r, br, bc, bc+1, 0, true)
				pb := PackB(transB, n, k, b.data, b.ld)
				want := make([]float32, m*n)
				refGemm(false, transB, m, n, k, 1, a.data, a.ld, b.data, b.ld, 0, want, n)
				// Whole C, then two column ranges split at a panel boundary.
				splits := [][2]int{{0, n}}
				if n > nr {
					splits = [][2]int{{0, nr}, {nr, n}}
				}
				c := newMat(r, m, n, n+2, float32(math.NaN()), false)
				for _, s := range splits {
					ctx.GemmPacked(m, a.data, a.ld, pb, s[0], s[1], c.data, c.ld)
				}
				c.checkGuards(t, "C")
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						g, w := c.data[i*c.ld+j], want[i*n+j]
						if math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > tol(k)*(1+math.Abs(float64(w))) {
							t.Fatalf("%s m=%d n=%d k=%d tB=%v: C[%d,%d] = %v, want %v", name, m, n, k, transB, i, j, g, w)
						}
					}
				}
				g := make([]float32, m*n)
				ctx.Gemm(false, transB, m, n, k, 1, a.data, a.ld, b.data, b.ld, 0, g, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						if g[i*n+j] != c.data[i*c.ld+j] {
							t.Fatalf("%s m=%d n=%d k=%d: C[%d,%d] = %v, Gemm %v", name, m, n, k, i, j, c.data[i*c.ld+j], g[i*n+j])
						}
					}
				}
			}
		}
	}
}

func TestKernel1Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, kcb := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 31, 255, 256} {
		for _, acc := range []bool{false, true} {
			a, b := randSlice(r, kcb), randSlice(r, nr*kcb)
			base := randSlice(r, nr+2*pad)
			for i := range base[:pad] {
				base[i], base[len(base)-1-i] = guard, guard
			}
			got := append([]float32(nil), base...)
			want := append([]float32(nil), base...)
			kernel1(true, kcb, a, b, got[pad:pad+nr], acc)
			kernel1x16Go(kcb, a, b, want[pad:pad+nr], acc)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > tol(kcb)*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("kc=%d acc=%v: c[%d] = %v, want %v", kcb, acc, i-pad, got[i], want[i])
				}
			}
			// Four panels at once equal four one-panel calls bit for bit.
			b4 := randSlice(r, 4*nr*kcb)
			base4 := randSlice(r, 4*nr+2*pad)
			for i := range base4[:pad] {
				base4[i], base4[len(base4)-1-i] = guard, guard
			}
			got4 := append([]float32(nil), base4...)
			want4 := append([]float32(nil), base4...)
			kernel1x64(true, kcb, a, b4, got4[pad:pad+4*nr], acc)
			for q := range 4 {
				kernel1(true, kcb, a, b4[q*nr*kcb:], want4[pad+q*nr:pad+(q+1)*nr], acc)
			}
			for i := range got4 {
				if got4[i] != want4[i] {
					t.Fatalf("x64 kc=%d acc=%v: c[%d] = %v, want %v", kcb, acc, i-pad, got4[i], want4[i])
				}
			}
			if !hasAVX512 {
				continue
			}
			// Eight panels (AVX-512) equal eight one-panel calls bit for bit.
			b8 := randSlice(r, 8*nr*kcb)
			base8 := randSlice(r, 8*nr+2*pad)
			for i := range base8[:pad] {
				base8[i], base8[len(base8)-1-i] = guard, guard
			}
			got8 := append([]float32(nil), base8...)
			want8 := append([]float32(nil), base8...)
			kernel1x128Asm(kcb, &a[0], &b8[0], &got8[pad], acc)
			for q := range 8 {
				kernel1(true, kcb, a, b8[q*nr*kcb:], want8[pad+q*nr:pad+(q+1)*nr], acc)
			}
			for i := range got8 {
				if got8[i] != want8[i] {
					t.Fatalf("x128 kc=%d acc=%v: c[%d] = %v, want %v", kcb, acc, i-pad, got8[i], want8[i])
				}
			}
		}
	}
}

func TestGemmPackedNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := randSlice(r, 28*288), randSlice(r, 64*288)
	pb := PackB(true, 64, 288, b, 288)
	c := make([]float32, 28*64)
	ctx := New(1)
	ctx.GemmPacked(28, a, 288, pb, 0, 64, c, 64)
	if n := testing.AllocsPerRun(10, func() { ctx.GemmPacked(28, a, 288, pb, 0, 64, c, 64) }); n != 0 {
		t.Fatalf("GemmPacked allocates %v times per call", n)
	}
}

func TestGemmPackedBadArgs(t *testing.T) {
	pb := PackB(false, 20, 3, make([]float32, 60), 20)
	for name, f := range map[string]func(){
		"j0 not a panel boundary": func() { New(1).GemmPacked(1, make([]float32, 3), 3, pb, 1, 20, make([]float32, 20), 20) },
		"j1 past n":               func() { New(1).GemmPacked(1, make([]float32, 3), 3, pb, 0, 21, make([]float32, 21), 21) },
		"short A":                 func() { New(1).GemmPacked(2, make([]float32, 3), 3, pb, 0, 20, make([]float32, 40), 20) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestKernel6x32 checks the AVX-512 kernel against two AVX2 kernel calls,
// bit for bit, with guard cells around the tile.
func TestKernel6x32(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(4, 4))
	for _, kcb := range []int{1, 2, 3, 7, 9, 144, 256} {
		for _, ldc := range []int{2 * nr, 2*nr + 5} {
			for _, acc := range []bool{false, true} {
				a, b0, b1 := randSlice(r, mr*kcb), randSlice(r, nr*kcb), randSlice(r, nr*kcb)
				n := (mr-1)*ldc + 2*nr
				base := randSlice(r, n+2*pad)
				for i := range base[:pad] {
					base[i], base[len(base)-1-i] = guard, guard
				}
				for i := 0; i < n; i++ {
					if i%ldc >= 2*nr {
						base[pad+i] = guard
					}
				}
				got := append([]float32(nil), base...)
				want := append([]float32(nil), base...)
				kernel6x32Asm(kcb, &a[0], &b0[0], &b1[0], &got[pad], ldc, acc)
				kernel(true, kcb, a, b0, want[pad:pad+n], ldc, acc)
				kernel(true, kcb, a, b1, want[pad+nr:pad+n], ldc, acc)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d ldc=%d acc=%v: c[%d] = %v, want %v", kcb, ldc, acc, i-pad, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestKernel12x32 checks the AVX-512 12-row kernel against two 6×32 calls
// on its two A micro-panels, bit for bit, and against the pure-Go 6×16
// twin within rounding, with guard cells around the tile.
func TestKernel12x32(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(12, 32))
	for _, kcb := range []int{1, 2, 3, 7, 9, 144, 256} {
		for _, ldc := range []int{2 * nr, 2*nr + 5, 3*nr + 1} {
			for _, acc := range []bool{false, true} {
				a, b0, b1 := randSlice(r, 2*mr*kcb), randSlice(r, nr*kcb), randSlice(r, nr*kcb)
				n := (2*mr-1)*ldc + 2*nr
				base := randSlice(r, n+2*pad)
				for i := range base[:pad] {
					base[i], base[len(base)-1-i] = guard, guard
				}
				for i := 0; i < n; i++ {
					if i%ldc >= 2*nr {
						base[pad+i] = guard
					}
				}
				got := append([]float32(nil), base...)
				want := append([]float32(nil), base...)
				goTwin := append([]float32(nil), base...)
				kernel12x32Asm(kcb, &a[0], &b0[0], &b1[0], &got[pad], ldc, acc)
				kernel6x32Asm(kcb, &a[0], &b0[0], &b1[0], &want[pad], ldc, acc)
				kernel6x32Asm(kcb, &a[mr*kcb], &b0[0], &b1[0], &want[pad+mr*ldc], ldc, acc)
				for h := range 2 { // the pure-Go twin: four 6×16 tiles
					for q, bq := range [][]float32{b0, b1} {
						o := pad + h*mr*ldc + q*nr
						kernel6x16Go(kcb, a[h*mr*kcb:], bq, goTwin[o:o+(mr-1)*ldc+nr], ldc, acc)
					}
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d ldc=%d acc=%v: c[%d] = %v, want %v", kcb, ldc, acc, i-pad, got[i], want[i])
					}
					if math.Abs(float64(got[i]-goTwin[i])) > tol(kcb)*(1+math.Abs(float64(goTwin[i]))) {
						t.Fatalf("kc=%d ldc=%d acc=%v: c[%d] = %v, Go twin %v", kcb, ldc, acc, i-pad, got[i], goTwin[i])
					}
				}
			}
		}
	}
}

// TestKernel12x32Strided checks the in-place-A 12×32 kernel against the
// packed one on the same rows (packed with packRows6Go), bit for bit, for
// odd depths and row strides, with guard cells around the tile.
func TestKernel12x32Strided(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU or build")
	}
	r := rand.New(rand.NewPCG(12, 33))
	for _, kcb := range []int{1, 2, 3, 7, 9, 144, 256} {
		for _, lda := range []int{kcb, kcb + 1, kcb + 17} {
			for _, acc := range []bool{false, true} {
				a := randSlice(r, 11*lda+kcb)
				pa := make([]float32, 2*mr*kcb)
				packRows6Go(kcb, a, lda, pa)
				packRows6Go(kcb, a[mr*lda:], lda, pa[mr*kcb:])
				b0, b1 := randSlice(r, nr*kcb), randSlice(r, nr*kcb)
				ldc := 2*nr + r.IntN(9)
				n := (2*mr-1)*ldc + 2*nr
				base := randSlice(r, n+2*pad)
				for i := range base[:pad] {
					base[i], base[len(base)-1-i] = guard, guard
				}
				for i := 0; i < n; i++ {
					if i%ldc >= 2*nr {
						base[pad+i] = guard
					}
				}
				got := append([]float32(nil), base...)
				want := append([]float32(nil), base...)
				kernel12x32StridedAsm(kcb, &a[0], lda, &b0[0], &b1[0], &got[pad], ldc, acc)
				kernel12x32Asm(kcb, &pa[0], &b0[0], &b1[0], &want[pad], ldc, acc)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d lda=%d ldc=%d acc=%v: c[%d] = %v, want %v", kcb, lda, ldc, acc, i-pad, got[i], want[i])
					}
				}
			}
		}
	}
}
