package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// im2colRef stores the patch matrix (the reference for Patches).
func im2colRef(p *Patches) []float32 {
	rows, cols := p.Rows(), p.Cols()
	col := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		b := i / (p.OH * p.OW)
		oy, ox := (i/p.OW)%p.OH, i%p.OW
		for ky := 0; ky < p.Kernel; ky++ {
			for kx := 0; kx < p.Kernel; kx++ {
				iy, ix := oy*p.Stride-p.Pad+ky, ox*p.Stride-p.Pad+kx
				for c := 0; c < p.C; c++ {
					v := float32(0)
					if iy >= 0 && iy < p.H && ix >= 0 && ix < p.W {
						v = p.X[((b*p.H+iy)*p.W+ix)*p.C+c]
					}
					col[i*cols+(ky*p.Kernel+kx)*p.C+c] = v
				}
			}
		}
	}
	return col
}

// patchGeoms are convolution geometries: the seed CNN's two convolutions,
// odd sizes, strides, paddings, depths past one K block (kc) and channel
// counts that do not fill a 16-wide B panel.
var patchGeoms = []Patches{
	{N: 3, H: 28, W: 28, C: 1, Kernel: 3, Stride: 1, Pad: 1},
	{N: 2, H: 14, W: 14, C: 32, Kernel: 3, Stride: 1, Pad: 1},
	{N: 1, H: 7, W: 9, C: 64, Kernel: 3, Stride: 1, Pad: 1},
	{N: 2, H: 11, W: 5, C: 3, Kernel: 5, Stride: 2, Pad: 2},
	{N: 3, H: 9, W: 10, C: 7, Kernel: 3, Stride: 2, Pad: 0},
	{N: 1, H: 6, W: 6, C: 20, Kernel: 1, Stride: 1, Pad: 0},
	{N: 2, H: 8, W: 7, C: 33, Kernel: 2, Stride: 1, Pad: 1},
	{N: 1, H: 5, W: 5, C: 300, Kernel: 3, Stride: 1, Pad: 1},
	// one channel, stride 1: whole six-window micro-panels (panel1) at
	// odd widths, wide padding and windows past the right border
	{N: 2, H: 9, W: 13, C: 1, Kernel: 5, Stride: 1, Pad: 2},
	{N: 3, H: 7, W: 8, C: 1, Kernel: 2, Stride: 1, Pad: 1},
	{N: 1, H: 6, W: 7, C: 1, Kernel: 3, Stride: 1, Pad: 0},
	// channels a multiple of 16 (packB16): strides, wide padding, windows
	// past both borders, outputs narrower than the padding
	{N: 2, H: 7, W: 6, C: 16, Kernel: 3, Stride: 2, Pad: 1},
	{N: 2, H: 5, W: 4, C: 48, Kernel: 4, Stride: 1, Pad: 3},
	{N: 3, H: 9, W: 11, C: 16, Kernel: 5, Stride: 3, Pad: 2},
	{N: 1, H: 2, W: 2, C: 32, Kernel: 3, Stride: 1, Pad: 2},
	// one K slice per window row (rowsInPlace): 14, 15 and 16 outputs
	// per row (12 read in place, the rest gathered), strides 1 and 2
	{N: 2, H: 5, W: 14, C: 64, Kernel: 3, Stride: 1, Pad: 1},
	{N: 2, H: 7, W: 29, C: 60, Kernel: 3, Stride: 2, Pad: 1},
	{N: 1, H: 8, W: 16, C: 48, Kernel: 5, Stride: 1, Pad: 2},
}

func (p Patches) String() string {
	return fmt.Sprintf("%dx%dx%dx%d_k%d_s%d_p%d", p.N, p.H, p.W, p.C, p.Kernel, p.Stride, p.Pad)
}

