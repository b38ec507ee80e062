package train

import (
	"testing"

	"github.com/edgecnn/edgecnn/internal/sgemm"
	"github.com/edgecnn/edgecnn/model"
)

// BenchmarkConvInputGrad compares the seed CNN's conv2 input gradient (32
// images) as a convolution of dy with the flipped kernel (the trainer's
// path) with dY·W + col2im, reporting CPU time per operation too.
func BenchmarkConvInputGrad(b *testing.B) {
	r := NewRNG(1)
	in, out := model.Shape{H: 14, W: 14, C: 32}, model.Shape{H: 14, W: 14, C: 64}
	const n, k = 32, 3
	K := k * k * in.C
	w := randSlice(&r, out.C*K)
	dy := randSlice(&r, n*out.Size())
	dx := make([]float32, n*in.Size())
	col := make([]float32, n*out.H*out.W*K)
	flip := make([]float32, len(w))
	g := sgemm.New(1)
	run := func(b *testing.B, f func()) {
		c0 := cpuNanos()
		for b.Loop() {
			f()
		}
		b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
	}
	b.Run("flipped-conv", func(b *testing.B) {
		run(b, func() {
			flipKernel(w, out.C, k, in.C, flip)
			p := sgemm.Patches{X: dy, N: n, H: out.H, W: out.W, C: out.C, Kernel: k, Stride: 1, Pad: 1, OH: in.H, OW: in.W}
			g.GemmPatchesA(&p, true, in.C, flip, k*k*out.C, 0, dx, in.C)
		})
	})
	b.Run("gemm+col2im", func(b *testing.B) {
		run(b, func() {
			M := n * out.H * out.W
			g.Gemm(false, false, M, K, out.C, 1, dy, out.C, w, K, 0, col, K)
			col2im(col, in, k, 1, 1, out, n, dx)
		})
	})
}
