package sgemm

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainShapes measures the GEMMs of one shard of a training step
// of the seed CNN (batch 64 on 2 threads: 32 images per shard, conv2 in
// chunks of 7 images) on one thread, in GFLOP per second of CPU time.
func BenchmarkTrainShapes(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 3))
	const imgs = 7
	x := randSlice(r, imgs*14*14*32)
	dy := randSlice(r, imgs*14*14*64)
	w2 := randSlice(r, 64*288)
	wf := randSlice(r, 32*576)
	out := make([]float32, imgs*14*14*64)
	dw := make([]float32, 64*288)
	fx := randSlice(r, 32*3136)
	fw := randSlice(r, 128*3136)
	fdy := randSlice(r, 32*128)
	fy := make([]float32, 32*128)
	fdw := make([]float32, 128*3136)
	fdx := make([]float32, 32*3136)
	pf := PackB(true, 128, 3136, fw, 3136)
	pd := PackB(false, 3136, 128, fw, 3136)
	sq := randSlice(r, 512*512)
	sqc := make([]float32, 512*512)
	shapes := []struct {
		name  string
		flops float64
		f     func(c *Context)
	}{
		{"conv2_fwd", 2 * imgs * 196 * 64 * 288, func(c *Context) {
			p := Patches{X: x, N: imgs, H: 14, W: 14, C: 32, Kernel: 3, Stride: 1, Pad: 1, OH: 14, OW: 14}
			c.GemmPatchesA(&p, true, 64, w2, 288, 0, out, 64)
		}},
		{"conv2_dX", 2 * imgs * 196 * 32 * 576, func(c *Context) {
			p := Patches{X: dy, N: imgs, H: 14, W: 14, C: 64, Kernel: 3, Stride: 1, Pad: 1, OH: 14, OW: 14}
			c.GemmPatchesA(&p, true, 32, wf, 576, 0, out, 32)
		}},
		{"conv2_dW", 2 * imgs * 196 * 64 * 288, func(c *Context) {
			p := Patches{X: x, N: imgs, H: 14, W: 14, C: 32, Kernel: 3, Stride: 1, Pad: 1, OH: 14, OW: 14}
			c.GemmPatchesB(true, 64, dy, 64, &p, 1, dw, 288)
		}},
		{"fc1_fwd", 2 * 32 * 128 * 3136, func(c *Context) { c.GemmPacked(32, fx, 3136, pf, 0, 128, fy, 128) }},
		{"fc1_dW", 2 * 32 * 128 * 3136, func(c *Context) {
			c.Gemm(true, false, 128, 3136, 32, 1, fdy, 128, fx, 3136, 0, fdw, 3136)
		}},
		{"fc1_dX", 2 * 32 * 128 * 3136, func(c *Context) { c.GemmPacked(32, fdy, 128, pd, 0, 3136, fdx, 3136) }},
		{"fc1_fwd_inplace", 2 * 32 * 128 * 3136, func(c *Context) { c.GemmABt(32, 128, 3136, fx, 3136, fw, 3136, fy, 128) }},
		{"fc1_dX_inplace", 2 * 32 * 128 * 3136, func(c *Context) {
			c.Gemm(false, false, 32, 3136, 128, 1, fdy, 128, fw, 3136, 0, fdx, 3136)
		}},
		{"square_512", 2 * 512 * 512 * 512, func(c *Context) {
			c.Gemm(false, false, 512, 512, 512, 1, sq, 512, sq, 512, 0, sqc, 512)
		}},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			c := New(1)
			s.f(c)
			b.ResetTimer()
			t0 := cpuNanos()
			for b.Loop() {
				s.f(c)
			}
			b.ReportMetric(float64(b.N)*s.flops/float64(cpuNanos()-t0), "GFLOP/cpu-s")
		})
	}
}
