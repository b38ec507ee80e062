package quantize

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

var (
	autoOnce sync.Once
	autoG    *model.Graph
	autoRep  *Report
	autoErr  error
)

// autoRun quantizes the trained test model with --method auto (300
// calibration images, 300 validation images, 2,000 test images); shared by
// the tests that inspect its graph and report.
func autoRun(t *testing.T) (*model.Graph, *Report) {
	t.Helper()
	m := trained(t)
	ds := loadMNIST(t)
	autoOnce.Do(func() {
		opts := Options{Method: Auto, MinCalib: 300, Val: images(t, ds.Train, 300, 600, m.Norm), Test: images(t, ds.Test, 0, 2000, m.Norm), Threads: 2, Sample: 64}
		autoG, autoRep, autoErr = Quantize(context.Background(), m, images(t, ds.Train, 0, 300, m.Norm), opts)
	})
	if autoErr != nil {
		t.Fatal(autoErr)
	}
	return autoG, autoRep
}

func TestQuantizeTrained(t *testing.T) {
	g, rep := autoRun(t)
	a := rep.Accuracy
	if a == nil || a.Images != 2000 {
		t.Fatalf("accuracy section %+v, want 2000 test images", a)
	}
	t.Logf("float %.2f%% int8 %.2f%% agreement %.2f%% size %d→%d (%.1f%%)", a.Float, a.Int8, a.Agreement, rep.Size.FloatBytes, rep.Size.Int8Bytes, 100*rep.Size.Ratio)
	if a.Float < 90 {
		t.Fatalf("test model float accuracy %.2f%%: training fixture broken", a.Float)
	}
	if a.Agreement < 99 || math.Abs(a.DropPP) > 0.5 {
		t.Errorf("int8 vs float: agreement %.2f%%, drop %.2f pp; want ≥ 99%% and |drop| ≤ 0.5 pp", a.Agreement, a.DropPP)
	}
	if a.Disagree != len(a.Disagreements) || a.Disagree != int(math.Round(float64(a.Images)*(100-a.Agreement)/100)) {
		t.Errorf("%d disagreements listed, %d counted, agreement %.2f%%", len(a.Disagreements), a.Disagree, a.Agreement)
	}
	n := 0
	for _, c := range a.PerClass {
		n += c.Count
		if math.Abs(c.DeltaPP-(c.Int8-c.Float)) > 1e-3 {
			t.Errorf("class %d: delta %v ≠ %v − %v", c.Class, c.DeltaPP, c.Int8, c.Float)
		}
	}
	if len(a.PerClass) != 10 || n != 2000 {
		t.Errorf("%d classes covering %d images", len(a.PerClass), n)
	}
	if rep.Size.Ratio <= 0 || rep.Size.Ratio > 0.27 {
		t.Errorf("int8/float size %.3f, want ≤ 0.27", rep.Size.Ratio)
	}
	if len(rep.Layers) != 8 {
		t.Fatalf("%d layers in the report, want 8", len(rep.Layers))
	}
	for _, l := range rep.Layers {
		if l.SQNR < 20 || l.Cosine < 0.99 || math.IsNaN(l.SQNR) {
			t.Errorf("layer %s: SQNR %.1f dB, cosine %.5f; want ≥ 20 dB, ≥ 0.99", l.Name, l.SQNR, l.Cosine)
		}
		if !(l.Scale > 0) || l.RangeLo > 0 || l.RangeHi < 0 {
			t.Errorf("layer %s: scale %v range [%v, %v]", l.Name, l.Scale, l.RangeLo, l.RangeHi)
		}
	}
	if rep.Model.Params != 421642 || rep.Model.MACs != int64(trained(t).MACs()) {
		t.Errorf("params %d MACs %d", rep.Model.Params, rep.Model.MACs)
	}
	if g.Metadata[MetaRounding] != "double" || g.Metadata[MetaMethod] != string(rep.Settings.Method) || g.Metadata[MetaCalib] != "300" {
		t.Errorf("metadata %v", g.Metadata)
	}
}

// The written .tflite is the graph that was evaluated: read back, the
// native engine gives the same int8 outputs bit for bit.
func TestTFLiteRoundTrip(t *testing.T) {
	g, _ := autoRun(t)
	m := trained(t)
	ds := loadMNIST(t)
	path := filepath.Join(t.TempDir(), "m.int8.tflite")
	if err := tflite.WriteFile(path, g); err != nil {
		t.Fatal(err)
	}
	g2, err := tflite.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	im := images(t, ds.Test, 0, 200, m.Norm)
	var outs [2][]float32
	for i, gg := range []*model.Graph{g, g2} {
		e, err := newEngine(gg, 1, 100, qmath.Double, false)
		if err != nil {
			t.Fatal(err)
		}
		if outs[i], err = e.outputs(context.Background(), im); err != nil {
			t.Fatal(err)
		}
		e.close()
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("output %d: %v in memory, %v after the .tflite round trip", i, outs[0][i], outs[1][i])
		}
	}
}

