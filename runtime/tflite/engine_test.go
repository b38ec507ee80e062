//go:build tflite

package tflite_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	rt "github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/enginetest"
	"github.com/edgecnn/edgecnn/runtime/tflite"
	"github.com/edgecnn/edgecnn/runtime/tflite/backendtest"

	tflitefmt "github.com/edgecnn/edgecnn/model/tflite"
)

func TestRegistered(t *testing.T) {
	f := backendtest.Load(t)
	e, err := rt.Open("tflite", f.FloatTFLite, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Backend() != "tflite" {
		t.Errorf("backend %q", e.Backend())
	}
	if v, err := tflite.Version(); err != nil || !strings.HasPrefix(v, "2.9") {
		t.Errorf("TFLite version %q (%v), want 2.9.x", v, err)
	}
	in, out := e.Input(), e.Output()
	if got := in.Shape; len(got) != 4 || got[1] != 28 || got[2] != 28 || got[3] != 1 {
		t.Errorf("input shape %v", got)
	}
	if got := out.Shape; len(got) != 2 || got[1] != f.Classes() {
		t.Errorf("output shape %v", got)
	}
	// Metadata travels in the file.
	for k, v := range f.FloatGraph.Metadata {
		if e.Metadata()[k] != v {
			t.Errorf("metadata %q = %q, want %q", k, e.Metadata()[k], v)
		}
	}
	if len(e.Metadata()) == 0 {
		t.Error("no metadata")
	}
}

func TestInt8IO(t *testing.T) {
	f := backendtest.Load(t)
	e, err := tflite.Open(f.Int8TFLite, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	in, out := e.Input(), e.Output()
	gi, gout := f.Int8Graph.Tensors[f.Int8Graph.Inputs[0]], f.Int8Graph.Tensors[f.Int8Graph.Outputs[0]]
	if in.Type != gi.Type || out.Type != gout.Type {
		t.Fatalf("I/O types %v/%v, graph %v/%v", in.Type, out.Type, gi.Type, gout.Type)
	}
	if in.Quant == nil || in.Quant.Scale[0] != gi.Quant.Scale[0] || in.Quant.ZeroPoint[0] != gi.Quant.ZeroPoint[0] {
		t.Fatalf("input quantization %+v, graph %+v", in.Quant, gi.Quant)
	}
	if out.Quant == nil || out.Quant.Scale[0] != gout.Quant.Scale[0] || out.Quant.ZeroPoint[0] != gout.Quant.ZeroPoint[0] {
		t.Fatalf("output quantization %+v, graph %+v", out.Quant, gout.Quant)
	}
	// Dequantized output = scale·(q − zp) of the raw int8 values.
	res := make([]float32, f.Classes())
	if err := e.Run(context.Background(), f.Image(0, 1), 1, res); err != nil {
		t.Fatal(err)
	}
	raw, _ := e.RawOutput()
	for j, q := range raw {
		if want := out.Quant.Scale[0] * float32(int32(int8(q))-int32(out.Quant.ZeroPoint[0])); res[j] != want {
			t.Fatalf("output %d = %v, want %v from q=%d", j, res[j], want, int8(q))
		}
	}
}

// TestBatchEqualsSingle: a batch of 7 (interpreter resized) gives the same
// values as 7 runs of one: identical for int8, within 1e-5 for float (the
// float GEMM blocks differently with the batch).
func TestBatchEqualsSingle(t *testing.T) {
	f := backendtest.Load(t)
	for _, c := range []struct {
		p   string
		tol float32
	}{{f.FloatTFLite, 1e-5}, {f.Int8TFLite, 0}} {
		p := c.p
		e, err := tflite.Open(p, rt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		all := make([]float32, 7*f.Classes())
		if err := e.Run(context.Background(), f.Image(3, 7), 7, all); err != nil {
			t.Fatal(err)
		}
		one := make([]float32, f.Classes())
		for i := 0; i < 7; i++ {
			if err := e.Run(context.Background(), f.Image(3+i, 1), 1, one); err != nil {
				t.Fatal(err)
			}
			for j := range one {
				if d := one[j] - all[i*f.Classes()+j]; d > c.tol || d < -c.tol {
					t.Fatalf("%s: image %d class %d: batch %v, single %v", filepath.Base(p), i, j, all[i*f.Classes()+j], one[j])
				}
			}
		}
		e.Close()
	}
}

func TestConcurrentRun(t *testing.T) {
	f := backendtest.Load(t)
	e, err := tflite.Open(f.Int8TFLite, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	enginetest.ConcurrentRun(t, f.Image(0, 1), e, 0)
}

// The contract every backend shares: batch -1 and options of other
// backends refused.
func TestContract(t *testing.T) {
	f := backendtest.Load(t)
	e, err := tflite.Open(f.FloatTFLite, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	enginetest.DynamicBatch(t, f.Image(0, 1), e, 1e-5) // float kernels block batches differently
	enginetest.Inapplicable(t, tflite.Name, f.FloatTFLite, func(p string, o rt.Options) (rt.Engine, error) { return tflite.Open(p, o) })
}

func TestBadInput(t *testing.T) {
	f := backendtest.Load(t)
	e, err := tflite.Open(f.FloatTFLite, rt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.BadInputAndClose(t, e)
	if _, err := e.RawOutput(); !errors.Is(err, rt.ErrClosed) {
		t.Errorf("RawOutput after Close: %v, want ErrClosed", err)
	}
}

func TestBadFiles(t *testing.T) {
	f := backendtest.Load(t)
	dir := t.TempDir()
	good, err := os.ReadFile(f.FloatTFLite)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty.tflite":     nil,
		"random.tflite":    []byte(strings.Repeat("\x13\x37garbage", 200)),
		"truncated.tflite": good[:len(good)/3],
	}
	for name, data := range cases {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if e, err := tflite.Open(p, rt.Options{}); err == nil {
			e.Close()
			t.Errorf("%s: opened", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	if _, err := tflite.Open(filepath.Join(dir, "missing.tflite"), rt.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := tflite.Open(f.FloatTFLite, rt.Options{Delegate: "gpu"}); err == nil || !strings.Contains(err.Error(), "unknown delegate") {
		t.Errorf("unknown delegate: %v", err)
	}
}

// TestEdgeTPUMissing: without libedgetpu.so.1 asking for the Edge TPU is an
// error naming the library and the install step; with Fallback the engine
// runs on the CPU and says why.
func TestEdgeTPUMissing(t *testing.T) {
	f := backendtest.Load(t)
	t.Setenv(tflite.EdgeTPUEnv, "")
	_, err := tflite.Open(f.Int8TFLite, rt.Options{Delegate: "edgetpu"})
	if err == nil {
		t.Fatal("Edge TPU delegate opened on a machine without libedgetpu")
	}
	for _, want := range []string{"libedgetpu.so.1", "apt-get install libedgetpu1-std", "--fallback"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	e, err := tflite.Open(f.Int8TFLite, rt.Options{Delegate: "edgetpu", Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if d, why := e.Delegate(); d != "" || !strings.Contains(why, "libedgetpu.so.1") {
		t.Errorf("after fallback: delegate %q, reason %q", d, why)
	}
	out := make([]float32, f.Classes())
	if err := e.Run(context.Background(), f.Image(0, 1), 1, out); err != nil {
		t.Fatal(err)
	}
}

// TestEdgeTPUPluginABI builds stand-ins for libedgetpu.so.1 (the Coral
// device cannot exist here) and loads them through the real dlopen path:
// one exports the external-delegate plugin entry points and hands out
// TFLite's XNNPACK delegate, one finds no device, one lacks the symbols.
func TestEdgeTPUPluginABI(t *testing.T) {
	f := backendtest.Load(t)
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	libdir := tfliteLibDir(t)
	dir := t.TempDir()
	build := func(name, src string) string {
		c := filepath.Join(dir, name+".c")
		so := filepath.Join(dir, name, "libedgetpu.so.1")
		os.MkdirAll(filepath.Dir(so), 0o755)
		os.WriteFile(c, []byte(src), 0o644)
		cmd := exec.Command(cc, "-shared", "-fPIC", "-o", so, c, "-L"+libdir, "-ltensorflowlite_c", "-Wl,-rpath,"+libdir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", name, err, out)
		}
		return so
	}
	const decl = "#include <stddef.h>\ntypedef struct TfLiteDelegate TfLiteDelegate;\n" +
		"extern TfLiteDelegate* TfLiteXNNPackDelegateCreate(const void*);\nextern void TfLiteXNNPackDelegateDelete(TfLiteDelegate*);\n"
	works := build("works", decl+`
static int live;
TfLiteDelegate* tflite_plugin_create_delegate(char** k, char** v, size_t n, void (*e)(const char*)) { live++; return TfLiteXNNPackDelegateCreate(NULL); }
void tflite_plugin_destroy_delegate(TfLiteDelegate* d) { live--; TfLiteXNNPackDelegateDelete(d); }
`)
	nodev := build("nodev", decl+`
TfLiteDelegate* tflite_plugin_create_delegate(char** k, char** v, size_t n, void (*e)(const char*)) { return NULL; }
void tflite_plugin_destroy_delegate(TfLiteDelegate* d) {}
`)
	nosym := build("nosym", "int edgetpu_something_else(void) { return 0; }\n")

	t.Setenv(tflite.EdgeTPUEnv, works)
	e, err := tflite.Open(f.FloatTFLite, rt.Options{Delegate: "edgetpu"})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := e.Delegate(); d != "edgetpu" {
		t.Errorf("delegate %q", d)
	}
	out := make([]float32, f.Classes())
	if err := e.Run(context.Background(), f.Image(0, 1), 1, out); err != nil {
		t.Fatal(err)
	}
	e.Close()

	t.Setenv(tflite.EdgeTPUEnv, nodev)
	if _, err := tflite.Open(f.FloatTFLite, rt.Options{Delegate: "edgetpu"}); err == nil || !strings.Contains(err.Error(), "found no Edge TPU") {
		t.Errorf("no device: %v", err)
	}
	t.Setenv(tflite.EdgeTPUEnv, nosym)
	if _, err := tflite.Open(f.FloatTFLite, rt.Options{Delegate: "edgetpu"}); err == nil || !strings.Contains(err.Error(), "tflite_plugin_create_delegate") {
		t.Errorf("library without the plugin symbols: %v", err)
	}
}

// tfliteLibDir finds the directory of libtensorflowlite_c.so from
// CGO_LDFLAGS (-L...), as the Makefile sets it.
func tfliteLibDir(t *testing.T) string {
	for _, f := range strings.Fields(os.Getenv("CGO_LDFLAGS")) {
		if d, ok := strings.CutPrefix(f, "-L"); ok {
			if _, err := os.Stat(filepath.Join(d, "libtensorflowlite_c.so")); err == nil {
				return d
			}
		}
	}
	t.Fatal("libtensorflowlite_c.so not found through CGO_LDFLAGS -L (run the tests with make test-backends)")
	return ""
}

// TestXNNPACKIsUsed: the delegate really takes the graph (TFLite would
// refuse to build the interpreter if it failed), for float and int8.
func TestXNNPACKIsUsed(t *testing.T) {
	f := backendtest.Load(t)
	for _, p := range []string{f.FloatTFLite, f.Int8TFLite} {
		e, err := tflite.Open(p, rt.Options{XNNPACK: true, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		if d, why := e.Delegate(); d != "xnnpack" {
			t.Errorf("%s: delegate %q (%s)", p, d, why)
		}
		e.Close()
	}
}

// TestLeak runs 100,000 inferences and 300 open/run/close cycles on a small
// model and checks that the resident set stays bounded.
func TestLeak(t *testing.T) {
	g, err := backendtest.SmallGraph()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "small.tflite")
	if err := tflitefmt.WriteFile(p, g); err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 784)
	for i := range in {
		in[i] = float32(i%17) / 17
	}
	out := make([]float32, 10)
	ctx := context.Background()
	e, err := tflite.Open(p, rt.Options{Threads: 1})
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
		e, err := tflite.Open(p, rt.Options{Threads: 1, XNNPACK: i%2 == 1})
		if err != nil {
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
	if afterCycles-afterRuns > 8192 {
		t.Errorf("RSS grew by %d kB over 300 open/close cycles", afterCycles-afterRuns)
	}
}

// TestMissingLibrary: a missing or wrong libtensorflowlite_c.so is an error
// naming the file and how to get it. The library loads once per process,
// so the cases that must run before any load happen in child processes
// (this test binary re-executed), while this process has the real one.
func TestMissingLibrary(t *testing.T) {
	f := backendtest.Load(t)
	missing := filepath.Join(t.TempDir(), "libtensorflowlite_c.so")
	_, err := tflite.Open(f.FloatTFLite, rt.Options{LibPath: missing})
	if !errors.Is(err, tflite.ErrLibrary) {
		t.Fatalf("missing library: %v, want ErrLibrary", err)
	}
	for _, want := range []string{missing, "make libs", "tfjs-tflite-node@0.0.2", tflite.LibraryEnv} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	notTFLite := ""
	for _, p := range []string{"/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/lib/libm.so.6"} {
		if _, err := os.Stat(p); err == nil {
			notTFLite = p
			break
		}
	}
	for _, c := range []struct {
		name, lib string
		want      []string
	}{
		// Nothing configured and nothing on the loader's path.
		{"not-found", "", []string{"loading libtensorflowlite_c.so", "cannot open shared object file", "make libs"}},
		// A shared library that is not TensorFlow Lite.
		{"not-tflite", notTFLite, []string{notTFLite, "has no TfLiteVersion"}},
	} {
		if c.name == "not-tflite" && notTFLite == "" {
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestLibraryChild$", "-test.v")
		cmd.Env = append(os.Environ(), "EDGECNN_TFLITE_CHILD=1", tflite.LibraryEnv+"="+c.lib, "LD_LIBRARY_PATH=")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: child failed: %v\n%s", c.name, err, out)
		}
		for _, w := range c.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: child's error does not mention %q:\n%s", c.name, w, out)
			}
		}
	}
}

// TestLibraryChild is TestMissingLibrary's child process: it opens a model
// with whatever EDGECNN_TFLITE_LIB says and prints the error, which must be
// ErrLibrary.
func TestLibraryChild(t *testing.T) {
	if os.Getenv("EDGECNN_TFLITE_CHILD") == "" {
		t.Skip("helper process of TestMissingLibrary")
	}
	f := backendtest.Load(t)
	_, err := tflite.Open(f.FloatTFLite, rt.Options{})
	if !errors.Is(err, tflite.ErrLibrary) {
		t.Fatalf("got %v, want ErrLibrary", err)
	}
	t.Logf("error: %v", err)
}
