//go:build !board

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/model/tflite/graphtest"
	"github.com/edgecnn/edgecnn/quantize"
)

// An 11-class model with the reject class goes through quantize (with
// negatives in calibration and test, the digits line and an "x" row),
// export (metadata in .tflite and .onnx) and eval (reject rate).
func TestRejectClassCLI(t *testing.T) {
	data := exportDataDir(t)
	a := model.SeedArch()
	a.Classes = 11
	m, err := graphtest.RandomModel(a, 7)
	if err != nil {
		t.Fatal(err)
	}
	m.Labels[10] = model.RejectLabel
	m.RejectThreshold = 0.8
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "m.ckpt")
	if err := model.WriteCheckpointFile(ckpt, &model.Checkpoint{Model: m, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.int8.tflite")
	js, err := quantizeRunCLI(t, "--model", ckpt, "--data", data, "--calib", "100", "--method", "minmax", "--test", "300",
		"--out", out, "--json", "--threads", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, js)
	}
	var r quantize.Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, js)
	}
	if r.Settings.CalibImages != 110 || r.Accuracy == nil || r.Accuracy.Images != 330 {
		t.Fatalf("calibration %d images, test %+v: want 100+10 and 300+30", r.Settings.CalibImages, r.Accuracy)
	}
	if d := r.Accuracy.Digits; d == nil || d.Images != 300 || d.NonDigits != 30 {
		t.Fatalf("digits line %+v", r.Accuracy.Digits)
	}
	if n := len(r.Accuracy.PerClass); n != 11 || r.Accuracy.PerClass[10].Label != "x" || r.Accuracy.PerClass[10].Count != 30 {
		t.Fatalf("per-class table: %+v", r.Accuracy.PerClass)
	}
	g, err := tflite.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if g.Metadata[model.MetaLabels] != "0,1,2,3,4,5,6,7,8,9,x" || g.Metadata[model.MetaRejectThreshold] != "0.8" {
		t.Fatalf("int8 metadata: %v", g.Metadata)
	}
	text, err := quantizeRunCLI(t, "--model", ckpt, "--data", data, "--calib", "100", "--method", "minmax", "--test", "300",
		"--out", out, "--threads", "1")
	if err != nil || !strings.Contains(text, "digits    float") || !strings.Contains(text, "not digit float") {
		t.Fatalf("text report lacks the digits lines: %v\n%s", err, text)
	}

	// float ONNX export keeps the labels and threshold
	onnxOut := filepath.Join(dir, "m.onnx")
	if o, e, err := runCLI(t, "export", "--model", ckpt, "--out", onnxOut); err != nil {
		t.Fatalf("%v\n%s%s", err, o, e)
	}
	og, err := onnx.ReadFile(onnxOut)
	if err != nil {
		t.Fatal(err)
	}
	if og.Metadata[model.MetaLabels] != "0,1,2,3,4,5,6,7,8,9,x" || og.Metadata[model.MetaRejectThreshold] != "0.8" {
		t.Fatalf("onnx metadata: %v", og.Metadata)
	}

	// eval on the int8 file: the reject rate is reported
	ev, evErr, err := runCLI(t, "eval", "--model", out, "--data", data, "--json")
	if err != nil {
		t.Fatalf("%v\n%s%s", err, ev, evErr)
	}
	var e struct {
		Images     int     `json:"images"`
		Rejected   int     `json:"rejected"`
		RejectRate float64 `json:"reject_rate"`
		Confusion  [][]int `json:"confusion"`
	}
	if err := json.Unmarshal([]byte(ev), &e); err != nil || e.Images != 10000 || len(e.Confusion) != 11 {
		t.Fatalf("eval: %v %s", err, ev)
	}
	col := 0
	for _, row := range e.Confusion {
		col += row[10]
	}
	if col != e.Rejected {
		t.Fatalf("rejected %d, confusion column x holds %d", e.Rejected, col)
	}
}
