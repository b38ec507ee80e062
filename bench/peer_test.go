package bench

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/model/tflite/graphtest"
	"github.com/edgecnn/edgecnn/runtime/kernels/vnnipeak"
)

// seedModels writes the seed CNN (random weights) as a float and an int8
// .tflite.
func seedModels(t *testing.T) (float, int8 string) {
	t.Helper()
	m, err := model.New(model.SeedArch())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(r.NormFloat64() * 0.05)
		}
	}
	fg, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	var calib [][]float32
	for i := 0; i < 4; i++ {
		x := make([]float32, 28*28)
		for j := range x {
			x[j] = float32(r.Float64()*3 - 0.4)
		}
		calib = append(calib, x)
	}
	qg, err := graphtest.Int8Graph(fg, calib, model.Float32)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	float, int8 = filepath.Join(dir, "f.tflite"), filepath.Join(dir, "q.tflite")
	if err := tflite.WriteFile(float, fg); err != nil {
		t.Fatal(err)
	}
	if err := tflite.WriteFile(int8, qg); err != nil {
		t.Fatal(err)
	}
	return float, int8
}

// TestPeakAndMACs: the seed CNN's MACs per image come from the native
// engine (4,241,152), the int8 model is recognized, and a row's fraction
// is images/s × MACs over the measured peak of its thread count.
func TestPeakAndMACs(t *testing.T) {
	fm, qm := seedModels(t)
	const macs = 4241152
	pf := MeasurePeak(fm, nil)
	if pf.MACsPerImage != macs || pf.Int8 {
		t.Errorf("float model: %d MACs, int8 %v", pf.MACsPerImage, pf.Int8)
	}
	pq := MeasurePeak(qm, []int{1})
	if pq.MACsPerImage != macs || !pq.Int8 {
		t.Errorf("int8 model: %d MACs, int8 %v", pq.MACsPerImage, pq.Int8)
	}
	if !vnnipeak.Available() {
		if pq.ByThreads != nil || pq.Detail == "" || !strings.Contains(pq.Line([]int{1}), "not measured") {
			t.Errorf("no VNNI, but peak %+v", pq)
		}
		return
	}
	r := pq.ByThreads[1]
	if r.MACsPerS <= 0 {
		t.Fatalf("peak %+v", pq)
	}
	if got, want := pq.Fraction(1000, 1), 1000*float64(macs)/r.MACsPerS; got != want {
		t.Errorf("Fraction = %v, want %v", got, want)
	}
	if pq.Fraction(1000, 2) != 0 {
		t.Error("fraction for an unmeasured thread count")
	}
	if !strings.Contains(pq.Line([]int{1}), "4.24 M MACs/image") {
		t.Errorf("line %q", pq.Line([]int{1}))
	}
}

// TestPyTorchPeerInterleaved runs the real PyTorch peer (bench/torch_infer.py
// --serve) beside the native engine, twice each, in one Measure: every
// row is ok, repeats are recorded, and the table puts both in one run.
func TestPyTorchPeerInterleaved(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	_, qm := seedModels(t)
	ctx := context.Background()
	p, err := StartPyTorch(ctx, py, "torch_infer.py", "int8")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if !strings.HasPrefix(p.Name, "pytorch-int8-") {
		t.Errorf("peer name %q", p.Name)
	}
	o := Options{Model: qm, Batch: 1, Threads: 1, Iterations: 20, Warmup: 1}
	if err := o.Check(); err != nil {
		t.Fatal(err)
	}
	pk := MeasurePeak(qm, []int{1})
	rs := Measure(ctx, o, []string{"native"}, "", true, []Column{{1, 1}, {4, 1}}, []*Peer{p}, 2, &pk)
	if len(rs) != 4 {
		t.Fatalf("%d rows, want 2 backends × 2 columns: %+v", len(rs), rs)
	}
	for _, r := range rs {
		if r.Status != "ok" || r.ImagesPerS <= 0 || len(r.Runs) != 2 || r.CPUusPerImage <= 0 {
			t.Errorf("row %+v", r)
		}
		if vnnipeak.Available() && r.Threads == 1 && r.PeakFrac <= 0 {
			t.Errorf("row %s has no fraction of the peak", r.Backend)
		}
	}
	var b bytes.Buffer
	PrintSweep(&b, qm, rs)
	for _, want := range []string{"native", p.Name, "batch 4 × 1 thr", "×)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := StartPyTorch(ctx, py, "torch_infer.py", "fp16"); err == nil {
		t.Error("peer kind fp16 accepted")
	}
	if _, err := StartPyTorch(ctx, py, "no-such-script.py", "int8"); err == nil {
		t.Error("missing peer script: no error")
	}
}

// TestPrintRatios: every figure carries its ratio to the best other row
// (> 1 better: latency and memory lower, throughput higher), and the
// range of repeats.
func TestPrintRatios(t *testing.T) {
	rs := []Result{
		{Backend: "native", Status: "ok", P50us: 10, P99us: 20, ImagesPerS: 400, PeakRSSMB: 10, ColdStartMs: 5, CPUusPerImage: 2, Runs: []float64{380, 400, 410}, PeakFrac: 0.5},
		{Backend: "onnxruntime", Status: "ok", P50us: 20, P99us: 10, ImagesPerS: 100, PeakRSSMB: 40, ColdStartMs: 50, CPUusPerImage: 6},
		{Backend: "tflite", Status: "not built in", Detail: "build tag tflite"},
	}
	var b bytes.Buffer
	Print(&b, Options{Model: "m.tflite", Batch: 1, Threads: 1}, rs)
	out := b.String()
	for _, want := range []string{"10.0 µs (2.00×)", "20.0 µs (0.50×)", "400 [380–410] (4.00×)", "100 (0.25×)", "10.0 MB (4.00×)", "50.0 ms (0.10×)", "50%", "2.0 µs (3.00×)", "not built in (build tag tflite)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
