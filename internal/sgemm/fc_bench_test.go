package sgemm

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkGemmPackedFC1 is fc1 of the seed CNN on a 128-image chunk
// (128×3136 times pre-packed 3136×128), GFLOP per second of CPU time.
func BenchmarkGemmPackedFC1(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 128, 128, 3136
	a, w, c := randSlice(r, m*k), randSlice(r, n*k), make([]float32, m*n)
	pb := PackB(true, n, k, w, k)
	ctx := New(1)
	t0 := cpuNanos()
	for b.Loop() {
		ctx.GemmPacked(m, a, k, pb, 0, n, c, n)
	}
	b.ReportMetric(float64(b.N)*2*m*n*k/float64(cpuNanos()-t0), "GFLOP/cpu-s")
}

// BenchmarkGemmPackedFC1Row is fc1 at batch 1 (one row, 1.6 MB of packed
// weights): GB/s of weights read per second of CPU time.
func BenchmarkGemmPackedFC1Row(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const n, k = 128, 3136
	a, w, c := randSlice(r, k), randSlice(r, n*k), make([]float32, n)
	pb := PackB(true, n, k, w, k)
	ctx := New(1)
	t0 := cpuNanos()
	for b.Loop() {
		ctx.GemmPacked(1, a, k, pb, 0, n, c, n)
	}
	b.ReportMetric(float64(b.N)*4*n*k/float64(cpuNanos()-t0), "GB/cpu-s")
	b.ReportMetric(float64(cpuNanos()-t0)/1e3/float64(b.N), "cpu-µs/op")
}
