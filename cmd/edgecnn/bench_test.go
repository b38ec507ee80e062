package main

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/edgecnn/edgecnn/bench"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
)

func benchTestModel(t *testing.T) string {
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
	g, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.tflite")
	if err := tflite.WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchAllBackends(t *testing.T) {
	path := benchTestModel(t)
	cmd := trainCLICommand(t, "bench", "--model", path, "--backend", "all", "--iterations", "20", "--warmup", "2", "--batch", "3", "--json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	var rs []bench.Result
	if err := json.Unmarshal(out, &rs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rs) != len(bench.Backends) {
		t.Fatalf("%d rows, want %d: %s", len(rs), len(bench.Backends), out)
	}
	for i, r := range rs {
		if r.Backend != bench.Backends[i].Name {
			t.Errorf("row %d is %q, want %q", i, r.Backend, bench.Backends[i].Name)
		}
		built := slices.Contains(runtime.Backends(), bench.Backends[i].Registry)
		switch {
		case !built:
			if r.Status != "not built in" || r.Detail != "build tag "+bench.Backends[i].Tag {
				t.Errorf("%s: status %q detail %q, want not built in (build tag %s)", r.Backend, r.Status, r.Detail, bench.Backends[i].Tag)
			}
		case r.Backend == "onnxruntime" && r.Status == "skipped":
			// no .onnx twin next to the test model: reported, not dropped
		case r.Status != "ok":
			t.Errorf("%s: status %q: %s", r.Backend, r.Status, r.Detail)
		default:
			if r.Iterations != 20 || r.Batch != 3 || !(r.P50us > 0) || r.P99us < r.P50us || !(r.ImagesPerS > 0) || !(r.PeakRSSMB > 1) || !(r.ColdStartMs > 0) {
				t.Errorf("%s: implausible row %+v", r.Backend, r)
			}
		}
	}
	if rs[0].Status != "ok" || rs[0].Kernel == "" {
		t.Errorf("native row: %+v", rs[0])
	}
}

func TestBenchErrors(t *testing.T) {
	path := benchTestModel(t)
	if _, _, err := trainRunCLI(t, "bench", "--model", filepath.Join(t.TempDir(), "none.tflite")); err == nil {
		t.Error("missing model accepted")
	}
	if _, _, err := trainRunCLI(t, "bench", "--model", path, "--batch", "0"); err == nil {
		t.Error("batch 0 accepted")
	}
	if _, _, err := trainRunCLI(t, "bench", "--model", path, "--backend", "bogus"); err == nil {
		t.Error("unknown backend accepted")
	}
}

func TestBenchInProcess(t *testing.T) {
	path := benchTestModel(t)
	out, _, err := trainRunCLI(t, "bench", "--model", path, "--backend", "native", "--iterations", "5", "--warmup", "1", "--in-process", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rs []bench.Result
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rs) != 1 || rs[0].Status != "ok" || rs[0].Iterations != 5 || !(rs[0].P50us > 0) || !(rs[0].PeakRSSMB > 1) {
		t.Fatalf("in-process row: %+v", rs)
	}
}
