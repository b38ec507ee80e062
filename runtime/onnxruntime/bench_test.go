//go:build onnxruntime && linux

package onnxruntime_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/native"
	"github.com/edgecnn/edgecnn/runtime/onnxruntime"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"
)

// cpuNanos is the user+system CPU time of the process.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkFloatVsNative runs the float MNIST model on ONNX Runtime and on
// the native engine in one process, one after the other for each batch ×
// threads case, reporting images/s and the process CPU time per image: on
// a shared, loaded machine the CPU time is the steadier figure (at one
// thread it is the work per image). Run it several times (-count) and
// compare the rows of the same run:
//
//	make bench-float-peers
func BenchmarkFloatVsNative(b *testing.B) {
	f := backendtest.Load(b)
	per := f.FloatGraph.Tensors[f.FloatGraph.Inputs[0]].NumElements()
	classes := f.Model.Arch.Classes
	for _, c := range [][2]int{{1, 1}, {8, 1}, {64, 1}, {256, 1}, {256, 2}} {
		batch, threads := c[0], c[1]
		in := make([]float32, batch*per)
		for i := 0; i < batch; i++ {
			copy(in[i*per:(i+1)*per], f.Image(i, 1))
		}
		out := make([]float32, batch*classes)
		open := map[string]func() (rt.Engine, error){
			"onnxruntime": func() (rt.Engine, error) {
				return onnxruntime.Open(f.FloatONNX, rt.Options{Threads: threads})
			},
			"native": func() (rt.Engine, error) { return native.New(f.FloatGraph, rt.Options{Threads: threads}) },
		}
		for _, name := range []string{"onnxruntime", "native"} {
			b.Run(fmt.Sprintf("%s/batch%d/threads%d", name, batch, threads), func(b *testing.B) {
				e, err := open[name]()
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				ctx := context.Background()
				for range 3 {
					if err := e.Run(ctx, in, batch, out); err != nil {
						b.Fatal(err)
					}
				}
				cpu0 := cpuNanos()
				for b.Loop() {
					if err := e.Run(ctx, in, batch, out); err != nil {
						b.Fatal(err)
					}
				}
				imgs := float64(batch) * float64(b.N)
				b.ReportMetric(imgs/b.Elapsed().Seconds(), "images/s")
				b.ReportMetric(float64(cpuNanos()-cpu0)/1e3/imgs, "cpu-µs/image")
			})
		}
	}
}