func TestAutoMethodTable(t *testing.T) {
	_, rep := autoRun(t)
	if len(rep.Methods) != 4 || rep.Settings.Requested != Auto || rep.Settings.ValImages != 300 {
		t.Fatalf("methods %+v, settings %+v", rep.Methods, rep.Settings)
	}
	chosen := 0
	for _, m := range rep.Methods {
		if m.Chosen {
			chosen++
			if m.Method != rep.Settings.Method {
				t.Errorf("chosen %s, settings say %s", m.Method, rep.Settings.Method)
			}
			for _, o := range rep.Methods {
				if better(o, m) {
					t.Errorf("%s (%+v) beats the chosen %s (%+v)", o.Method, o, m.Method, m)
				}
			}
		}
		if m.Accuracy == nil || m.Agreement <= 0 {
			t.Errorf("method %s: %+v", m.Method, m)
		}
	}
	if chosen != 1 {
		t.Errorf("%d methods chosen", chosen)
	}
}

// Every method and option produces a graph the native engine runs, that
// agrees with float on most images; single rounding is recorded.
func TestMethodsAndOptions(t *testing.T) {
	m := trained(t)
	ds := loadMNIST(t)
	calib := images(t, ds.Train, 0, 200, m.Norm)
	test := images(t, ds.Test, 0, 300, m.Norm)
	cases := []Options{
		{Method: MinMax, IO: IOFloat},
		{Method: Percentile, Percentile: 99.9, IO: IOUInt8},
		{Method: Entropy, Rounding: qmath.Single},
		{Method: MSE, PerChannelDense: true},
	}
	for _, o := range cases {
		o.Test, o.Sample = test, 32
		g, rep, err := Quantize(context.Background(), m, calib, o)
		if err != nil {
			t.Fatalf("%+v: %v", o.Method, err)
		}
		if rep.Settings.Method != o.Method || rep.Methods != nil {
			t.Errorf("%s: settings %+v", o.Method, rep.Settings)
		}
		if rep.Accuracy.Agreement < 95 {
			t.Errorf("%s: agreement %.2f%%", o.Method, rep.Accuracy.Agreement)
		}
		if want := o.Rounding.String(); g.Metadata[MetaRounding] != want {
			t.Errorf("%s: rounding metadata %q, want %q", o.Method, g.Metadata[MetaRounding], want)
		}
		if _, err := tflite.Write(g); err != nil {
			t.Errorf("%s: tflite writer rejects the graph: %v", o.Method, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	m := randomModel(t, 3)
	ds := loadMNIST(t)
	calib := images(t, ds.Train, 0, 20, m.Norm)
	ctx := context.Background()
	if _, _, err := Quantize(ctx, m, Images{}, Options{}); !errors.Is(err, ErrNoImages) {
		t.Errorf("empty calibration set: %v, want ErrNoImages", err)
	}
	if _, _, err := Quantize(ctx, m, calib, Options{MinCalib: 1000}); !errors.Is(err, ErrTooFew) {
		t.Errorf("20 images for --calib 1000: %v, want ErrTooFew", err)
	}
	short := calib
	short.X = short.X[:len(short.X)-1]
	if _, _, err := Quantize(ctx, m, short, Options{}); !errors.Is(err, ErrImageShape) {
		t.Errorf("truncated images: %v, want ErrImageShape", err)
	}
	other, err := model.New(model.Arch{InputH: 32, InputW: 32, InputC: 1, Width: 4, Hidden: 8, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Quantize(ctx, other, calib, Options{}); !errors.Is(err, ErrImageShape) {
		t.Errorf("28x28 images for a 32x32 model: %v, want ErrImageShape", err)
	}
	nan := Images{N: 1, X: append([]float32(nil), calib.X[:784]...)}
	nan.X[5] = float32(math.NaN())
	if _, _, err := Quantize(ctx, m, nan, Options{}); err == nil {
		t.Error("NaN pixel accepted")
	}
	badLabel := calib.Slice(0, 2)
	badLabel.Labels = []int{1, 12}
	if _, _, err := Quantize(ctx, m, badLabel, Options{}); err == nil {
		t.Error("label 12 accepted")
	}
	if _, _, err := Quantize(ctx, m, calib, Options{Method: "kl"}); err == nil {
		t.Error("unknown method accepted")
	}
	if _, _, err := Quantize(ctx, m, calib, Options{Percentile: 101}); err == nil {
		t.Error("percentile 101 accepted")
	}
	if _, _, err := Quantize(ctx, m, calib.Slice(0, 5), Options{Method: Auto}); !errors.Is(err, ErrTooFew) {
		t.Errorf("auto with 5 images and no validation set: %v, want ErrTooFew", err)
	}
	nanModel := randomModel(t, 3)
	nanModel.Layers[0].Weight[0] = float32(math.Inf(1))
	if _, _, err := Quantize(ctx, nanModel, calib, Options{}); err == nil {
		t.Error("model with an infinite weight accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := Quantize(cctx, m, calib, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// All-zero weights and dead (constant) activations quantize to valid,
// finite parameters and a graph that runs: never NaN, Inf or a division by
// zero.
func TestZeroWeightsAndConstantActivations(t *testing.T) {
	ds := loadMNIST(t)
	// conv1 all zero with a negative bias: its ReLU output, and everything
	// after it up to fc1, is constant.
	m := randomModel(t, 4)
	clear(m.Layers[0].Weight)
	for i := range m.Layers[0].Bias {
		m.Layers[0].Bias[i] = -1
	}
	zero := randomModel(t, 4)
	for _, p := range zero.Params() {
		clear(p.Data)
	}
	for name, mm := range map[string]*model.Model{"dead conv1": m, "all zero": zero} {
		calib := images(t, ds.Train, 0, 50, mm.Norm)
		g, rep, err := Quantize(context.Background(), mm, calib, Options{Method: Auto, Test: images(t, ds.Test, 0, 50, mm.Norm), Sample: 16})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, tn := range g.Tensors {
			if tn.Quant == nil {
				continue
			}
			for _, s := range tn.Quant.Scale {
				if !(s > 0) || math.IsInf(float64(s), 0) {
					t.Errorf("%s: tensor %s scale %v", name, tn.Name, s)
				}
			}
		}
		var buf bytes.Buffer
		if err := rep.WriteJSON(&buf); err != nil { // JSON refuses NaN and Inf
			t.Errorf("%s: %v", name, err)
		}
		if rep.Accuracy.Agreement < 99 {
			t.Errorf("%s: a constant network should agree everywhere, got %.2f%%", name, rep.Accuracy.Agreement)
		}
	}
}

func TestReportFiles(t *testing.T) {
	_, rep := autoRun(t)
	dir := t.TempDir()
	for _, ext := range []string{".json", ".md", ".html"} {
		p := filepath.Join(dir, "report"+ext)
		if err := CheckReportPath(p); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		switch ext {
		case ".json":
			var back Report
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Accuracy == nil || back.Accuracy.Int8 != rep.Accuracy.Int8 || len(back.Layers) != len(rep.Layers) {
				t.Errorf("JSON round trip lost data")
			}
		case ".md":
			for _, want := range []string{"# int8 quantization report", "| conv1/out |", "agreement"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("Markdown lacks %q", want)
				}
			}
		case ".html":
			s := string(b)
			for _, bad := range []string{"<script", "http://", "https://"} {
				if strings.Contains(strings.ReplaceAll(s, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
					t.Errorf("HTML report contains %q: it must be self-contained", bad)
				}
			}
			if strings.Count(s, "<svg class=\"hist\"") != 5 {
				t.Errorf("HTML has %d histograms, want 5 (input and the four conv/dense outputs)", strings.Count(s, "<svg class=\"hist\""))
			}
			if len(rep.Accuracy.Disagreements) > 0 && !strings.Contains(s, "data:image/png;base64,") {
				t.Error("HTML lacks the thumbnails of the disagreeing images")
			}
		}
	}
	var txt bytes.Buffer
	if err := rep.WriteText(&txt); err != nil || !strings.Contains(txt.String(), "agreement") {
		t.Errorf("text summary: %v\n%s", err, txt.String())
	}
	// Bad report paths.
	if err := rep.WriteFile(filepath.Join(dir, "report.pdf")); !errors.Is(err, ErrReportFormat) {
		t.Errorf(".pdf: %v, want ErrReportFormat", err)
	}
	for _, p := range []string{filepath.Join(dir, "no", "such", "dir", "r.html"), "/proc/r.json"} {
		if err := CheckReportPath(p); err == nil {
			t.Errorf("CheckReportPath(%s) accepted an unwritable path", p)
		}
		if err := rep.WriteFile(p); err == nil {
			t.Errorf("WriteFile(%s) succeeded", p)
		}
	}
}

// The accuracy and size targets on the committed model and all
// 10,000 test images (the timing target is measured by make bench-quantize).
func TestCommittedModelTargets(t *testing.T) {
	ck, err := model.ReadCheckpointFile(filepath.Join(repoRoot(t), "models", "mnist.ckpt"))
	if err != nil {
		t.Fatalf("the committed model is needed: %v", err)
	}
	m := ck.Model
	ds := loadMNIST(t)
	opts := Options{Method: Auto, MinCalib: 1000, Val: images(t, ds.Train, 1000, 2000, m.Norm), Test: images(t, ds.Test, 0, 10000, m.Norm), Threads: 2}
	_, rep, err := Quantize(context.Background(), m, images(t, ds.Train, 0, 1000, m.Norm), opts)
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Accuracy
	t.Logf("%s: float %.2f%% int8 %.2f%% drop %.2f pp agreement %.2f%% size %.1f%%", rep.Settings.Method, a.Float, a.Int8, a.DropPP, a.Agreement, 100*rep.Size.Ratio)
	if a.Images != 10000 || a.DropPP > 0.10 || a.Agreement < 99.8 || rep.Size.Ratio > 0.27 {
		t.Errorf("targets: drop %.2f pp (≤ 0.10), agreement %.2f%% (≥ 99.8), size %.1f%% (≤ 27) on %d images", a.DropPP, a.Agreement, 100*rep.Size.Ratio, a.Images)
	}
}
