//go:build onnxruntime

package onnxruntime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	onnxfmt "github.com/edgecnn/edgecnn/model/onnx"
	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/enginetest"
	"github.com/edgecnn/edgecnn/runtime/onnxruntime"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"
)

func TestRegistered(t *testing.T) {
	f := backendtest.Load(t)
	e, err := rt.Open("onnxruntime", f.FloatONNX, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Backend() != "onnxruntime" {
		t.Errorf("backend %q", e.Backend())
	}
	if s := e.Input().Shape; len(s) != 4 || s[0] != -1 || s[1] != 28 || s[2] != 28 || s[3] != 1 {
		t.Errorf("input shape %v, want [-1 28 28 1]", s)
	}
	if s := e.Output().Shape; len(s) != 2 || s[1] != f.Classes() {
		t.Errorf("output shape %v", s)
	}
	if len(e.Metadata()) == 0 {
		t.Error("no metadata")
	}
	for k, v := range f.FloatGraph.Metadata {
		if e.Metadata()[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, e.Metadata()[k], v)
		}
	}
}

// TestQuantizedIO: the int8 QDQ model keeps the int8 graph's int8 I/O; the
// engine quantizes and dequantizes with the file's parameters.
func TestQuantizedIO(t *testing.T) {
	f := backendtest.Load(t)
	e, err := onnxruntime.Open(f.Int8ONNX, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	gi, gout := f.Int8Graph.Tensors[f.Int8Graph.Inputs[0]], f.Int8Graph.Tensors[f.Int8Graph.Outputs[0]]
	in, out := e.Input(), e.Output()
	if in.Type != gi.Type || out.Type != gout.Type {
		t.Fatalf("I/O types %v/%v, graph %v/%v", in.Type, out.Type, gi.Type, gout.Type)
	}
	if gi.Quant != nil && (in.Quant == nil || in.Quant.Scale[0] != gi.Quant.Scale[0]) {
		t.Fatalf("input quantization %+v, graph %+v", in.Quant, gi.Quant)
	}
	res := make([]float32, f.Classes())
	if err := e.Run(context.Background(), f.Image(0, 1), 1, res); err != nil {
		t.Fatal(err)
	}
	raw, err := e.RawOutput()
	if err != nil {
		t.Fatal(err)
	}
	if out.Quant != nil {
		for j, q := range raw {
			if want := out.Quant.Scale[0] * float32(int32(int8(q))-int32(out.Quant.ZeroPoint[0])); res[j] != want {
				t.Fatalf("output %d = %v, want %v", j, res[j], want)
			}
		}
	}
}

// TestDynamicBatch: batches of different sizes (tensors re-created) give
// the values of single runs.
func TestDynamicBatch(t *testing.T) {
	f := backendtest.Load(t)
	e, err := onnxruntime.Open(f.FloatONNX, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	one := make([]float32, f.Classes())
	for _, b := range []int{5, 1, 17, 5} {
		all := make([]float32, b*f.Classes())
		if err := e.Run(context.Background(), f.Image(0, b), b, all); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < b; i++ {
			if err := e.Run(context.Background(), f.Image(i, 1), 1, one); err != nil {
				t.Fatal(err)
			}
			for j := range one {
				if d := one[j] - all[i*f.Classes()+j]; d > 1e-5 || d < -1e-5 {
					t.Fatalf("batch %d image %d class %d: %v vs single %v", b, i, j, all[i*f.Classes()+j], one[j])
				}
			}
		}
	}
}

func TestConcurrentRun(t *testing.T) {
	f := backendtest.Load(t)
	e, err := onnxruntime.Open(f.Int8ONNX, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	enginetest.ConcurrentRun(t, f.Image(0, 1), e, 1e-5)
}

// The contract every backend shares: batch -1 and options of other
// backends refused.
func TestContract(t *testing.T) {
	f := backendtest.Load(t)
	e, err := onnxruntime.Open(f.FloatONNX, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	enginetest.DynamicBatch(t, f.Image(0, 1), e, 1e-5)
	enginetest.Inapplicable(t, onnxruntime.Name, f.FloatONNX, func(p string, o rt.Options) (rt.Engine, error) { return onnxruntime.Open(p, o) })
}

func TestBadInput(t *testing.T) {
	f := backendtest.Load(t)
	e, err := onnxruntime.Open(f.FloatONNX, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.BadInputAndClose(t, e)
}

func TestBadFiles(t *testing.T) {
	f := backendtest.Load(t)
	dir := t.TempDir()
	good, err := os.ReadFile(f.FloatONNX)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"empty.onnx":     nil,
		"random.onnx":    []byte(strings.Repeat("\x13\x37garbage", 200)),
		"truncated.onnx": good[:len(good)/3],
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if e, err := onnxruntime.Open(p, rt.Options{}); err == nil {
			e.Close()
			t.Errorf("%s: opened", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := onnxruntime.Open(filepath.Join(dir, "missing.onnx"), rt.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestMissingLibrary: a missing or wrong shared library is an error naming
// the file and how to get it; nothing is left initialized, so the real
// library loads afterwards.
func TestMissingLibrary(t *testing.T) {
	f := backendtest.Load(t)
	missing := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	_, err := onnxruntime.Open(f.FloatONNX, rt.Options{LibPath: missing})
	if !errors.Is(err, onnxruntime.ErrLibrary) {
		t.Fatalf("missing library: %v, want ErrLibrary", err)
	}
	for _, want := range []string{missing, "make libs", "onnxruntime-node@1.30.0", onnxruntime.LibraryEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	t.Setenv(onnxruntime.LibraryEnv, missing)
	if _, err := onnxruntime.Open(f.FloatONNX, rt.Options{}); !errors.Is(err, onnxruntime.ErrLibrary) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing library through %s: %v", onnxruntime.LibraryEnv, err)
	}
	// A shared library that is not ONNX Runtime.
	notORT := filepath.Join(t.TempDir(), "libnot.so")
	if err := os.Symlink("/lib/x86_64-linux-gnu/libm.so.6", notORT); err == nil {
		if _, err := os.Stat("/lib/x86_64-linux-gnu/libm.so.6"); err == nil {
			if _, err := onnxruntime.Open(f.FloatONNX, rt.Options{LibPath: notORT}); !errors.Is(err, onnxruntime.ErrLibrary) || !strings.Contains(err.Error(), "OrtGetApiBase") {
				t.Errorf("not ONNX Runtime: %v", err)
			}
		}
	}
	t.Setenv(onnxruntime.LibraryEnv, os.Getenv("EDGECNN_ORT_LIB_REAL"))
	e, err := onnxruntime.Open(f.FloatONNX, rt.Options{LibPath: realLib(t)})
	if err != nil {
		t.Fatalf("real library after failures: %v", err)
	}
	e.Close()
}

// realLib is the library the tests run with (EDGECNN_ORT_LIB, set by make).
func realLib(t *testing.T) string {
	if p := os.Getenv("EDGECNN_ORT_LIB_REAL"); p != "" {
		return p
	}
	t.Fatal("EDGECNN_ORT_LIB is not set (run the tests with make test-backends)")
	return ""
}

func TestMain(m *testing.M) {
	os.Setenv("EDGECNN_ORT_LIB_REAL", os.Getenv(onnxruntime.LibraryEnv))
	os.Exit(m.Run())
}

// TestExecutionProviders: CUDA and TensorRT are not in this ONNX Runtime
// build (and there is no GPU); asking for them is an error saying what is
// missing, and Fallback runs on the CPU.
func TestExecutionProviders(t *testing.T) {
	f := backendtest.Load(t)
	for _, ep := range []string{"cuda", "tensorrt"} {
		_, err := onnxruntime.Open(f.FloatONNX, rt.Options{EP: ep})
		if err == nil {
			t.Fatalf("%s: opened without the provider", ep)
		}
		t.Logf("%s: %v", ep, err)
		for _, want := range []string{ep, "--fallback", "Jetson"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", ep, err, want)
			}
		}
		e, err := onnxruntime.Open(f.FloatONNX, rt.Options{EP: ep, Fallback: true})
		if err != nil {
			t.Fatalf("%s with fallback: %v", ep, err)
		}
		if name, why := e.EP(); name != "cpu" || why == "" {
			t.Errorf("%s with fallback: EP %q, reason %q", ep, name, why)
		}
		out := make([]float32, f.Classes())
		if err := e.Run(context.Background(), f.Image(0, 1), 1, out); err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
	if _, err := onnxruntime.Open(f.FloatONNX, rt.Options{EP: "openvino"}); err == nil || !strings.Contains(err.Error(), "unknown execution provider") {
		t.Errorf("unknown EP: %v", err)
	}
}

// TestLeak runs 100,000 inferences and 300 open/run/close cycles (each one
// loading and unloading the environment) on a small model and checks that
// the resident set stays bounded.
func TestLeak(t *testing.T) {
	g, err := backendtest.SmallGraph()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "small.onnx")
	if err := onnxfmt.WriteFile(p, g); err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 784)
	for i := range in {
		in[i] = float32(i%17) / 17
	}
	out := make([]float32, 10)
	in3, out3 := append(append(append([]float32(nil), in...), in...), in...), make([]float32, 30)
	ctx := context.Background()
	e, err := onnxruntime.Open(p, rt.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5000; i++ {
		e.Run(ctx, in, 1, out)
	}
	debug.FreeOSMemory() // the Go heap's share of RSS settles; what remains growing is C memory
	before, err := backendtest.RSS()
	if err != nil {
		t.Fatal(err)
	}
	const runs = 100000
	for i := 0; i < runs; i++ {
		if err := e.Run(ctx, in, 1, out); err != nil {
			t.Fatal(err)
		}
	}
	debug.FreeOSMemory()
	afterRuns, _ := backendtest.RSS()
	e.Close()
	for i := 0; i < 300; i++ {
		e, err := onnxruntime.Open(p, rt.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Run(ctx, in3[:784*(1+i%3)], 1+i%3, out3); err != nil {
			t.Fatal(err)
		}
		if err := e.Run(ctx, in, 1, out); err != nil {
			t.Fatal(err)
		}
		e.Close()
	}
	debug.FreeOSMemory()
	afterCycles, _ := backendtest.RSS()
	t.Logf("VmRSS: %d kB after warm-up, %d kB after %d runs (%+d kB), %d kB after 300 open/run/close cycles (%+d kB)",
		before, afterRuns, runs, afterRuns-before, afterCycles, afterCycles-afterRuns)
	if afterRuns-before > 2048 { // 20 bytes per run
		t.Errorf("RSS grew by %d kB over %d runs", afterRuns-before, runs)
	}
	if afterCycles-afterRuns > 16384 {
		t.Errorf("RSS grew by %d kB over 300 open/close cycles", afterCycles-afterRuns)
	}
}
