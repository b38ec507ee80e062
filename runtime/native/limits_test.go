package native

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/enginetest"
)

// hugeGraph is enginetest.HugeGraph: 4·9·h·w bytes of activations.
var hugeGraph = enginetest.HugeGraph

// TestHugeModelRefusedQuickly is issue 12's 17 KB .tflite that made
// predict reserve 9.8 GB: it is refused before anything is allocated.
func TestHugeModelRefusedQuickly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.tflite")
	if err := tflite.WriteFile(path, hugeGraph(8192, 4096)); err != nil { // 1.1 GiB of activations; the largest tensor is at MaxTensorElements
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Size() > 17<<10 {
		t.Fatalf("crafted model is %d bytes, want ≤ 17 KB", st.Size())
	}
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	_, err := runtime.Open("native", path, runtime.Options{})
	goruntime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "above the limit") {
		t.Fatalf("huge model: %v, want a refusal naming the limit", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Fatalf("refusing it allocated %d MiB", alloc>>20)
	}
	t.Logf("refused: %v", err)

	// An explicit limit that fits lets a moderate version run; a batch
	// above it is refused with ErrInput, before allocating.
	g := hugeGraph(64, 64)
	e, err := New(g, runtime.Options{MaxMemory: 1 << 20})
	if err != nil {
		t.Fatalf("64x64 model under 1 MiB: %v", err)
	}
	need1 := e.MemoryNeed(1)
	if need1 < 4*9*64*64 || need1 > 1<<20 {
		t.Fatalf("MemoryNeed(1) = %d, want at least the activations (%d) and ≤ 1 MiB", need1, 4*9*64*64)
	}
	in, out := make([]float32, 64*64), make([]float32, 64*64*8)
	if err := e.Run(context.Background(), in, 1, out); err != nil {
		t.Fatal(err)
	}
	batch := int(1<<20/need1) + 1
	err = e.Run(context.Background(), make([]float32, batch*64*64), batch, make([]float32, batch*64*64*8))
	if !errors.Is(err, runtime.ErrInput) || !strings.Contains(err.Error(), "above the limit") {
		t.Fatalf("batch %d over the limit: %v", batch, err)
	}
	if _, err := New(g, runtime.Options{MaxMemory: need1 - 1}); err == nil {
		t.Fatal("a limit one byte below the need accepted")
	}
}

func TestQuantRangesRefused(t *testing.T) {
	for name, q := range map[string]*model.Quant{
		"NaN scale":      {Scale: []float32{float32(math.NaN())}, ZeroPoint: []int64{0}},
		"zero scale":     {Scale: []float32{0}, ZeroPoint: []int64{0}},
		"negative scale": {Scale: []float32{-0.1}, ZeroPoint: []int64{0}},
		"huge scale":     {Scale: []float32{1e38}, ZeroPoint: []int64{0}},
		"zero point":     {Scale: []float32{0.1}, ZeroPoint: []int64{300}},
		"NaN range":      {Scale: []float32{0.1}, ZeroPoint: []int64{0}, Min: []float32{float32(math.NaN())}, Max: []float32{1}},
	} {
		g := &model.Graph{Tensors: []model.Tensor{{Name: "x", Type: model.Int8, Shape: []int{1, 4}, Quant: q}},
			Inputs: []int{0}, Outputs: []int{0}}
		if err := g.Validate(); err == nil {
			t.Errorf("%s accepted", name)
		}
		if _, err := tflite.Write(g); err == nil {
			b, _ := tflite.Write(g)
			if _, err := tflite.Read(b); err == nil {
				t.Errorf("%s: tflite.Read accepted it", name)
			}
		}
	}
}
