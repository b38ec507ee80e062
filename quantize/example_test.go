package quantize_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/quantize"
)

// Quantize a float model to a full-integer int8 graph (TFLite's scheme)
// from calibration images; the report's numbers are computed by running
// the int8 graph in the native engine, as a board would.
func Example() {
	m, err := model.New(model.SeedArch()) // untrained weights: enough to show the calls
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	const n = 32
	pix := make([]uint8, n*28*28)
	labels := make([]uint8, n)
	for i := range pix {
		pix[i] = uint8(rng.IntN(256))
	}
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	calib, err := quantize.FromPixels(pix, labels, n, m.Norm)
	if err != nil {
		log.Fatal(err)
	}
	g, rep, err := quantize.Quantize(context.Background(), m, calib, quantize.Options{Method: "minmax", Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	in := g.Tensors[g.Inputs[0]]
	fmt.Println("input:", in.Type, in.Shape, "dynamic batch:", g.DynamicBatch)
	fmt.Println("layers:", len(rep.Layers), "method:", rep.Settings.Method)
	fmt.Printf("int8 file ≈ %d%% of the float one\n", 100*rep.Size.Int8Bytes/rep.Size.FloatBytes/5*5)
	// Output:
	// input: int8 [1 28 28 1] dynamic batch: true
	// layers: 8 method: minmax
	// int8 file ≈ 25% of the float one
}