// TestPatchesMatchIm2col checks GemmPatchesA and GemmPatchesB against
// Gemm on the stored im2col matrix: bit-identical, with the assembly
// kernels and the Go ones, on 1 and 2 threads, with beta 0 and 1.
func TestPatchesMatchIm2col(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, geom := range patchGeoms {
		p := geom
		p.OH = (p.H+2*p.Pad-p.Kernel)/p.Stride + 1
		p.OW = (p.W+2*p.Pad-p.Kernel)/p.Stride + 1
		p.X = randSlice(r, p.N*p.H*p.W*p.C)
		col := im2colRef(&p)
		rows, k := p.Rows(), p.Cols()
		for _, n := range []int{5, 32, 64} {
			w := randSlice(r, n*k)     // n×k (OHWI weights, transB)
			dy := randSlice(r, rows*n) // rows×n (transA for dW)
			c0 := randSlice(r, rows*n) // forward C start (beta 1)
			g0 := randSlice(r, n*k)    // dW C start
			for _, threads := range []int{1, 2} {
				for _, asm := range []bool{true, false} {
					name := fmt.Sprintf("%v/n=%d/threads=%d/asm=%v", p, n, threads, asm)
					ctx := New(threads)
					ctx.asm = asm && ctx.asm
					for _, beta := range []float32{0, 1} {
						want := append([]float32(nil), c0...)
						got := append([]float32(nil), c0...)
						ctx.Gemm(false, true, rows, n, k, 1, col, k, w, k, beta, want, n)
						ctx.GemmPatchesA(&p, true, n, w, k, beta, got, n)
						sameBits(t, name+fmt.Sprintf("/forward/beta=%v", beta), got, want)

						want = append(want[:0], g0...)
						got = append(got[:0], g0...)
						ctx.Gemm(true, false, n, k, rows, 1, dy, n, col, k, beta, want[:n*k], k)
						ctx.GemmPatchesB(true, n, dy, n, &p, beta, got[:n*k], k)
						sameBits(t, name+fmt.Sprintf("/dW/beta=%v", beta), got[:n*k], want[:n*k])
					}
				}
			}
		}
	}
}

func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d = %v, want %v (bit-identical)", name, i, got[i], want[i])
		}
	}
}

