//go:build !board

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/inspect"
	"github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/model/tflite/graphtest"
)

func exportRunCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errb
	err := app.RunContext(context.Background(), append([]string{"edgecnn"}, args...))
	return out.String() + errb.String(), err
}

// exportDataDir is data/mnist at the repository root (`make data`).
func exportDataDir(t *testing.T) string { return testenv.MNISTDir(t) }

func exportCheckpoint(t *testing.T) (string, *model.Model) {
	t.Helper()
	m, err := graphtest.RandomModel(model.SeedArch(), 4)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.ckpt")
	if err := model.WriteCheckpointFile(p, &model.Checkpoint{Model: m, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return p, m
}

func TestExportInspectFloat(t *testing.T) {
	ckpt, m := exportCheckpoint(t)
	dir := t.TempDir()
	x := graphtest.RandomImages(m, 1, 1)[0]
	want, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"m.tflite", "sub/m.onnx"} {
		out := filepath.Join(dir, name)
		msg, err := exportRunCLI(t, "export", "--model", ckpt, "--out", out)
		if err != nil {
			t.Fatalf("export %s: %v\n%s", name, err, msg)
		}
		var g *model.Graph
		if strings.HasSuffix(name, ".tflite") {
			g, err = tflite.ReadFile(out)
		} else {
			g, err = onnx.ReadFile(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		if g.Metadata[model.MetaVersion] != version || g.Metadata[model.MetaNormMean] != "0.1307" {
			t.Fatalf("%s metadata %v", name, g.Metadata)
		}
		got, err := graphtest.Eval(g, x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
				t.Fatalf("%s: logit %d = %v, Forward %v", name, i, got[i], want[i])
			}
		}
		js, err := exportRunCLI(t, "inspect", "--json", out)
		if err != nil {
			t.Fatalf("inspect: %v\n%s", err, js)
		}
		var r inspect.Report
		if err := json.Unmarshal([]byte(js), &r); err != nil {
			t.Fatalf("inspect --json: %v\n%s", err, js)
		}
		st, _ := os.Stat(out)
		if r.Size != st.Size() || len(r.Ops) != 7 || r.Params != m.NumParams() || r.Precision != "float32" || !r.DynamicBatch {
			t.Fatalf("inspect %s: size %d/%d ops %d params %d/%d precision %s", name, r.Size, st.Size(), len(r.Ops), r.Params, m.NumParams(), r.Precision)
		}
		txt, err := exportRunCLI(t, "inspect", out)
		if err != nil || !strings.Contains(txt, "FULLY_CONNECTED") || !strings.Contains(txt, "edgecnn.labels = 0,1,2,3,4,5,6,7,8,9") {
			t.Fatalf("inspect text: %v\n%s", err, txt)
		}
	}
}

func TestExportInt8AndEdgeTPU(t *testing.T) {
	data := exportDataDir(t)
	ckpt, _ := exportCheckpoint(t)
	dir := t.TempDir()
	q := []string{"--data", data, "--calib", "64", "--method", "minmax"}
	out := filepath.Join(dir, "q.onnx")
	if msg, err := exportRunCLI(t, append([]string{"export", "--model", ckpt, "--int8", "--io", "float", "--out", out}, q...)...); err != nil {
		t.Fatalf("export --int8 onnx: %v\n%s", err, msg)
	}
	js, err := exportRunCLI(t, "inspect", "--json", out)
	if err != nil {
		t.Fatal(err)
	}
	var r inspect.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil || r.Precision != "int8" || r.Format != "onnx" {
		t.Fatalf("inspect int8 onnx: %v %+v", err, r)
	}
	// The real quantizer's QDQ graph passes ONNX's own full check.
	chk := exec.Command("/usr/bin/python3", "-c", "import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)", out)
	if b, err := chk.CombinedOutput(); err != nil {
		t.Fatalf("onnx.checker on the int8 export (needs python3-onnx: make deps): %v\n%s", err, b)
	}
	// Edge TPU: a static, full-integer, uint8-IO file; the compiler is not
	// installed here, so the command must fail saying how to get it.
	if _, err := exec.LookPath("edgetpu_compiler"); err == nil {
		t.Fatal("edgetpu_compiler is installed: this test expects the missing-compiler path")
	}
	et := filepath.Join(dir, "e.tflite")
	msg, err := exportRunCLI(t, append([]string{"export", "--model", ckpt, "--target", "edgetpu", "--out", et}, q...)...)
	if err == nil || !strings.Contains(err.Error(), "edgetpu_compiler is not on PATH") || !strings.Contains(err.Error(), "apt-get install edgetpu-compiler") {
		t.Fatalf("edgetpu without compiler: err %v\n%s", err, msg)
	}
	g, err := tflite.ReadFile(et)
	if err != nil {
		t.Fatal(err)
	}
	if err := tflite.EdgeTPUCheck(g); err != nil {
		t.Fatalf("edgetpu file fails its own check: %v", err)
	}
	if g.DynamicBatch || g.Tensors[g.Inputs[0]].Type != model.UInt8 || g.Tensors[g.Outputs[0]].Type != model.UInt8 {
		t.Fatalf("edgetpu file: dynamic %v, io %v/%v", g.DynamicBatch, g.Tensors[g.Inputs[0]].Type, g.Tensors[g.Outputs[0]].Type)
	}
}

func TestExportErrors(t *testing.T) {
	ckpt, m := exportCheckpoint(t)
	dir := t.TempDir()
	tfl := filepath.Join(dir, "float.tflite")
	if msg, err := exportRunCLI(t, "export", "--model", ckpt, "--out", tfl); err != nil {
		t.Fatal(err, msg)
	}
	// inspect describes a checkpoint too.
	if msg, err := exportRunCLI(t, "inspect", ckpt); err != nil || !strings.Contains(msg, "edgecnn checkpoint") {
		t.Errorf("inspect checkpoint: %v %q", err, msg)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "--model", ckpt, "--out", filepath.Join(dir, "m.bin")}, "--format"},
		{[]string{"export", "--model", ckpt, "--format", "pb", "--out", filepath.Join(dir, "m.pb")}, `unknown --format "pb"`},
		{[]string{"export", "--model", ckpt, "--target", "edgetpu", "--out", filepath.Join(dir, "m.onnx")}, "needs --format tflite"},
		{[]string{"export", "--model", ckpt, "--target", "gpu", "--out", filepath.Join(dir, "m.tflite")}, `unknown --target "gpu"`},
		{[]string{"export", "--model", ckpt, "--io", "uint8", "--out", filepath.Join(dir, "m.tflite")}, "add --int8"},
		{[]string{"export", "--model", filepath.Join(dir, "missing.ckpt"), "--out", filepath.Join(dir, "m.tflite")}, "missing.ckpt"},
		{[]string{"inspect", filepath.Join(dir, "m.bin")}, "no such file"},
		{[]string{"quantize", "--model", tfl, "--out", filepath.Join(dir, "q.tflite")}, "TFLite model, not a checkpoint"},
		{[]string{"inspect"}, "exactly one FILE"},
	} {
		msg, err := exportRunCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v (want %q)\n%s", c.args[:2], err, c.want, msg)
		}
	}
	// The float graph is not Edge TPU material.
	g, err := model.FloatGraph(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := tflite.EdgeTPUCheck(g); err == nil || !strings.Contains(err.Error(), "dynamic batch") {
		t.Fatalf("float graph: %v", err)
	}
	g.DynamicBatch = false
	if err := tflite.EdgeTPUCheck(g); err == nil || !strings.Contains(err.Error(), "float32") {
		t.Fatalf("float graph: %v", err)
	}
}

func TestExportAndDataFetchJSON(t *testing.T) {
	ckpt, _ := exportCheckpoint(t)
	out := filepath.Join(t.TempDir(), "m.onnx")
	msg, err := exportRunCLI(t, "export", "--model", ckpt, "--out", out, "--json")
	var r struct {
		File, Format, Precision string
		Ops                     int
		Bytes                   int64
	}
	if err != nil || json.Unmarshal([]byte(msg), &r) != nil || r.File != out || r.Format != "onnx" || r.Precision != "float32" || r.Ops == 0 || r.Bytes < 1e6 {
		t.Fatalf("export --json: %v %q", err, msg)
	}
	dir := filepath.Join(t.TempDir(), "mnist")
	stdout, _, err := trainRunCLI(t, "data", "fetch", "--data", dir, "--offline", "--json")
	var d struct {
		Dir                     string
		Verified                bool `json:"sha256_verified"`
		TrainImages, TestImages int
	}
	if err != nil || json.Unmarshal([]byte(stdout), &d) != nil || d.Dir != dir || !d.Verified {
		t.Fatalf("data fetch --json: %v %q", err, stdout)
	}
}
