//go:build tflite && arm64

package tflite_test

import (
	"testing"

	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/native"
	"github.com/edgecnn/edgecnn/runtime/qmath"
	"github.com/edgecnn/edgecnn/runtime/tflite"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"
)

// TestCrossArchTop1 runs TFLite's arm64 library (under qemu-user in
// `make test-backends-arm64`) on the model files of the amd64 run and
// checks that every image gets the top-1 the amd64 run recorded. The int8
// outputs are also compared value for value with the native engine's arm64
// kernels in both rounding modes.
func TestCrossArchTop1(t *testing.T) {
	f := backendtest.Load(t)
	n := images(t, f)
	classes := f.Model.Arch.Classes
	for _, c := range []struct{ key, path string }{
		{"tflite-float-amd64", f.FloatTFLite},
		{"tflite-int8-amd64", f.Int8TFLite},
	} {
		rec, err := backendtest.RecordedTop1(f.Dir, c.key)
		if err != nil {
			t.Fatalf("%v (the amd64 run of make test-backends records it)", err)
		}
		if len(rec) < n {
			t.Fatalf("%s: %d recorded predictions, need %d", c.key, len(rec), n)
		}
		e, err := tflite.Open(c.path, rt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := backendtest.Top1(runAll(t, e, f, n, classes), classes)
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
	e, err := tflite.Open(f.Int8TFLite, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	tfl, _ := tfliteInt8(t, e, f, n, classes)
	// TFLite 2.9's arm64 kernels round differently from its x86-64 ones:
	// they requantize with single rounding (as TFLITE_SINGLE_ROUNDING builds
	// and XNNPACK do), so they must equal the native engine in that mode
	// exactly; against the default double rounding the ±1 are counted.
	for _, r := range []qmath.Rounding{qmath.Double, qmath.Single} {
		ne, err := native.New(f.Int8Graph, rt.Options{}, native.WithRounding(r))
		if err != nil {
			t.Fatal(err)
		}
		want := nativeInt8(t, ne, f.Int8Graph.Outputs[0], f, n, classes)
		ne.Close()
		diffs, maxd := 0, 0
		for i := range want {
			if d := abs(int(tfl[i]) - int(want[i])); d != 0 {
				diffs++
				maxd = max(maxd, d)
			}
		}
		t.Logf("int8 on arm64: TFLite vs native engine (%v rounding), %d images: %d of %d values differ (max |Δ| %d)", r, n, diffs, len(want), maxd)
		if maxd > 1 {
			t.Errorf("difference of %d LSB", maxd)
		}
		if r == qmath.Single && diffs != 0 {
			t.Errorf("TFLite arm64 is not bit-exact with single rounding: %d values differ", diffs)
		}
	}
}
