package backendtest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/runtime"
)

// ConcurrentRun runs e from 8 goroutines with batches of 1 to 4 of the
// same image and checks every result against a sequential run, within tol
// (0: bit-identical). e takes 28×28 images and has f.Classes() classes.
func ConcurrentRun(t *testing.T, f *Fixtures, e runtime.Engine, tol float32) {
	t.Helper()
	C := f.Classes()
	want := make([]float32, 4*C)
	if err := e.Run(context.Background(), f.Image(0, 4), 4, want); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			out := make([]float32, 4*C)
			for r := 0; r < 20; r++ {
				b := 1 + (g+r)%4
				if err := e.Run(context.Background(), f.Image(0, b), b, out[:b*C]); err != nil {
					errs <- err
					return
				}
				for j := 0; j < b*C; j++ {
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
// 28×28 images (10 or more classes): wrong sizes and batches give ErrInput, a
// cancelled context its error, Close is idempotent, Run after Close gives
// ErrClosed. It leaves e closed.
func BadInputAndClose(t *testing.T, e runtime.Engine) {
	t.Helper()
	ctx := context.Background()
	out := make([]float32, 20)
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
		{make([]float32, 1568), 2, out[:19]},
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
