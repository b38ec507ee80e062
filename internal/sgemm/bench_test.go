package sgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the GEMMs of one training step of the seed CNN at batch
// 64 (im2col convolutions, dense layers; forward and backward).
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
}{
	{"conv1_fwd", false, true, 50176, 32, 9},      // cols · Wᵀ
	{"conv1_dW", true, false, 32, 9, 50176},       // dYᵀ · cols
	{"conv2_fwd", false, true, 12544, 64, 288},    // cols · Wᵀ
	{"conv2_dW", true, false, 64, 288, 12544},     // dYᵀ · cols
	{"conv2_dcols", false, false, 12544, 288, 64}, // dY · W
	{"fc1_fwd", false, true, 64, 128, 3136},       // X · Wᵀ
	{"fc1_dW", true, false, 128, 3136, 64},        // dYᵀ · X
	{"fc1_dX", false, false, 64, 3136, 128},       // dY · W
	{"fc2_fwd", false, true, 64, 10, 128},         // X · Wᵀ
	{"fc2_dW", true, false, 10, 128, 64},          // dYᵀ · X
	{"fc2_dX", false, false, 64, 128, 10},         // dY · W
	{"square_1024", false, false, 1024, 1024, 1024},
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, th := range []int{1, 2} {
		for _, s := range benchShapes {
			b.Run(fmt.Sprintf("%s/threads=%d", s.name, th), func(b *testing.B) {
				lda, ldb := s.k, s.n
				if s.transA {
					lda = s.m
				}
				if s.transB {
					ldb = s.k
				}
				a, bm, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
				ctx := New(th)
				ctx.Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				b.ResetTimer()
				for b.Loop() {
					ctx.Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkPack(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	const k = 256
	src := randSlice(r, nr*300)
	dst := make([]float32, nr*k)
	for _, asm := range []bool{false, true} {
		b.Run(fmt.Sprintf("rows6/asm=%v", asm), func(b *testing.B) {
			for b.Loop() {
				packRows6(asm, k, src, 300, dst)
			}
			b.SetBytes(mr * k * 4)
		})
		b.Run(fmt.Sprintf("rows16/asm=%v", asm), func(b *testing.B) {
			for b.Loop() {
				packRows16(asm, k, src, 300, dst)
			}
			b.SetBytes(nr * k * 4)
		})
	}
}
