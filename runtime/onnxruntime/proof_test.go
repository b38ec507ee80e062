//go:build onnxruntime

package onnxruntime_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	onnxfmt "github.com/edgecnn/edgecnn/model/onnx"
	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/native"
	"github.com/edgecnn/edgecnn/runtime/onnxruntime"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"
	"github.com/edgecnn/edgecnn/train"
)

// images is how many test images the proofs use: all 10,000, unless
// EDGECNN_BACKEND_IMAGES lowers it (the arm64 run under qemu).
func images(f *backendtest.Fixtures) int {
	if n, err := strconv.Atoi(os.Getenv("EDGECNN_BACKEND_IMAGES")); err == nil && n > 0 && n < f.N {
		return n
	}
	return f.N
}

const batch = 250

func runAll(t *testing.T, e rt.Engine, x func(i, n int) []float32, n, classes int) []float32 {
	t.Helper()
	out := make([]float32, n*classes)
	for i := 0; i < n; i += batch {
		b := min(batch, n-i)
		if err := e.Run(context.Background(), x(i, b), b, out[i*classes:(i+b)*classes]); err != nil {
			t.Fatalf("%s: images %d..%d: %v", e.Backend(), i, i+b, err)
		}
	}
	return out
}

// TestFloatMatchesNative: ONNX Runtime's outputs for the float .onnx equal
// edgecnn's float forward pass (native engine) within 1e-4 on the test set.
func TestFloatMatchesNative(t *testing.T) {
	f := backendtest.Load(t)
	n := images(f)
	classes := f.Model.Arch.Classes
	ne, err := native.New(f.FloatGraph, rt.Options{Threads: runtime.NumCPU()})
	if err != nil {
		t.Fatal(err)
	}
	want := runAll(t, ne, f.Image, n, classes)
	ne.Close()
	e, err := onnxruntime.Open(f.FloatONNX, rt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := runAll(t, e, f.Image, n, classes)
	e.Close()
	d, at := maxDiffAt(want, got)
	t.Logf("float: %d images, max |ONNX Runtime - native| = %.3g (image %d)", n, d, at/classes)
	if !(d <= 1e-4) {
		t.Errorf("image %d differs by %g > 1e-4", at/classes, d)
	}
	if err := backendtest.RecordTop1(f.Dir, "ort-float-"+runtime.GOARCH, backendtest.Top1(got, classes)); err != nil {
		t.Fatal(err)
	}
}

// TestInt8QDQ: ONNX Runtime on the QDQ twin of the int8 graph agrees with
// the native int8 engine on top-1 for at least 99.9% of the test images;
// the largest output difference is reported (in real units and LSB).
func TestInt8QDQ(t *testing.T) {
	f := backendtest.Load(t)
	n := images(f)
	classes := f.Model.Arch.Classes
	ne, err := native.New(f.Int8Graph, rt.Options{Threads: runtime.NumCPU()})
	if err != nil {
		t.Fatal(err)
	}
	want := runAll(t, ne, f.Image, n, classes)
	ne.Close()
	e, err := onnxruntime.Open(f.Int8ONNX, rt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := runAll(t, e, f.Image, n, classes)
	out := e.Output()
	e.Close()
	d, at := maxDiffAt(want, got)
	gt, wt := backendtest.Top1(got, classes), backendtest.Top1(want, classes)
	agree := 0
	for i := range gt {
		if gt[i] == wt[i] {
			agree++
		}
	}
	lsb := ""
	if out.Quant != nil {
		lsb = " = " + strconv.FormatFloat(float64(d/out.Quant.Scale[0]), 'f', 1, 32) + " LSB"
	}
	t.Logf("int8 QDQ (output %v): %d images, top-1 agreement with the native int8 engine %d/%d (%.2f%%), max |ONNX Runtime - native| = %.4g%s (image %d)",
		out.Type, n, agree, n, 100*float64(agree)/float64(n), d, lsb, at/classes)
	if float64(agree) < 0.999*float64(n) {
		t.Errorf("top-1 agreement %d/%d below 99.9%%", agree, n)
	}
	if err := backendtest.RecordTop1(f.Dir, "ort-int8-"+runtime.GOARCH, gt); err != nil {
		t.Fatal(err)
	}
}

// TestNHWCInput: with three input channels the engine's NHWC → NCHW
// transposition matters; outputs equal the native engine on the same graph.
func TestNHWCInput(t *testing.T) {
	a := model.Arch{InputH: 12, InputW: 8, InputC: 3, Width: 4, Hidden: 8, Classes: 5}
	m, err := model.New(a)
	if err != nil {
		t.Fatal(err)
	}
	train.Init(m, 3)
	g, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "rgb.onnx")
	if err := onnxfmt.WriteFile(p, g); err != nil {
		t.Fatal(err)
	}
	const n = 9
	x := make([]float32, n*12*8*3)
	for i := range x {
		x[i] = float32(math.Sin(float64(i) * 0.37))
	}
	img := func(i, b int) []float32 { return x[i*288 : (i+b)*288] }
	ne, err := native.New(g, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := runAll(t, ne, img, n, 5)
	ne.Close()
	e, err := onnxruntime.Open(p, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if s := e.Input().Shape; len(s) != 4 || s[1] != 12 || s[2] != 8 || s[3] != 3 {
		t.Fatalf("input shape %v, want [N 12 8 3] (NHWC)", s)
	}
	got := runAll(t, e, img, n, 5)
	if d, at := maxDiffAt(want, got); !(d <= 1e-4) {
		t.Fatalf("3-channel input: output %d differs by %g", at, d)
	}
}

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
