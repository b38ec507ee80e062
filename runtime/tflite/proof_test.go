//go:build tflite

package tflite_test

import (
	"context"
	"math"
	"os"
	"runtime"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/native"
	"github.com/edgecnn/edgecnn/runtime/qmath"
	"github.com/edgecnn/edgecnn/runtime/tflite"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"
)

// images is how many test images the proofs use: all 10,000, unless
// EDGECNN_BACKEND_IMAGES lowers it (the arm64 run under qemu).
func images(t *testing.T, f *backendtest.Fixtures) int {
	if s := os.Getenv("EDGECNN_BACKEND_IMAGES"); s != "" {
		var n int
		for _, c := range s {
			n = n*10 + int(c-'0')
		}
		if n > 0 && n < f.N {
			return n
		}
	}
	return f.N
}

const batch = 250

// runAll runs n images through e in batches and returns all outputs.
func runAll(t *testing.T, e rt.Engine, f *backendtest.Fixtures, n, classes int) []float32 {
	t.Helper()
	out := make([]float32, n*classes)
	for i := 0; i < n; i += batch {
		b := min(batch, n-i)
		if err := e.Run(context.Background(), f.Image(i, b), b, out[i*classes:(i+b)*classes]); err != nil {
			t.Fatalf("%s: images %d..%d: %v", e.Backend(), i, i+b, err)
		}
	}
	return out
}

