package train

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

// Temporary cross-check with PyTorch (removed after use).
func TestZZTorchDump(t *testing.T) {
	dir := os.Getenv("EDGECNN_TORCHCHECK")
	if dir == "" {
		t.Skip("EDGECNN_TORCHCHECK not set")
	}
	bn := os.Getenv("EDGECNN_TORCHCHECK_BN") != ""
	ds := loadMNIST(t)
	a := model.SeedArch()
	a.BatchNorm = bn
	m, _ := model.New(a)
	Init(m, 1)
	wr := func(name string, v []float32) {
		f, _ := os.Create(filepath.Join(dir, name))
		binary.Write(f, binary.LittleEndian, v)
		f.Close()
	}
	dump := func(prefix string) {
		for _, l := range m.Layers {
			if l.Weight != nil {
				wr(prefix+l.Name+".w", l.Weight)
				wr(prefix+l.Name+".b", l.Bias)
			}
			if l.Gamma != nil {
				wr(prefix+l.Name+".g", l.Gamma)
				wr(prefix+l.Name+".be", l.Beta)
				wr(prefix+l.Name+".rm", l.RunMean)
				wr(prefix+l.Name+".rv", l.RunVar)
			}
		}
	}
	dump("init_")
	net, err := NewNet(m, 64, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	net.SetOptimizer("adam", 0.9)
	tr := ds.Train
	order := make([]int, tr.N)
	for i := range order {
		order[i] = i
	}
	rng := NewRNG(1, streamShuffle, 0)
	for i := len(order) - 1; i > 0; i-- {
		j := rng.Intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	steps := 300
	idx := make([]int32, steps*64)
	losses := make([]float32, steps)
	labels := make([]uint8, 64)
	b := &Batch{Pixels: tr.Images}
	for s := 0; s < steps; s++ {
		b.Index = order[s*64 : (s+1)*64]
		b.Labels = labels
		for k, i := range b.Index {
			labels[k] = tr.Labels[i]
			idx[s*64+k] = int32(i)
		}
		b.Epoch, b.Pos = 0, s*64
		r := net.Step(b, 1, 1e-3)
		losses[s] = float32(r.Loss)
	}
	f, _ := os.Create(filepath.Join(dir, "idx"))
	binary.Write(f, binary.LittleEndian, idx)
	f.Close()
	wr("losses", losses)
	dump("final_")
	fmt.Println("loss first/last", losses[0], losses[steps-1], math.Log(10))
}
