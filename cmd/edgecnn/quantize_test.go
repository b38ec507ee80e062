//go:build !board

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/model/tflite/graphtest"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/quantize/qdata"
)

func quantizeRunCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errb
	err := app.RunContext(context.Background(), append([]string{"edgecnn", "quantize"}, args...))
	return out.String() + errb.String(), err
}

func quantizeCheckpoint(t *testing.T, arch model.Arch) string {
	t.Helper()
	m, err := graphtest.RandomModel(arch, 7)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.ckpt")
	if err := model.WriteCheckpointFile(p, &model.Checkpoint{Model: m, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestQuantizeCLI(t *testing.T) {
	data := exportDataDir(t)
	ckpt := quantizeCheckpoint(t, model.SeedArch())
	dir := t.TempDir()
	out, report := filepath.Join(dir, "m.int8.tflite"), filepath.Join(dir, "r.html")
	js, err := quantizeRunCLI(t, "--model", ckpt, "--data", data, "--calib", "100", "--val", "100", "--test", "300",
		"--out", out, "--report", report, "--json", "--threads", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	var r quantize.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, js)
	}
	if r.Accuracy == nil || r.Accuracy.Images != 300 || r.Settings.CalibImages != 100 || r.Settings.ValImages != 100 || len(r.Methods) != 4 || r.Model.Source != ckpt {
		t.Errorf("report: %+v", r.Settings)
	}
	g, err := tflite.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if g.Tensors[g.Inputs[0]].Type != model.Int8 || g.Metadata[quantize.MetaRounding] != "double" {
		t.Errorf("int8 file: input %v, metadata %v", g.Tensors[g.Inputs[0]].Type, g.Metadata)
	}
	if b, err := os.ReadFile(report); err != nil || !bytes.Contains(b, []byte("int8 quantization report")) {
		t.Errorf("HTML report: %v", err)
	}
	// The terminal summary names the output files.
	txt, err := quantizeRunCLI(t, "--model", ckpt, "--data", data, "--calib", "50", "--method", "minmax", "--test", "100",
		"--io", "float", "--rounding", "single", "--out", out)
	if err != nil || !strings.Contains(txt, "agreement") || !strings.Contains(txt, "wrote "+out) {
		t.Fatalf("summary: %v\n%s", err, txt)
	}
	if g, err = tflite.ReadFile(out); err != nil || g.Metadata[quantize.MetaRounding] != "single" || g.Tensors[g.Inputs[0]].Type != model.Float32 {
		t.Errorf("--io float --rounding single: %v", err)
	}
}

func TestQuantizeCLIBadInput(t *testing.T) {
	data := exportDataDir(t)
	dir := t.TempDir()
	good := quantizeCheckpoint(t, model.SeedArch())
	out := filepath.Join(dir, "m.int8.tflite")
	corrupt := filepath.Join(dir, "corrupt.ckpt")
	if err := os.WriteFile(corrupt, []byte("this is not a checkpoint at all, just text"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.ckpt")
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	other := quantizeCheckpoint(t, model.Arch{InputH: 32, InputW: 32, InputC: 3, Width: 4, Hidden: 8, Classes: 10})
	cases := []struct {
		name string
		args []string
		is   error
		msg  string
	}{
		{"missing checkpoint", []string{"--model", filepath.Join(dir, "nope.ckpt")}, os.ErrNotExist, "nope.ckpt"},
		{"corrupt checkpoint", []string{"--model", corrupt}, model.ErrCorrupt, "not an edgecnn checkpoint"},
		{"truncated checkpoint", []string{"--model", truncated}, model.ErrCorrupt, "checksum"},
		{"other architecture", []string{"--model", other}, quantize.ErrImageShape, "32x32x3"},
		{"no calibration images", []string{"--model", good, "--calib", "0"}, quantize.ErrNoImages, ""},
		{"more images than MNIST has", []string{"--model", good, "--calib", "59500", "--val", "1000"}, quantize.ErrTooFew, "exceed"},
		{"unwritable report", []string{"--model", good, "--report", filepath.Join(dir, "no", "dir", "r.html")}, nil, "not writable"},
		{"unknown report format", []string{"--model", good, "--report", filepath.Join(dir, "r.pdf")}, quantize.ErrReportFormat, ".pdf"},
		{"unknown method", []string{"--model", good, "--method", "kl"}, nil, "unknown calibration method"},
		{"unknown io", []string{"--model", good, "--io", "int16"}, nil, "int16"},
		{"unknown rounding", []string{"--model", good, "--rounding", "banker"}, nil, "banker"},
		{"negative qat epochs", []string{"--model", good, "--qat-epochs", "-1"}, quantize.ErrQATOptions, "--qat-epochs -1 must not be negative"},
		{"zero qat lr", []string{"--model", good, "--qat-epochs", "1", "--qat-lr", "0"}, quantize.ErrQATOptions, "--qat-lr"},
		{"negative qat threshold", []string{"--model", good, "--qat-epochs", "1", "--qat-threshold", "-1"}, quantize.ErrQATOptions, "--qat-threshold"},
		{"negative qat images", []string{"--model", good, "--qat-epochs", "1", "--qat-images", "-5"}, quantize.ErrQATOptions, "--qat-images"},
		{"qat without validation", []string{"--model", good, "--qat-epochs", "1", "--val", "0"}, quantize.ErrQATOptions, "--val"},
	}
	for _, c := range cases {
		msg, err := quantizeRunCLI(t, append(c.args, "--data", data, "--out", out)...)
		if err == nil {
			t.Errorf("%s: no error\n%s", c.name, msg)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %v", c.name, err, c.is)
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %q does not mention %q", c.name, err, c.msg)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%s: a model was written despite the error", c.name)
			os.Remove(out)
		}
	}
}

// TestQuantizeCLIQAT fine-tunes the shipped checkpoint (models/mnist.ckpt)
// for one quantization-aware epoch on 3,000 training images (--qat-force:
// its PTQ drop is within the threshold) and checks the int8 model it
// writes and the report's before/after numbers.
func TestQuantizeCLIQAT(t *testing.T) {
	data := exportDataDir(t)
	ckpt := filepath.Join(filepath.Dir(filepath.Dir(data)), "models", "mnist.ckpt")
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("the pretrained checkpoint is needed: %v", err)
	}
	dir := t.TempDir()
	out, report := filepath.Join(dir, "m.int8.tflite"), filepath.Join(dir, "r.md")
	js, err := quantizeRunCLI(t, "--model", ckpt, "--data", data, "--calib", "300", "--val", "500", "--test", "1000",
		"--method", "minmax", "--qat-epochs", "1", "--qat-force", "--qat-images", "3000", "--out", out, "--report", report, "--json", "--threads", "2")
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	// The JSON report goes to stdout (first), progress to stderr (after it).
	var r quantize.Report
	dec := json.NewDecoder(strings.NewReader(js))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, js)
	}
	if rest := js[dec.InputOffset():]; !strings.Contains(rest, "QAT epoch 1/1") {
		t.Errorf("no QAT progress line on stderr:\n%s", rest)
	}
	q := r.QAT
	if q == nil || !q.Ran || !q.Forced || q.Epochs != 1 || q.TrainImages != 3000 || q.QAT == nil || len(q.EpochStats) != 1 || len(q.Candidates) != 2 {
		t.Fatalf("QAT section: %+v", q)
	}
	// a model with the "x" class gets a tenth as many generated non-digits in each set
	wantVal, wantTest := 500, 1000
	if ck, err := model.ReadCheckpointFile(ckpt); err == nil && qdata.HasRejectClass(ck.Model) {
		wantVal, wantTest = 550, 1100
	}
	if q.PTQ.ValImages != wantVal || q.PTQ.TestImages != wantTest || q.QAT.TestImages != wantTest {
		t.Errorf("QAT image counts: %+v / %+v", q.PTQ, *q.QAT)
	}
	// The int8 accuracy of the written model, measured by the native
	// engine, is the report's; QAT must not cost more than 0.5 pp on the
	// test subset against PTQ.
	final := q.PTQ.TestInt8
	if q.Kept == "qat" {
		final = q.QAT.TestInt8
	}
	if r.Accuracy == nil || r.Accuracy.Int8 != final {
		t.Errorf("report accuracy %+v does not match the kept model (%s, %.2f%%)", r.Accuracy, q.Kept, final)
	}
	if q.QAT.TestInt8 < q.PTQ.TestInt8-0.5 {
		t.Errorf("QAT int8 test accuracy %.2f%% is more than 0.5 pp below PTQ's %.2f%%", q.QAT.TestInt8, q.PTQ.TestInt8)
	}
	g, err := tflite.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if g.Tensors[g.Inputs[0]].Type != model.Int8 || g.Tensors[g.Outputs[0]].Type != model.Int8 {
		t.Errorf("QAT model I/O: %v → %v", g.Tensors[g.Inputs[0]].Type, g.Tensors[g.Outputs[0]].Type)
	}
	md, err := os.ReadFile(report)
	if err != nil || !bytes.Contains(md, []byte("## Quantization-aware training")) || !bytes.Contains(md, []byte("| PTQ |")) {
		t.Errorf("Markdown report has no QAT section: %v", err)
	}
}