// TestPatchesBadInput checks that a short input or a bad geometry panics
// with a message (a programming error, as for Gemm's arguments).
func TestPatchesBadInput(t *testing.T) {
	p := Patches{X: make([]float32, 10), N: 1, H: 4, W: 4, C: 1, Kernel: 3, Stride: 1, Pad: 1, OH: 4, OW: 4}
	c := make([]float32, 16*4)
	w := make([]float32, 4*9)
	for name, f := range map[string]func(){
		"short input": func() { New(1).GemmPatchesA(&p, true, 4, w, 9, 0, c, 4) },
		"zero stride": func() {
			q := p
			q.X = make([]float32, 16)
			q.Stride = 0
			New(1).GemmPatchesA(&q, true, 4, w, 9, 0, c, 4)
		},
		"short C":      func() { q := p; q.X = make([]float32, 16); New(1).GemmPatchesA(&q, true, 4, w, 9, 0, c[:10], 4) },
		"short weight": func() { q := p; q.X = make([]float32, 16); New(1).GemmPatchesA(&q, true, 4, w[:20], 9, 0, c, 4) },
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

// BenchmarkPatches compares the seed CNN's conv2 forward and weight
// gradient (32 images) through GemmPatches with Gemm on a stored im2col
// matrix (the im2col pass not counted).
func BenchmarkPatches(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	p := Patches{N: 32, H: 14, W: 14, C: 32, Kernel: 3, Stride: 1, Pad: 1, OH: 14, OW: 14}
	p.X = randSlice(r, p.N*p.H*p.W*p.C)
	rows, k, n := p.Rows(), p.Cols(), 64
	col := make([]float32, rows*k)
	w, y, dy, dw := randSlice(r, n*k), make([]float32, rows*n), randSlice(r, rows*n), make([]float32, n*k)
	ctx := New(1)
	flops := 2 * float64(rows) * float64(n) * float64(k)
	copy(col, im2colRef(&p))
	b.Run("forward/gemm", func(b *testing.B) { // im2col not counted
		for b.Loop() {
			ctx.Gemm(false, true, rows, n, k, 1, col, k, w, k, 0, y, n)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("forward/patches", func(b *testing.B) {
		for b.Loop() {
			ctx.GemmPatchesA(&p, true, n, w, k, 0, y, n)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	p1 := Patches{N: 32, H: 28, W: 28, C: 1, Kernel: 3, Stride: 1, Pad: 1, OH: 28, OW: 28}
	p1.X = randSlice(r, p1.N*p1.H*p1.W)
	w1, y1 := randSlice(r, 32*9), make([]float32, p1.Rows()*32)
	b.Run("conv1-forward/patches", func(b *testing.B) {
		for b.Loop() {
			ctx.GemmPatchesA(&p1, true, 32, w1, 9, 0, y1, 32)
		}
		b.ReportMetric(2*float64(p1.Rows())*32*9*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("dW/gemm", func(b *testing.B) {
		for b.Loop() {
			ctx.Gemm(true, false, n, k, rows, 1, dy, n, col, k, 0, dw, k)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("dW/patches", func(b *testing.B) {
		for b.Loop() {
			ctx.GemmPatchesB(true, n, dy, n, &p, 0, dw, k)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// TestPackPtrs6Twins compares packPtrs6 (the assembly where available)
// with interleave6 for depths 0..40 and checks the guard values after dst.
func TestPackPtrs6Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for n := 0; n <= 40; n++ {
		var src [mr][]float32
		for i := range src {
			src[i] = randSlice(r, n)
		}
		got, want := make([]float32, n*mr+3), make([]float32, n*mr+3)
		for i := n * mr; i < len(got); i++ {
			got[i], want[i] = 42, 42
		}
		packPtrs6(true, n, &src, got[:n*mr])
		interleave6(n, &src, want[:n*mr])
		sameBits(t, fmt.Sprintf("n=%d", n), got, want)
	}
}

// TestRepackMatchesPackB checks that Repack, in two halves as two
// goroutines would, gives PackB's packing, and that GemmPacked on it
// returns Gemm's product bit for bit.
func TestRepackMatchesPackB(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for _, s := range []struct{ m, n, k int }{{32, 128, 3136}, {5, 3136, 128}, {7, 10, 128}, {1, 33, 300}} {
		for _, transB := range []bool{true, false} {
			ldb := s.n
			if transB {
				ldb = s.k
			}
			b := randSlice(r, s.n*s.k)
			want := PackB(transB, s.n, s.k, b, ldb)
			got := NewPackedB(s.n, s.k)
			half := got.Panels() / 2
			got.Repack(transB, b, ldb, half, got.Panels())
			got.Repack(transB, b, ldb, 0, half)
			name := fmt.Sprintf("%dx%dx%d/transB=%v", s.m, s.n, s.k, transB)
			sameBits(t, name+"/packed", got.p, want.p)
			a := randSlice(r, s.m*s.k)
			c1, c2 := make([]float32, s.m*s.n), make([]float32, s.m*s.n)
			ctx := New(1)
			ctx.GemmPacked(s.m, a, s.k, got, 0, s.n, c1, s.n)
			if s.m > 1 {
				ctx.Gemm(false, transB, s.m, s.n, s.k, 1, a, s.k, b, ldb, 0, c2, s.n)
				sameBits(t, name+"/product", c1, c2)
			}
		}
	}
}

// TestCopyBlock16Twins compares copyBlock16 (the assembly where available)
// with copyBlock16Go for odd row and chunk counts and strides, and checks
// the guard values between and after the destination's rows.
func TestCopyBlock16Twins(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	for rows := 1; rows <= 9; rows++ {
		for chunks := 1; chunks <= 5; chunks++ {
			lds := chunks*nr + r.IntN(7)
			ldd := rows*nr + r.IntN(9)
			src := randSlice(r, (rows-1)*lds+chunks*nr)
			got, want := make([]float32, chunks*ldd+5), make([]float32, chunks*ldd+5)
			for i := range got {
				got[i], want[i] = 42, 42
			}
			copyBlock16(true, rows, chunks, src, lds, got, ldd)
			copyBlock16Go(rows, chunks, src, lds, want, ldd)
			sameBits(t, fmt.Sprintf("rows=%d/chunks=%d", rows, chunks), got, want)
			for h := range chunks {
				for i := h*ldd + rows*nr; i < (h+1)*ldd; i++ {
					if got[i] != 42 {
						t.Fatalf("rows=%d/chunks=%d: guard %d overwritten", rows, chunks, i)
					}
				}
			}
		}
	}
}

// TestRowsInPlaceTaken checks that every patch geometry with at least
// twelve outputs per row takes gemmRowsInPlace (with the AVX-512 kernels,
// one thread, 32 or 64 columns, beta 0), so that TestPatchesMatchIm2col
// and TestWideMacroBitIdentical compare it with the packed path, among
// them conv2 of the seed CNN (slices across window rows) and slices of
// exactly one window row.
func TestRowsInPlaceTaken(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU (or the noasm build): the in-place path never runs")
	}
	taken := 0
	for _, geom := range patchGeoms {
		p := geom
		p.OH = (p.H+2*p.Pad-p.Kernel)/p.Stride + 1
		p.OW = (p.W+2*p.Pad-p.Kernel)/p.Stride + 1
		p.H, p.W, p.Pad = p.H+2*p.Pad, p.W+2*p.Pad, 0 // as GemmPatchesA pads it
		want := p.OW >= 12
		if got := New(1).rowsInPlace(&p, true, 32, 0); got != want {
			t.Fatalf("%v: in-place path %v, want %v", p, got, want)
		}
		if want {
			taken++
		}
		if New(2).rowsInPlace(&p, true, 32, 0) || New(1).rowsInPlace(&p, true, 48, 0) || New(1).rowsInPlace(&p, true, 32, 1) {
			t.Fatalf("%v: in-place path with 2 threads, 48 columns or beta 1", p)
		}
	}
	if taken < 5 {
		t.Fatalf("only %d geometries take the in-place path", taken)
	}
}
