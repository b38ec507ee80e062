package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// dwGeoms are one-channel 3×3 stride-1 convolutions for the direct weight
// gradient: conv1 of the seed CNN (several K slices), no padding, wide
// padding, odd sizes, one image row shorter than a K slice.
var dwGeoms = []Patches{
	{N: 3, H: 28, W: 28, C: 1, Kernel: 3, Stride: 1, Pad: 1},
	{N: 2, H: 5, W: 6, C: 1, Kernel: 3, Stride: 1, Pad: 0},
	{N: 1, H: 4, W: 3, C: 1, Kernel: 3, Stride: 1, Pad: 2},
	{N: 5, H: 17, W: 9, C: 1, Kernel: 3, Stride: 1, Pad: 1},
	{N: 1, H: 3, W: 3, C: 1, Kernel: 3, Stride: 1, Pad: 0},
}

// TestDirectMatchesGemm checks that GemmPatchesB and GemmPatchesA take
// the direct paths for one-channel 3×3 convolutions and return Gemm's
// result on the stored im2col matrix bit for bit (assembly and Go
// kernels, 1 and 2 threads; the weight gradient with beta 0, 1 and 0.5),
// with NaN, ±Inf and ±0 in the input, dY and the weights.
func TestDirectMatchesGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	for _, geom := range dwGeoms {
		p := geom
		p.OH, p.OW = p.H+2*p.Pad-2, p.W+2*p.Pad-2
		for _, special := range []bool{false, true} {
			p.X = randSlice(r, p.N*p.H*p.W)
			rows := p.Rows()
			for _, m := range []int{32, 64} {
				dy := randSlice(r, rows*(m+3)) // row stride m+3 (lda > m)
				if special {
					specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
					for i := range 6 {
						p.X[r.IntN(len(p.X))] = specials[i%len(specials)]
						dy[r.IntN(len(dy))] = specials[(i+2)%len(specials)]
					}
				}
				col := im2colRef(&p)
				g0 := randSlice(r, m*11)
				for _, threads := range []int{1, 2} {
					for _, asm := range []bool{true, false} {
						ctx := New(threads)
						ctx.asm = asm && ctx.asm
						if !ctx.directDW(true, m, &p) {
							if !asm || hasAVX512 {
								t.Fatalf("%v: direct path not taken (asm=%v)", p, asm)
							}
							continue
						}
						if !ctx.directFwd(&p, true, m, 0) {
							t.Fatalf("%v: direct forward not taken (asm=%v)", p, asm)
						}
						// Forward: Y = P·Wᵀ, W m×9 with row stride 10, Y
						// with row stride m+2 (the last two columns stay).
						wts := randSlice(r, m*10)
						if special {
							wts[r.IntN(len(wts))] = float32(math.Inf(-1))
						}
						fwant := randSlice(r, rows*(m+2))
						fgot := append([]float32(nil), fwant...)
						ctx.Gemm(false, true, rows, m, 9, 1, col, 9, wts, 10, 0, fwant, m+2)
						ctx.GemmPatchesA(&p, true, m, wts, 10, 0, fgot, m+2)
						sameBitsNaN(t, fmt.Sprintf("%v/special=%v/m=%d/threads=%d/asm=%v/forward", p, special, m, threads, asm), fgot, fwant)
						for _, beta := range []float32{0, 1, 0.5} {
							name := fmt.Sprintf("%v/special=%v/m=%d/threads=%d/asm=%v/beta=%v", p, special, m, threads, asm, beta)
							want := append([]float32(nil), g0...)
							got := append([]float32(nil), g0...)
							// C has row stride 11: columns 9, 10 must stay.
							ctx.Gemm(true, false, m, 9, rows, 1, dy, m+3, col, 9, beta, want[:(m-1)*11+9], 11)
							ctx.GemmPatchesB(true, m, dy, m+3, &p, beta, got[:(m-1)*11+9], 11)
							sameBitsNaN(t, name, got, want)
						}
					}
				}
			}
		}
	}
}

// matchKernel checks a kernel's tile got (guard cells included; the tile
// starts at pad) against want, another kernel's bits (what names it), and
// against ref, the reference loop's, to rounding. A NaN matches any NaN.
func matchKernel(t *testing.T, name, what string, got, want, ref []float32, pad int) {
	t.Helper()
	for i := range got {
		g, w, f := got[i], want[i], ref[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Fatalf("%s: c[%d] = %v, want %v (%s)", name, i-pad, g, w, what)
		}
		if d := math.Abs(float64(g - f)); !(d <= 1e-4*(1+math.Abs(float64(f)))) && !(g != g && f != f) && g != f {
			t.Fatalf("%s: c[%d] = %v, reference loop %v", name, i-pad, g, f)
		}
	}
}

// sameBitsNaN is sameBits that accepts any NaN for a NaN.
func sameBitsNaN(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		g, w := got[i], want[i]
		if g != g && w != w {
			continue
		}
		if math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("%s: element %d = %v, want %v (bit-identical)", name, i, g, w)
		}
	}
}

