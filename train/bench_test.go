package train

import (
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

// BenchmarkStep measures one training step of the seed model (batch 64).
func BenchmarkStep(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run(map[int]string{1: "threads=1", 2: "threads=2"}[threads], func(b *testing.B) {
			m := newTestModel(b, model.SeedArch(), 1)
			net, err := NewNet(m, 64, threads)
			if err != nil {
				b.Fatal(err)
			}
			defer net.Close()
			net.SetOptimizer("adam", 0)
			batch := randomBatch(1, 64, m.Arch)
			batch.Pixels = make([]uint8, len(batch.Pixels)) // mostly-zero images like MNIST
			for i := range batch.Pixels {
				if i%3 == 0 {
					batch.Pixels[i] = 200
				}
			}
			net.Step(batch, 1, 1e-3)
			b.ResetTimer()
			c0 := cpuNanos()
			for i := 0; i < b.N; i++ {
				net.Step(batch, 1, 1e-3)
			}
			// CPU time per step: on a shared machine wall time measures the load.
			b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}

// BenchmarkStepMNIST measures training steps (batch 64, seed model, 2
// threads) on real MNIST images, so that branchy kernels (pooling, ReLU)
// see realistic data.
func BenchmarkStepMNIST(b *testing.B) {
	ds := loadMNIST(b)
	m := newTestModel(b, model.SeedArch(), 1)
	net, err := NewNet(m, 64, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer net.Close()
	net.SetOptimizer("adam", 0)
	batch := &Batch{Pixels: ds.Train.Images, Index: make([]int, 64), Labels: make([]uint8, 64)}
	b.ResetTimer()
	c0 := cpuNanos()
	defer func() {
		// CPU time per step: on a shared machine wall time measures the load.
		b.ReportMetric(float64(cpuNanos()-c0)/float64(b.N), "cpu-ns/op")
	}()
	for i := 0; i < b.N; i++ {
		for k := range batch.Index {
			j := (i*64 + k) % ds.Train.N
			batch.Index[k], batch.Labels[k] = j, ds.Train.Labels[j]
		}
		net.Step(batch, 1, 1e-3)
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkKernels measures the non-GEMM kernels on one batch of 64 at the
// seed model's shapes.
func BenchmarkKernels(b *testing.B) {
	in := model.Shape{H: 28, W: 28, C: 32}
	out := model.Shape{H: 14, W: 14, C: 32}
	r := NewRNG(1)
	x := randSlice(&r, 64*in.Size())
	y := make([]float32, 64*out.Size())
	w := make([]int32, len(y))
	bias := make([]float32, 32)
	dx := make([]float32, len(x))
	db := make([]float32, 32)
	b.Run("pool1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			reluPool(x, in, 2, 2, out, 64, bias, y, w, true)
		}
	})
	b.Run("pool1-backward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			poolBackward(y, w, in, 2, 2, out, 64, dx, db)
		}
	})
	in1, out1 := model.Shape{H: 28, W: 28, C: 1}, model.Shape{H: 28, W: 28, C: 32}
	col1 := make([]float32, 64*784*9)
	b.Run("im2col1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			im2col(x, in1, 3, 1, 1, out1, 64, col1)
		}
	})
	in2, out2 := model.Shape{H: 14, W: 14, C: 32}, model.Shape{H: 14, W: 14, C: 64}
	col2 := make([]float32, 64*196*288)
	b.Run("im2col2", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			im2col(x, in2, 3, 1, 1, out2, 64, col2)
		}
	})
	b.Run("col2im2", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			col2im(col2, in2, 3, 1, 1, out2, 64, dx)
		}
	})
}
