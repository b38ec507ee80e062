package native

import (
	"context"
	"fmt"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// BenchmarkSeedInt8 runs the seed architecture's int8 graph (random
// weights; the arithmetic cost does not depend on the values).
func BenchmarkSeedInt8(b *testing.B) {
	m := randomModel(model.SeedArch(), 1)
	g := int8Graph(m, true, 1)
	for _, c := range [][2]int{{1, 1}, {1, 2}, {256, 1}, {256, 2}} {
		b.Run(fmt.Sprintf("batch%d/threads%d", c[0], c[1]), func(b *testing.B) {
			e, err := New(g, runtime.Options{Threads: c[1]})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			in := randInput(c[0]*e.InputSize(), 1)
			out := make([]float32, c[0]*e.OutputSize())
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if err := e.Run(ctx, in, c[0], out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c[0])*float64(b.N)/b.Elapsed().Seconds(), "images/s")
			// CPU time of the process per Run: on a shared, loaded machine
			// this is steadier than wall time (threads1: ≈ latency).
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
		})
	}
}

func BenchmarkSeedFloat(b *testing.B) {
	m := randomModel(model.SeedArch(), 1)
	g := floatGraph(m)
	for _, c := range [][2]int{{1, 1}, {1, 2}, {256, 1}, {256, 2}} {
		b.Run(fmt.Sprintf("batch%d/threads%d", c[0], c[1]), func(b *testing.B) {
			e, err := New(g, runtime.Options{Threads: c[1]})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			in := randInput(c[0]*e.InputSize(), 1)
			out := make([]float32, c[0]*e.OutputSize())
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if err := e.Run(context.Background(), in, c[0], out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c[0])*float64(b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/op")
		})
	}
}
