//go:build !board

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
)

// TestEvalTFLiteMatchesCheckpoint evaluates the committed model as a float
// .tflite through the native backend and checks it agrees with the
// checkpoint's own evaluation (same tally code, different engine).
func TestEvalTFLiteMatchesCheckpoint(t *testing.T) {
	data := trainDataDir(t)
	ckpt := filepath.Join(filepath.Dir(filepath.Dir(data)), "models", "mnist.ckpt")
	ck, err := model.ReadCheckpointFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	g, err := model.FloatGraph(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.tflite")
	if err := tflite.WriteFile(p, g); err != nil {
		t.Fatal(err)
	}
	type res struct {
		Accuracy  float64 `json:"accuracy"`
		N         int     `json:"images"`
		Confusion [][]int `json:"confusion"`
	}
	run := func(args ...string) res {
		out, stderr, err := trainRunCLI(t, append([]string{"eval", "--data", data, "--json"}, args...)...)
		if err != nil {
			t.Fatalf("eval %v: %v\n%s", args, err, stderr)
		}
		var r res
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("bad JSON %q: %v", out, err)
		}
		return r
	}
	a, b := run("--model", ckpt), run("--model", p, "--backend", "native")
	if a.N != 10000 || b.N != 10000 {
		t.Fatalf("images: %d and %d", a.N, b.N)
	}
	if d := a.Accuracy - b.Accuracy; d > 0.03 || d < -0.03 {
		t.Fatalf("checkpoint %.2f%% vs .tflite %.2f%%", a.Accuracy, b.Accuracy)
	}
	if b.Accuracy < 99 {
		t.Fatalf(".tflite accuracy %.2f%%", b.Accuracy)
	}
	if _, _, err := trainRunCLI(t, "eval", "--data", data, "--model", p, "--backend", "nosuch"); err == nil || !strings.Contains(err.Error(), "unknown backend") {
		t.Fatalf("unknown backend: %v", err)
	}
}
