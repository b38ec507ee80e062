//go:build onnxruntime

package onnxruntime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	onnxfmt "github.com/edgecnn/edgecnn/model/onnx"
	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/enginetest"
	"github.com/edgecnn/edgecnn/runtime/onnxruntime"
)

// TestEngineMemoryLimit: a crafted model whose tensors need 1.1 GiB is
// refused with ErrMemory naming both numbers before ONNX Runtime sees it
// (with a library path that does not exist the refusal still comes, while
// a small model reports the missing library); a moderate model opens and
// runs with the real library once the limit allows it.
func TestEngineMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.onnx")
	if err := onnxfmt.WriteFile(huge, enginetest.HugeGraph(8192, 4096)); err != nil {
		t.Fatal(err)
	}
	_, err := onnxruntime.Open(huge, rt.Options{})
	if !errors.Is(err, rt.ErrMemory) || !strings.Contains(err.Error(), "1152 MiB") || !strings.Contains(err.Error(), "--engine-memory") {
		t.Fatalf("huge model: %v, want ErrMemory naming 1152 MiB and --engine-memory", err)
	}
	t.Logf("refused: %v", err)
	small := filepath.Join(dir, "small.onnx")
	if err := onnxfmt.WriteFile(small, enginetest.HugeGraph(64, 64)); err != nil {
		t.Fatal(err)
	}
	// No engine is open here, so ONNX Runtime's environment is not
	// initialised: a library path that does not exist fails the small
	// model, but the huge one is refused before the library is touched.
	missing := filepath.Join(dir, "libonnxruntime.so.1")
	if _, err := onnxruntime.Open(small, rt.Options{LibPath: missing}); !errors.Is(err, onnxruntime.ErrLibrary) {
		t.Fatalf("small model with a missing library: %v, want ErrLibrary", err)
	}
	if _, err := onnxruntime.Open(huge, rt.Options{LibPath: missing}); !errors.Is(err, rt.ErrMemory) {
		t.Fatalf("huge model with a missing library: %v, want ErrMemory", err)
	}
	const need = 4 * 9 * 64 * 64 // the input and output activations
	if _, err := onnxruntime.Open(small, rt.Options{MaxMemory: need - 1, LibPath: realLib(t)}); !errors.Is(err, rt.ErrMemory) {
		t.Fatalf("limit one byte below the tensors: %v", err)
	}
	e, err := onnxruntime.Open(small, rt.Options{MaxMemory: need, LibPath: realLib(t)})
	if err != nil {
		t.Fatalf("limit at the tensors: %v", err)
	}
	defer e.Close()
	if err := e.Run(context.Background(), make([]float32, 64*64), 1, make([]float32, 64*64*8)); err != nil {
		t.Fatal(err)
	}
	// A file that declares huge tensors but that edgecnn's reader does not
	// understand is judged by its declarations.
	if n, err := onnxfmt.ActivationBytes(mustRead(t, huge)); err != nil || n != 4*9*8192*4096 {
		t.Errorf("ActivationBytes = %d, %v; want %d", n, err, 4*9*8192*4096)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