// TestFloatMatchesNative: on the MNIST test images, TFLite's float outputs
// (its CPU kernels and XNNPACK) equal edgecnn's float forward pass (the
// native engine, itself checked against model.Forward here) within 1e-4.
func TestFloatMatchesNative(t *testing.T) {
	f := backendtest.Load(t)
	n := images(t, f)
	classes := f.Model.Arch.Classes
	ne, err := native.New(f.FloatGraph, rt.Options{Threads: runtime.NumCPU()})
	if err != nil {
		t.Fatal(err)
	}
	defer ne.Close()
	want := runAll(t, ne, f, n, classes)
	// The native engine agrees with the naive reference Model.Forward.
	for i := 0; i < 20; i++ {
		ref, err := f.Model.Forward(f.Image(i, 1))
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(ref, want[i*classes:(i+1)*classes]); d > 1e-4 {
			t.Fatalf("image %d: native float differs from Model.Forward by %g", i, d)
		}
	}
	for _, xnn := range []bool{false, true} {
		e, err := tflite.Open(f.FloatTFLite, rt.Options{XNNPACK: xnn, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		got := runAll(t, e, f, n, classes)
		e.Close()
		d, at := maxDiffAt(want, got)
		t.Logf("float, xnnpack=%v: %d images, max |TFLite - native| = %.3g (image %d)", xnn, n, d, at/classes)
		if d > 1e-4 || math.IsNaN(float64(d)) {
			t.Errorf("float, xnnpack=%v: image %d differs by %g > 1e-4", xnn, at/classes, d)
		}
		if !xnn {
			if err := backendtest.RecordTop1(f.Dir, "tflite-float-"+runtime.GOARCH, backendtest.Top1(got, classes)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestInt8BitExact: TFLite's int8 outputs (its default CPU kernels) are
// compared value for value with the native engine on every test image, and
// with the native engine's plain reference kernels on the first
// refImages (the reference loops are slow; the native engine's own tests
// prove its fast paths equal them). Differences from TFLite's optimized
// kernels must be ±1 and are counted and logged; top-1 must agree on every
// image. XNNPACK (single rounding) is compared the same way with the native
// engine in single-rounding mode.
func TestInt8BitExact(t *testing.T) {
	f := backendtest.Load(t)
	n := images(t, f)
	classes := f.Model.Arch.Classes
	outIdx := f.Int8Graph.Outputs[0]
	if f.Int8Graph.Tensors[outIdx].Type != model.Int8 {
		t.Fatalf("int8 graph output is %v; the proof compares int8 values", f.Int8Graph.Tensors[outIdx].Type)
	}
	const refImages = 500
	for _, c := range []struct {
		name     string
		xnnpack  bool
		rounding qmath.Rounding
	}{
		{"cpu-kernels", false, qmath.Double},
		{"xnnpack", true, qmath.Single},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := tflite.Open(f.Int8TFLite, rt.Options{XNNPACK: c.xnnpack, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if d, _ := e.Delegate(); d != map[bool]string{true: "xnnpack"}[c.xnnpack] {
				t.Fatalf("delegate in use %q", d)
			}
			tfl, top := tfliteInt8(t, e, f, n, classes)
			for _, ref := range []bool{false, true} {
				m := n
				opts := []native.Option{native.WithRounding(c.rounding)}
				what := "native engine"
				if ref {
					m = min(n, refImages)
					opts = append(opts, native.WithReference())
					what = "native reference kernels"
				}
				ne, err := native.New(f.Int8Graph, rt.Options{Threads: runtime.NumCPU()}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				want := nativeInt8(t, ne, outIdx, f, m, classes)
				ne.Close()
				var diffVals, diffImgs, maxd, top1 int
				for k := 0; k < m; k++ {
					differs := false
					for j := 0; j < classes; j++ {
						if d := abs(int(tfl[k*classes+j]) - int(want[k*classes+j])); d != 0 {
							diffVals++
							differs = true
							maxd = max(maxd, d)
						}
					}
					if differs {
						diffImgs++
					}
					if top[k] != argmax(want[k*classes:(k+1)*classes]) {
						top1++
					}
				}
				t.Logf("int8 TFLite %s vs %s (%v rounding), %d images: %d of %d output values differ (in %d images, max |Δ| %d LSB); top-1 disagreements: %d",
					c.name, what, c.rounding, m, diffVals, m*classes, diffImgs, maxd, top1)
				if top1 != 0 {
					t.Errorf("top-1 differs on %d images", top1)
				}
				if maxd > 1 {
					t.Errorf("a difference of %d LSB; only ±1 rounding differences of TFLite's optimized kernels are acceptable", maxd)
				}
			}
			if !c.xnnpack {
				if err := backendtest.RecordTop1(f.Dir, "tflite-int8-"+runtime.GOARCH, top); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// tfliteInt8 runs n images and returns TFLite's raw int8 outputs and top-1.
func tfliteInt8(t *testing.T, e *tflite.Engine, f *backendtest.Fixtures, n, classes int) ([]int8, []int) {
	t.Helper()
	q := make([]int8, 0, n*classes)
	out := make([]float32, batch*classes)
	var top []int
	for i := 0; i < n; i += batch {
		b := min(batch, n-i)
		if err := e.Run(context.Background(), f.Image(i, b), b, out[:b*classes]); err != nil {
			t.Fatal(err)
		}
		raw, err := e.RawOutput()
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != b*classes {
			t.Fatalf("raw output %d bytes, want %d", len(raw), b*classes)
		}
		for _, v := range raw {
			q = append(q, int8(v))
		}
		top = append(top, backendtest.Top1(out[:b*classes], classes)...)
	}
	return q, top
}

// nativeInt8 runs n images and returns the native engine's int8 outputs.
func nativeInt8(t *testing.T, ne *native.Engine, outIdx int, f *backendtest.Fixtures, n, classes int) []int8 {
	t.Helper()
	q := make([]int8, 0, n*classes)
	out := make([]float32, batch*classes)
	for i := 0; i < n; i += batch {
		b := min(batch, n-i)
		if err := ne.Run(context.Background(), f.Image(i, b), b, out[:b*classes]); err != nil {
			t.Fatal(err)
		}
		tv, err := ne.TensorData(outIdx)
		if err != nil {
			t.Fatal(err)
		}
		q = append(q, tv.I8...)
	}
	return q
}

func argmax(v []int8) int {
	best := 0
	for j := range v {
		if v[j] > v[best] {
			best = j
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func maxDiff(a, b []float32) float32 { d, _ := maxDiffAt(a, b); return d }

func maxDiffAt(a, b []float32) (float32, int) {
	var m float32
	at := 0
	for i := range a {
		d := a[i] - b[i]
		if d < 0 {
			d = -d
		}
		if d > m || d != d {
			m, at = d, i
		}
	}
	return m, at
}
