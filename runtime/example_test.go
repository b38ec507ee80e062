package runtime_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	_ "github.com/edgecnn/edgecnn/runtime/native" // registers "native"
)

// Open a model by backend name from the registry and run one image: the
// engine says its input and output shapes (batch -1: any batch), and Run
// fills batch × classes scores.
func Example() {
	defer cleanup()
	m, err := model.New(model.SeedArch()) // untrained weights are enough to show the calls
	if err != nil {
		log.Fatal(err)
	}
	g, err := model.FloatGraph(m)
	if err != nil {
		log.Fatal(err)
	}
	data, err := tflite.Write(g)
	if err != nil {
		log.Fatal(err)
	}
	path := writeTemp(data)
	e, err := runtime.Open("native", path, runtime.Options{Threads: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	fmt.Println("backend:", e.Backend())
	fmt.Println("input:", e.Input().Shape, "output:", e.Output().Shape)
	img := make([]float32, 28*28) // one normalized 28×28 image, NHWC
	scores := make([]float32, 10)
	if err := e.Run(context.Background(), img, 1, scores); err != nil {
		log.Fatal(err)
	}
	fmt.Println("scores:", len(scores))
	// Output:
	// backend: native
	// input: [-1 28 28 1] output: [-1 10]
	// scores: 10
}

var temps []string

func cleanup() {
	for _, p := range temps {
		os.Remove(p)
	}
}

func writeTemp(data []byte) string {
	f, err := os.CreateTemp("", "example-*.tflite")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		log.Fatal(err)
	}
	temps = append(temps, f.Name())
	return f.Name()
}
