package vec

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/internal/sgemm"
)

// TestConv3x3Pool2x2Row checks the fused convolution + pooling row against
// the two steps it replaces, bit for bit: internal/sgemm's convolution
// (GemmPatchesA on the same four input rows; its direct AVX-512 path
// where ConvPoolFused, the Go one in the noasm build) followed by
// Pool2x2Row, for widths 1..20, with and without relu, with NaN, ±Inf and
// ±0 in the input and the weights, ties (repeated inputs), NaN in the
// input cells the kernel must not read and guard values after y and win.
// With the assembly switched off it checks the Go twin against a Go
// convolution and pool2x2RowGo.
func TestConv3x3Pool2x2Row(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 31))
	nan := float32(math.NaN())
	specials := []float32{nan, float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	ctx := sgemm.New(1)
	for _, asm := range []bool{true, false} {
		for wd := 1; wd <= 20; wd++ {
			for trial := range 4 {
				relu, special := trial%2 == 0, trial >= 2
				ldx := 2*wd + 2 + r.IntN(3)
				x := make([]float32, 4*ldx)
				for i := range x {
					x[i] = nan
					if i%ldx < 2*wd+2 {
						x[i] = float32(r.IntN(9)-4) / 4 // small values: ties in the pooling
						if r.IntN(2) == 0 {
							x[i] = r.Float32()*2 - 1
						}
					}
				}
				var w [ConvTaps * ConvCols]float32
				for i := range w {
					w[i] = r.Float32()*2 - 1
				}
				bias := make([]float32, ConvCols)
				for i := range bias {
					bias[i] = r.Float32() - 0.5
				}
				if special {
					for i := range 4 {
						x[r.IntN(4)*ldx+r.IntN(2*wd+2)] = specials[i%len(specials)]
						w[r.IntN(len(w))] = specials[(i+1)%len(specials)]
					}
				}
				ldy := ConvCols + []int{0, 0, 3, 32}[r.IntN(4)]
				n := wd * ConvCols
				got, want := make([]float32, wd*ldy+3), make([]float32, n+3)
				gw, ww := make([]int32, wd*ldy+3), make([]int32, n+3)
				for i := range got {
					got[i], gw[i] = 42, 42
				}
				name := fmt.Sprintf("asm=%v/wd=%d/relu=%v/special=%v", asm, wd, relu, special)
				func() {
					defer func(u bool) { UseAsm = u }(UseAsm)
					UseAsm = asm && UseAsm
					Conv3x3Pool2x2Row(x, ldx, &w, bias, got[:(wd-1)*ldy+ConvCols], gw[:(wd-1)*ldy+ConvCols], ldy, wd, relu)
				}()
				if exactToSgemm(asm) {
					// The convolution: the four rows as an unpadded image.
					ow := ldx - 2
					p := sgemm.Patches{X: x, N: 1, H: 4, W: ldx, C: 1, Kernel: 3, Stride: 1, OH: 2, OW: ow}
					wo := make([]float32, ConvCols*ConvTaps) // OHWI
					for j := range ConvCols {
						for tp := range ConvTaps {
							wo[j*ConvTaps+tp] = w[tp*ConvCols+j]
						}
					}
					y := make([]float32, 2*ow*ConvCols)
					ctx.GemmPatchesA(&p, true, ConvCols, wo, ConvTaps, 0, y, ConvCols)
					Pool2x2Row(y[:ow*ConvCols], y[ow*ConvCols:], bias, want[:n], ww[:n], ConvCols, wd, relu)
				} else {
					var c [2][]float32
					for row := range c {
						c[row] = make([]float32, 2*wd*ConvCols)
						for col := range 2 * wd {
							s := c[row][col*ConvCols : (col+1)*ConvCols]
							for tp := range ConvTaps {
								v := x[(tp/3+row)*ldx+col+tp%3]
								for j, wv := range w[tp*ConvCols : (tp+1)*ConvCols] {
									s[j] += v * wv
								}
							}
						}
					}
					pool2x2RowGo(c[0], c[1], bias, want[:n], ww[:n], ConvCols, wd, relu)
				}
				for i := range got {
					px, j := i/ldy, i%ldy
					if px >= wd || j >= ConvCols {
						if got[i] != 42 || gw[i] != 42 {
							t.Fatalf("%s/ldy=%d: guard %d overwritten", name, ldy, i)
						}
						continue
					}
					g, e, k := got[i], want[px*ConvCols+j], ww[px*ConvCols+j]
					if math.Float32bits(g) != math.Float32bits(e) && !(g != g && e != e) || gw[i] != k {
						t.Fatalf("%s/ldy=%d: y[%d] = %v (win %d), want %v (win %d)", name, ldy, i, g, gw[i], e, k)
					}
				}
			}
		}
	}
}

// exactToSgemm reports whether the fused kernels, run with the assembly
// allowed (asm), equal internal/sgemm's two steps bit for bit: where
// their AVX-512 kernels run (the FMA chains of sgemm's AVX-512 paths), or
// where neither package has assembly (both Go: the noasm build). On a CPU
// with AVX2 but not AVX-512 the fused kernels run their Go twins and
// sgemm its AVX2 FMA kernels, which round differently; there the twins are
// checked against the Go references instead.
func exactToSgemm(asm bool) bool {
	return asm && (UseAsm && UseAVX512 || !hasAsm)
}

