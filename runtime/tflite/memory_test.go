//go:build tflite

package tflite_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	tflitefmt "github.com/edgecnn/edgecnn/model/tflite"
	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/enginetest"
	"github.com/edgecnn/edgecnn/runtime/tflite"
)

// TestEngineMemoryLimit: a crafted 17 KB model whose tensors need 1.1 GiB
// is refused with ErrMemory naming both numbers, before TensorFlow Lite
// sees it (in a fresh process whose library cannot load, the refusal still
// comes, while a small model reports the missing library); a moderate
// model opens and runs with the real library once the limit allows it.
func TestEngineMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.tflite")
	if err := tflitefmt.WriteFile(huge, enginetest.HugeGraph(8192, 4096)); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(huge); st.Size() > 17<<10 {
		t.Fatalf("crafted model is %d bytes, want ≤ 17 KB", st.Size())
	}
	_, err := tflite.Open(huge, rt.Options{})
	if !errors.Is(err, rt.ErrMemory) || !strings.Contains(err.Error(), "1152 MiB") || !strings.Contains(err.Error(), "--engine-memory") {
		t.Fatalf("huge model: %v, want ErrMemory naming 1152 MiB and --engine-memory", err)
	}
	t.Logf("refused: %v", err)

	small := filepath.Join(dir, "small.tflite")
	if err := tflitefmt.WriteFile(small, enginetest.HugeGraph(64, 64)); err != nil {
		t.Fatal(err)
	}
	const need = 4 * 9 * 64 * 64 // the input and output activations
	if _, err := tflite.Open(small, rt.Options{MaxMemory: need - 1}); !errors.Is(err, rt.ErrMemory) {
		t.Fatalf("limit one byte below the tensors: %v", err)
	}
	e, err := tflite.Open(small, rt.Options{MaxMemory: need})
	if err != nil {
		t.Fatalf("limit at the tensors: %v", err)
	}
	defer e.Close()
	if err := e.Run(context.Background(), make([]float32, 64*64), 1, make([]float32, 64*64*8)); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestEngineMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), "EDGECNN_TFLITE_MEMORY_CHILD="+dir, tflite.LibraryEnv+"="+filepath.Join(dir, "no-libtensorflowlite_c.so"), "LD_LIBRARY_PATH=")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "--- PASS: TestEngineMemoryChild") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestEngineMemoryChild is TestEngineMemoryLimit's child, where the
// library cannot load: the huge model is refused for its memory, so the
// check came before the library.
func TestEngineMemoryChild(t *testing.T) {
	dir := os.Getenv("EDGECNN_TFLITE_MEMORY_CHILD")
	if dir == "" {
		t.Skip("helper process of TestEngineMemoryLimit")
	}
	if _, err := tflite.Open(filepath.Join(dir, "small.tflite"), rt.Options{}); !errors.Is(err, tflite.ErrLibrary) {
		t.Fatalf("small model without the library: %v, want ErrLibrary", err)
	}
	if _, err := tflite.Open(filepath.Join(dir, "huge.tflite"), rt.Options{}); !errors.Is(err, rt.ErrMemory) {
		t.Fatalf("huge model without the library: %v, want ErrMemory", err)
	}
}
