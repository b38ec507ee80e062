// Package vnnipeak measures the int8 multiply-accumulate peak of this
// machine's dot-product instruction (AVX-512 VNNI VPDPBUSD on amd64): a
// register-only loop of independent VPDPBUSD chains, no loads or stores
// inside the loop, timed by a Go harness. edgecnn bench divides the
// engines' images/s × MACs per image by this peak to report how close an
// engine runs to the machine's limit.
//
// The loop keeps Chains accumulators busy (more than the instruction's
// latency × issue width, so neither limits it); each iteration issues one
// VPDPBUSD per chain, 64 int8×uint8 multiply-accumulates each. The
// assembly has a pure-Go twin (loopGo) computing the same accumulators,
// and the tests compare them, so a loop that skips iterations is caught.
package vnnipeak

import (
	"errors"
	"fmt"
	gort "runtime"
	"sync"
	"time"
)

// Chains is the number of independent accumulator registers of the loop.
const Chains = 24

// MACsPerIter is the int8 multiply-accumulates of one loop iteration.
const MACsPerIter = Chains * 64

// ErrUnsupported is returned where the CPU (or build) has no VNNI loop.
var ErrUnsupported = errors.New("vnnipeak: no AVX-512 VNNI on this CPU (or built with noasm)")

// Available reports whether the assembly loop can run here.
func Available() bool { return available() }

// loopGo is the reference of the assembly loop: every one of the Chains
// accumulators starts at zero and receives, iters times, per 32-bit lane j
//
//	acc[j] += Σ_{t<4} uint8(a[4j+t]) · int8(b[4j+t])      (int32, wrapping)
//
// and out receives the Chains accumulators (16 lanes each).
func loopGo(iters int, a, b *[64]byte, out *[Chains][16]int32) {
	var lane [16]int32
	for j := range lane {
		for t := 0; t < 4; t++ {
			lane[j] += int32(a[4*j+t]) * int32(int8(b[4*j+t]))
		}
	}
	for c := range out {
		for j := range out[c] {
			out[c][j] = lane[j] * int32(iters)
		}
	}
}

// Result is one measurement.
type Result struct {
	Threads       int     `json:"threads"`
	MACsPerS      float64 `json:"macs_per_s"`          // all threads together
	MACsPerSCore  float64 `json:"macs_per_s_per_core"` // MACsPerS / Threads
	Instruction   string  `json:"instruction"`
	MeasuredForMs float64 `json:"measured_ms"`
}

// Measure runs the loop on threads goroutines, each locked to its OS
// thread, for about d, and returns the best rate of several rounds (the
// peak: interference only slows a round down).
func Measure(threads int, d time.Duration) (Result, error) {
	if !available() {
		return Result{}, ErrUnsupported
	}
	if threads < 1 {
		return Result{}, fmt.Errorf("vnnipeak: threads %d < 1", threads)
	}
	var a, b [64]byte
	for i := range a {
		a[i], b[i] = byte(i*7+3), byte(i*13-60)
	}
	// Calibrate: iterations for about 5 ms on one thread.
	iters := 1 << 14
	for {
		var out [Chains][16]int32
		t := time.Now()
		loopAsm(iters, &a, &b, &out)
		if el := time.Since(t); el > 5*time.Millisecond || iters > 1<<30 {
			break
		}
		iters *= 2
	}
	rounds := max(3, int(d/(5*time.Millisecond)/4))
	best := 0.0
	start := time.Now()
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		var ready, gate sync.WaitGroup
		ready.Add(threads)
		gate.Add(1)
		el := make([]time.Duration, threads)
		for w := 0; w < threads; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				gort.LockOSThread()
				defer gort.UnlockOSThread()
				var out [Chains][16]int32
				ready.Done()
				gate.Wait()
				t := time.Now()
				loopAsm(iters, &a, &b, &out)
				el[w] = time.Since(t)
			}(w)
		}
		ready.Wait()
		gate.Done()
		wg.Wait()
		slowest := time.Duration(0)
		for _, e := range el {
			slowest = max(slowest, e)
		}
		rate := float64(threads) * float64(iters) * MACsPerIter / slowest.Seconds()
		best = max(best, rate)
	}
	return Result{Threads: threads, MACsPerS: best, MACsPerSCore: best / float64(threads), Instruction: "VPDPBUSD zmm",
		MeasuredForMs: float64(time.Since(start)) / 1e6}, nil
}
