package dev

import (
	"context"
	"path/filepath"
	"testing"

	onnxfmt "github.com/edgecnn/edgecnn/model/onnx"
	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/onnxruntime"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"
)

func TestGrowth(t *testing.T) {
	g, _ := backendtest.SmallGraph()
	p := filepath.Join(t.TempDir(), "small.onnx")
	onnxfmt.WriteFile(p, g)
	in := make([]float32, 784)
	out := make([]float32, 10)
	e, err := onnxruntime.Open(p, rt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 8; k++ {
		for i := 0; i < 100000; i++ {
			e.Run(context.Background(), in, 1, out)
		}
		r, _ := backendtest.RSS()
		t.Log(k, r)
	}
}