// TestDWConv3x3Twins compares dwConv3x3Go and, where the CPU has it,
// dwConv3x3Asm with a float64 reference for 1..40 positions: equal to
// rounding, NaN and ±Inf where the reference has them; the window and dY
// cells the kernel must not read hold NaN (a read would poison the sums).
func TestDWConv3x3Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 23))
	nan := float32(math.NaN())
	kernels := map[string]func(n int, x []float32, ldx int, dy []float32, lddy int, acc *[dwTaps * dwCols]float32){
		"go": dwConv3x3Go,
	}
	if hasAVX512 && hasDWAsm {
		kernels["asm"] = func(n int, x []float32, ldx int, dy []float32, lddy int, acc *[dwTaps * dwCols]float32) {
			dwConv3x3(true, n, x, ldx, dy, lddy, acc)
		}
	}
	for n := 1; n <= 40; n++ {
		for _, special := range []bool{false, true} {
			ldx, lddy := n+2+r.IntN(3), dwCols+r.IntN(5)
			x := make([]float32, 3*ldx)
			for i := range x {
				x[i] = nan
			}
			for ky := range 3 {
				copy(x[ky*ldx:ky*ldx+n+2], randSlice(r, n+2))
			}
			dy := make([]float32, (n-1)*lddy+dwCols+4)
			for i := range dy {
				dy[i] = nan
			}
			for q := range n {
				copy(dy[q*lddy:q*lddy+dwCols], randSlice(r, dwCols))
			}
			if special {
				x[r.IntN(n+2)] = float32(math.Inf(1))
				dy[r.IntN(n)*lddy+r.IntN(dwCols)] = float32(math.Inf(-1))
				x[ldx+r.IntN(n+2)] = nan
				x[2*ldx+r.IntN(n+2)] = float32(math.Copysign(0, -1))
			}
			start := randSlice(r, dwTaps*dwCols)
			var ref [dwTaps * dwCols]float64
			for i := range ref {
				ref[i] = float64(start[i])
			}
			for q := range n {
				for t := range dwTaps {
					v := float64(x[(t/3)*ldx+q+t%3])
					for j := range dwCols {
						ref[t*dwCols+j] += v * float64(dy[q*lddy+j])
					}
				}
			}
			for name, kern := range kernels {
				var got [dwTaps * dwCols]float32
				copy(got[:], start)
				kern(n, x[:2*ldx+n+2], ldx, dy[:(n-1)*lddy+dwCols], lddy, &got)
				for i, w := range ref {
					g := float64(got[i])
					if math.IsNaN(w) || math.IsInf(w, 0) {
						if !(math.IsNaN(g) && math.IsNaN(w)) && g != w {
							t.Fatalf("%s: n=%d special=%v: acc[%d] = %v, want %v", name, n, special, i, g, w)
						}
						continue
					}
					if math.IsNaN(g) || math.Abs(g-w) > tol(n)*(1+math.Abs(w)) {
						t.Fatalf("%s: n=%d special=%v: acc[%d] = %v, want %v", name, n, special, i, g, w)
					}
				}
			}
		}
	}
}

// TestConv3x3Twins compares conv3x3Go and, where the CPU has it,
// conv3x3Asm with a float64 reference for 1..40 positions (the four- and
// one-position loops): equal to rounding, NaN and ±Inf where the
// reference has them; the window cells the kernel must not read hold NaN,
// and the output cells it must not write hold a guard value.
func TestConv3x3Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 29))
	nan := float32(math.NaN())
	kernels := map[string]func(n int, x []float32, ldx int, w *[dwTaps * dwCols]float32, y []float32, ldy int){
		"go": conv3x3Go,
	}
	if hasAVX512 && hasDWAsm {
		kernels["asm"] = func(n int, x []float32, ldx int, w *[dwTaps * dwCols]float32, y []float32, ldy int) {
			conv3x3(true, n, x, ldx, w, y, ldy)
		}
	}
	for n := 1; n <= 40; n++ {
		for _, special := range []bool{false, true} {
			ldx, ldy := n+2+r.IntN(3), dwCols+r.IntN(5)
			x := make([]float32, 3*ldx)
			for i := range x {
				x[i] = nan
			}
			for ky := range 3 {
				copy(x[ky*ldx:ky*ldx+n+2], randSlice(r, n+2))
			}
			var w [dwTaps * dwCols]float32
			copy(w[:], randSlice(r, len(w)))
			if special {
				x[r.IntN(n+2)] = float32(math.Inf(1))
				w[r.IntN(len(w))] = float32(math.Inf(-1))
				x[ldx+r.IntN(n+2)] = nan
				x[2*ldx+r.IntN(n+2)] = float32(math.Copysign(0, -1))
			}
			ref := make([]float64, n*dwCols)
			for q := range n {
				for j := range dwCols {
					for tp := range dwTaps {
						ref[q*dwCols+j] += float64(x[(tp/3)*ldx+q+tp%3]) * float64(w[tp*dwCols+j])
					}
				}
			}
			for name, kern := range kernels {
				y := make([]float32, (n-1)*ldy+dwCols+3)
				for i := range y {
					y[i] = 42
				}
				kern(n, x[:2*ldx+n+2], ldx, &w, y[:(n-1)*ldy+dwCols], ldy)
				for i := range y {
					q, j := i/ldy, i%ldy
					if q >= n || j >= dwCols {
						if y[i] != 42 {
							t.Fatalf("%s: n=%d: guard y[%d] = %v", name, n, i, y[i])
						}
						continue
					}
					g, want := float64(y[i]), ref[q*dwCols+j]
					if math.IsNaN(want) || math.IsInf(want, 0) {
						if !(math.IsNaN(g) && math.IsNaN(want)) && g != want {
							t.Fatalf("%s: n=%d special=%v: y[%d] = %v, want %v", name, n, special, i, g, want)
						}
						continue
					}
					if math.IsNaN(g) || math.Abs(g-want) > tol(dwTaps)*(1+math.Abs(want)) {
						t.Fatalf("%s: n=%d special=%v: y[%d] = %v, want %v", name, n, special, i, g, want)
					}
				}
			}
		}
	}
}
