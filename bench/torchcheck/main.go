// Command torchcheck dumps a short edgecnn training run for a step-by-step
// comparison with PyTorch (bench/torch_crosscheck.py, `make
// bench-train-crosscheck`): the initial parameters, the batches, the loss of
// every step and the parameters after steps 1 and 5 and at the end, as raw
// little-endian float32 files (int32 for the image indices) in -dir.
//
// Weights keep edgecnn's layouts (conv OHWI, dense [out][in] with NHWC
// flatten order); the Python side transposes them into PyTorch's.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/mnist"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "torchcheck:", err)
		os.Exit(1)
	}
}

func run() error {
	data := flag.String("data", "data/mnist", "MNIST folder")
	dir := flag.String("dir", "", "output folder (created)")
	steps := flag.Int("steps", 300, "training steps (batches of 64)")
	bn := flag.Bool("bn", false, "BatchNorm after each convolution")
	seed := flag.Uint64("seed", 1, "initialization and batch order")
	threads := flag.Int("threads", 2, "goroutines")
	flag.Parse()
	const batch = 64
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	ds, err := mnist.Load(*data)
	if err != nil {
		return err
	}
	tr := ds.Train
	if *steps < 5 || *steps*batch > tr.N {
		return fmt.Errorf("-steps %d out of range [5, %d]", *steps, tr.N/batch)
	}
	a := model.SeedArch()
	a.BatchNorm = *bn
	m, err := model.New(a)
	if err != nil {
		return err
	}
	train.Init(m, *seed)
	write := func(name string, v any) error {
		buf, err := binary.Append(nil, binary.LittleEndian, v)
		if err != nil {
			return err
		}
		return atomicfile.WriteFile(filepath.Join(*dir, name), buf, 0o644)
	}
	dump := func(prefix string) error {
		for _, p := range m.Params() {
			if err := write(prefix+p.Name, p.Data); err != nil {
				return err
			}
		}
		return nil
	}
	if err := dump("init_"); err != nil {
		return err
	}
	net, err := train.NewNet(m, batch, *threads)
	if err != nil {
		return err
	}
	defer net.Close()
	net.SetOptimizer("adam", 0.9)
	// A random batch order (Fisher–Yates), recorded for the Python side.
	order := make([]int, tr.N)
	for i := range order {
		order[i] = i
	}
	r := train.NewRNG(*seed, 1000)
	for i := len(order) - 1; i > 0; i-- {
		j := r.Intn(i + 1)
		order[i], order[j] = order[j], order[i]
	}
	idx := make([]int32, *steps*batch)
	losses := make([]float32, *steps)
	labels := make([]uint8, batch)
	b := &train.Batch{Pixels: tr.Images, Labels: labels}
	for s := 0; s < *steps; s++ {
		b.Index = order[s*batch : (s+1)*batch]
		for k, i := range b.Index {
			labels[k] = tr.Labels[i]
			idx[s*batch+k] = int32(i)
		}
		b.Pos = s * batch
		losses[s] = float32(net.Step(b, *seed, 1e-3).Loss)
		if s == 0 || s == 4 {
			if err := dump(fmt.Sprintf("step%d_", s+1)); err != nil {
				return err
			}
		}
	}
	if err := dump("final_"); err != nil {
		return err
	}
	if err := write("indices", idx); err != nil {
		return err
	}
	if err := write("losses", losses); err != nil {
		return err
	}
	fmt.Printf("torchcheck: %d steps, loss %.4f -> %.4f, files in %s\n", *steps, losses[0], losses[*steps-1], *dir)
	return nil
}
