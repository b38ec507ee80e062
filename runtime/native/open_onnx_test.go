//go:build !board

package native

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/runtime"
)

// The native engine runs the .onnx twin of a model exactly as the .tflite.
func TestOpenONNXMatchesTFLite(t *testing.T) {
	tp, ck, g := committedFloat(t)
	dir := filepath.Dir(tp)
	op := filepath.Join(dir, "m.onnx")
	if err := onnx.WriteFile(op, g); err != nil {
		t.Fatal(err)
	}
	et, err := runtime.Open("native", tp, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer et.Close()
	eo, err := runtime.Open("native", op, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eo.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const batch = 3
	in := make([]float32, batch*28*28)
	for i := range in {
		in[i] = rng.Float32()*3 - 0.5
	}
	classes := ck.Model.Arch.Classes
	a, b := make([]float32, batch*classes), make([]float32, batch*classes)
	if err := et.Run(context.Background(), in, batch, a); err != nil {
		t.Fatal(err)
	}
	if err := eo.Run(context.Background(), in, batch, b); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			t.Fatalf("output %d: tflite %v, onnx %v", i, a[i], b[i])
		}
	}
	if _, err := runtime.Open("native", filepath.Join(dir, "m.pb"), runtime.Options{}); err == nil || !strings.Contains(err.Error(), "want .tflite, .onnx or .ckpt") {
		t.Errorf("unknown extension: %v", err)
	}
}

// A checkpoint opens on the native engine as its float graph (the agent
// opens every engine through the registry; there is no separate
// reference engine).
func TestOpenCheckpoint(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(t), "models", "mnist.ckpt")
	ck, err := model.ReadCheckpointFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e, err := runtime.Open("native", path, runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	img := make([]float32, 28*28)
	for i := range img {
		img[i] = float32(i%29)/10 - 0.4
	}
	want, err := ck.Model.Forward(img)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(want))
	if err := e.Run(context.Background(), img, 1, got); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(float64(want[i]-got[i])) > 1e-4 {
			t.Fatalf("class %d: engine %v, Model.Forward %v", i, got[i], want[i])
		}
	}
}
