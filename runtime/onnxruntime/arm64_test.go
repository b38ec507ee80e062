//go:build onnxruntime && arm64

package onnxruntime_test

import (
	"testing"

	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/onnxruntime"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"
)

// TestCrossArchTop1 runs ONNX Runtime's arm64 library (under qemu-user in
// `make test-backends-arm64`) on the model files of the amd64 run and
// checks that every image gets the top-1 the amd64 run recorded.
func TestCrossArchTop1(t *testing.T) {
	f := backendtest.Load(t)
	n := images(f)
	classes := f.Model.Arch.Classes
	for _, c := range []struct{ key, path string }{
		{"ort-float-amd64", f.FloatONNX},
		{"ort-int8-amd64", f.Int8ONNX},
	} {
		rec, err := backendtest.RecordedTop1(f.Dir, c.key)
		if err != nil {
			t.Fatalf("%v (the amd64 run of make test-backends records it)", err)
		}
		if len(rec) < n {
			t.Fatalf("%s: %d recorded predictions, need %d", c.key, len(rec), n)
		}
		e, err := onnxruntime.Open(c.path, rt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := backendtest.Top1(runAll(t, e, f.Image, n, classes), classes)
		e.Close()
		diff := 0
		for i := range got {
			if got[i] != rec[i] {
				diff++
			}
		}
		t.Logf("%s: arm64 top-1 differs from amd64 on %d of %d images", c.key, diff, n)
		if diff != 0 {
			t.Errorf("%s: %d top-1 differences", c.key, diff)
		}
	}
}
