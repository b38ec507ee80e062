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
			for i := 0; i < b.N; i++ {
				net.Step(batch, 1, 1e-3)
			}
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
	for i := 0; i < b.N; i++ {
		for k := range batch.Index {
			j := (i*64 + k) % ds.Train.N
			batch.Index[k], batch.Labels[k] = j, ds.Train.Labels[j]
		}
		net.Step(batch, 1, 1e-3)
	}
	b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "images/s")
}
