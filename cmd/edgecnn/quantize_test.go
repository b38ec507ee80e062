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
		{"qat", []string{"--model", good, "--qat-epochs", "1"}, nil, "not implemented"},
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
