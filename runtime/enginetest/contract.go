// Package enginetest is the runtime.Engine contract as tests every backend
// runs, native included: concurrent Run, bad input, cancellation, Close,
// the dynamic batch, and options that do not apply. It imports only
// runtime and the standard library, so any backend's tests can use it.
package enginetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/runtime"
)

// ConcurrentRun runs e from 8 goroutines with batches of 1 to 4 of the
// same image (img holds one 28×28 image, normalized) and checks every
// result against a sequential run, within tol (0: bit-identical).
func ConcurrentRun(t *testing.T, img []float32, e runtime.Engine, tol float32) {
	t.Helper()
	classes := Classes(t, e)
	per := len(img)
	four := make([]float32, 0, 4*per)
	for i := 0; i < 4; i++ {
		four = append(four, img...)
	}
	want := make([]float32, 4*classes)
	if err := e.Run(context.Background(), four, 4, want); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			out := make([]float32, 4*classes)
			for r := 0; r < 20; r++ {
				b := 1 + (g+r)%4
				if err := e.Run(context.Background(), four[:b*per], b, out[:b*classes]); err != nil {
					errs <- err
					return
				}
				for j := 0; j < b*classes; j++ {
					if d := out[j] - want[j]; d > tol || d < -tol {
						errs <- errors.New("concurrent run gave different values")
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// BadInputAndClose checks the runtime.Engine contract on an open engine of
// 28×28 images: wrong sizes and batches give ErrInput, a cancelled
// context its error, Close is idempotent, Run after Close gives
// ErrClosed. It leaves e closed.
func BadInputAndClose(t *testing.T, e runtime.Engine) {
	t.Helper()
	ctx := context.Background()
	classes := Classes(t, e)
	out := make([]float32, 2*classes)
	for _, c := range []struct {
		in    []float32
		batch int
		out   []float32
	}{
		{make([]float32, 783), 1, out},
		{make([]float32, 785), 1, out},
		{make([]float32, 784), 2, out},
		{make([]float32, 784), 0, out},
		{make([]float32, 784), -1, out},
		{make([]float32, 1568), 2, out[:2*classes-1]},
	} {
		if err := e.Run(ctx, c.in, c.batch, c.out); !errors.Is(err, runtime.ErrInput) {
			t.Errorf("Run(%d values, batch %d, out %d): %v, want ErrInput", len(c.in), c.batch, len(c.out), err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.Run(cctx, make([]float32, 784), 1, out); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := e.Run(ctx, make([]float32, 784), 1, out); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
}

// Classes is the number of scores per image e produces.
func Classes(t testing.TB, e runtime.Engine) int {
	t.Helper()
	sh := e.Output().Shape
	if len(sh) < 2 {
		t.Fatalf("output shape %v: want [batch, classes]", sh)
	}
	n := 1
	for _, d := range sh[1:] {
		n *= d
	}
	return n
}

// DynamicBatch checks that e reports batch -1 on its input and output and
// that one Run of batch 3 equals three runs of batch 1 (within tol).
func DynamicBatch(t *testing.T, img []float32, e runtime.Engine, tol float32) {
	t.Helper()
	if in, out := e.Input().Shape, e.Output().Shape; len(in) == 0 || in[0] != -1 || len(out) == 0 || out[0] != -1 {
		t.Errorf("input shape %v, output shape %v: want batch -1 (Run takes any batch)", in, out)
	}
	classes := Classes(t, e)
	three := append(append(append([]float32(nil), img...), img...), img...)
	got := make([]float32, 3*classes)
	if err := e.Run(context.Background(), three, 3, got); err != nil {
		t.Fatal(err)
	}
	one := make([]float32, classes)
	if err := e.Run(context.Background(), img, 1, one); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 3; b++ {
		for j := 0; j < classes; j++ {
			if d := got[b*classes+j] - one[j]; d > tol || d < -tol {
				t.Fatalf("batch 3, image %d, class %d: %v, batch 1: %v", b, j, got[b*classes+j], one[j])
			}
		}
	}
}

// Inapplicable checks that open (a backend's opener) refuses, with an
// error wrapping runtime.ErrOption, every option that belongs to another
// backend, on the model at path.
func Inapplicable(t *testing.T, backend, path string, open runtime.Opener) {
	t.Helper()
	all := map[string]runtime.Options{
		"xnnpack":  {XNNPACK: true},
		"delegate": {Delegate: "edgetpu"},
		"ep":       {EP: "cuda"},
		"rounding": {Rounding: "ruy"},
	}
	own := map[string][]string{"native": {"rounding"}, "tflite": {"xnnpack", "delegate"}, "onnxruntime": {"ep"}}[backend]
	for name, opt := range all {
		if slices.Contains(own, name) {
			continue
		}
		e, err := open(path, opt)
		if err == nil {
			e.Close()
			t.Errorf("%s: option %s accepted; it belongs to another backend", backend, name)
			continue
		}
		if !errors.Is(err, runtime.ErrOption) {
			t.Errorf("%s: option %s: %v, want an error wrapping runtime.ErrOption", backend, name, err)
		}
	}
}
