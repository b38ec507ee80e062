package sgemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func threadCPU() time.Duration {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func TestZZCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range benchShapes {
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		a, bm, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), make([]float32, s.m*s.n)
		ctx := New(1)
		best := time.Hour
		for rep := 0; rep < 5; rep++ {
			n := max(3, int(2e8/(2*float64(s.m)*float64(s.n)*float64(s.k))))
			t0 := threadCPU()
			for i := 0; i < n; i++ {
				ctx.Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
			}
			d := (threadCPU() - t0) / time.Duration(n)
			best = min(best, d)
		}
		fmt.Printf("%-12s %9v %7.1f GFLOP/s (thread CPU time)\n", s.name, best, 2*float64(s.m)*float64(s.n)*float64(s.k)/best.Seconds()/1e9)
	}
}