// TestDWUnpool checks DWUnpool against the two steps it replaces, bit for
// bit: Unpool2x2Row routing the pooled gradients into a convolution
// output row, then internal/sgemm's weight gradient (GemmPatchesB, one K
// slice: positions ≤ 256) of that row, for runs starting at even and odd
// columns, both row parities, relu-clamped (-1) winners, NaN/±Inf/±0 in
// the gradients and the input, and NaN in the cells it must not read.
// The Go twin (assembly off) is checked against a float64 reference.
func TestDWUnpool(t *testing.T) {
	r := rand.New(rand.NewPCG(37, 37))
	nan := float32(math.NaN())
	ctx := sgemm.New(1)
	for _, asm := range []bool{true, false} {
		for trial := range 60 {
			wd := 1 + r.IntN(20)
			ox0 := r.IntN(2 * wd)
			n := 1 + r.IntN(2*wd-ox0)
			py := trial % 2
			special := trial%3 == 0
			ldx := n + 2 + r.IntN(3)
			x := make([]float32, 3*ldx)
			for i := range x {
				x[i] = nan
				if i%ldx < n+2 {
					x[i] = r.Float32()*2 - 1
				}
			}
			dz := randSlice32(r, wd*ConvCols)
			win := make([]int32, wd*ConvCols)
			for i := range win {
				win[i] = int32(r.IntN(5) - 1)
			}
			if special {
				dz[r.IntN(len(dz))] = float32(math.Inf(1))
				dz[r.IntN(len(dz))] = nan
				dz[r.IntN(len(dz))] = float32(math.Copysign(0, -1))
				x[r.IntN(n+2)] = float32(math.Inf(-1))
			}
			var acc [ConvTaps * ConvCols]float32
			name := fmt.Sprintf("asm=%v/wd=%d/ox0=%d/n=%d/py=%d/special=%v", asm, wd, ox0, n, py, special)
			func() {
				defer func(u bool) { UseAsm = u }(UseAsm)
				UseAsm = asm && UseAsm
				DWUnpool(n, x, ldx, dz, win, ConvCols, ox0, py, &acc)
			}()
			d0, d1 := make([]float32, 2*wd*ConvCols), make([]float32, 2*wd*ConvCols)
			Unpool2x2Row(dz, win, d0, d1, nil, ConvCols, wd)
			dy := [2][]float32{d0, d1}[py][ox0*ConvCols : (ox0+n)*ConvCols]
			if exactToSgemm(asm) {
				p := sgemm.Patches{X: x, N: 1, H: 3, W: ldx, C: 1, Kernel: 3, Stride: 1, OH: 1, OW: n}
				dw := make([]float32, ConvCols*ConvTaps)
				ctx.GemmPatchesB(true, ConvCols, dy, ConvCols, &p, 0, dw, ConvTaps)
				for j := range ConvCols {
					for tp := range ConvTaps {
						g, e := acc[tp*ConvCols+j], dw[j*ConvTaps+tp]
						if math.Float32bits(g) != math.Float32bits(e) && !(g != g && e != e) {
							t.Fatalf("%s: tap %d channel %d = %v, want %v", name, tp, j, g, e)
						}
					}
				}
				continue
			}
			for j := range ConvCols {
				for tp := range ConvTaps {
					var want float64
					for q := range n {
						want += float64(x[(tp/3)*ldx+q+tp%3]) * float64(dy[q*ConvCols+j])
					}
					g := float64(acc[tp*ConvCols+j])
					if math.IsNaN(want) || math.IsInf(want, 0) {
						if !(math.IsNaN(g) && math.IsNaN(want)) && g != want {
							t.Fatalf("%s: tap %d channel %d = %v, want %v", name, tp, j, g, want)
						}
						continue
					}
					if math.IsNaN(g) || math.Abs(g-want) > 1e-5*float64(n+4)*(1+math.Abs(want)) {
						t.Fatalf("%s: tap %d channel %d = %v, want %v", name, tp, j, g, want)
					}
				}
			}
		}
	}
}

// TestUnpoolBias checks UnpoolBias against the bias gradient
// Unpool2x2Row adds, bit for bit (assembly and Go), for 16, 32 and 48
// channels, NaN/±Inf in the gradients and -1 winners.
func TestUnpoolBias(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 41))
	for _, asm := range []bool{true, false} {
		for _, c := range []int{16, 32, 48} {
			for wd := 1; wd <= 9; wd++ {
				dz := randSlice32(r, wd*c)
				win := make([]int32, wd*c)
				for i := range win {
					win[i] = int32(r.IntN(5) - 1)
				}
				dz[r.IntN(len(dz))] = float32(math.Inf(-1))
				dz[r.IntN(len(dz))] = float32(math.NaN())
				start := randSlice32(r, c)
				got := append(append([]float32(nil), start...), 42)
				want := append([]float32(nil), start...)
				func() {
					defer func(u bool) { UseAsm = u }(UseAsm)
					UseAsm = asm && UseAsm
					UnpoolBias(dz, win, got[:c], c, wd)
				}()
				d0, d1 := make([]float32, 2*wd*c), make([]float32, 2*wd*c)
				Unpool2x2Row(dz, win, d0, d1, want, c, wd)
				for j := range c {
					g, e := got[j], want[j]
					if math.Float32bits(g) != math.Float32bits(e) && !(g != g && e != e) {
						t.Fatalf("asm=%v/c=%d/wd=%d: dbias[%d] = %v, want %v", asm, c, wd, j, g, e)
					}
				}
				if got[c] != 42 {
					t.Fatalf("asm=%v/c=%d/wd=%d: guard overwritten", asm, c, wd)
				}
			}
		}
	}
}

func randSlice32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}
