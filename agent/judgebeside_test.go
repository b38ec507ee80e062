package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyFile copies src to dst (a test fixture).
func copyFile(t *testing.T, src, dst string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestDefaultJudgeBeside: --multi without --judge reads with judge<ext>
// beside the model when it is there; --judge none, a missing file and
// no --multi read without; --judge FILE needs --multi; a model named
// judge.* is not its own judge; a bad judge beside the model is an error
// that names it.
func TestDefaultJudgeBeside(t *testing.T) {
	dir := t.TempDir()
	m := copyFile(t, realModel(t), filepath.Join(dir, "model.int8.tflite"))
	j := copyFile(t, realJudge(t), filepath.Join(dir, "judge.int8.tflite"))
	set := func(model, judge string, multi bool) RecognizerSettings {
		return RecognizerSettings{Model: model, Judge: judge, Multi: multi, Polarity: "auto", Threshold: "otsu",
			Engine: EngineSettings{Backend: "native", Threads: 1}}
	}
	open := func(s RecognizerSettings) (*Recognizer, error) {
		t.Helper()
		newRec, err := NewRecognizerFactory(s)
		if err != nil {
			return nil, err
		}
		return newRec()
	}
	for _, c := range []struct {
		name string
		s    RecognizerSettings
		want string
	}{
		{"--multi, judge beside", set(m, "", true), j},
		{"--multi --judge none", set(m, NoJudge, true), ""},
		{"no --multi", set(m, "", false), ""},
		{"--judge none without --multi", set(m, NoJudge, false), ""},
		{"--judge FILE", set(m, j, true), j},
		{"the judge as the model", set(j, "", true), ""},
		{"onnxruntime without the judge's .onnx twin", RecognizerSettings{Model: m, Multi: true, Engine: EngineSettings{Backend: "onnxruntime"}}, ""},
	} {
		got, err := c.s.JudgeFile()
		if err != nil || got != c.want {
			t.Errorf("%s: JudgeFile() = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	os.WriteFile(filepath.Join(dir, "judge.int8.onnx"), nil, 0o644)
	if got, _ := (RecognizerSettings{Model: m, Multi: true, Engine: EngineSettings{Backend: "onnxruntime"}}).JudgeFile(); got != j {
		t.Errorf("onnxruntime with the .onnx twin: %q, want %q", got, j)
	}

	// The recognizer opens what JudgeFile names.
	for _, c := range []struct {
		name  string
		s     RecognizerSettings
		judge bool
	}{{"default", set(m, "", true), true}, {"none", set(m, NoJudge, true), false}, {"explicit", set(m, j, true), true}} {
		r, err := open(c.s)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if (r.judge != nil) != c.judge {
			t.Errorf("%s: recognizer has a judge: %v, want %v", c.name, r.judge != nil, c.judge)
		}
		r.Close()
	}
	p, err := NewPredictor(set(m, "", true))
	if err != nil {
		t.Fatal(err)
	}
	if p.Judge != j {
		t.Errorf("Predictor.Judge = %q, want %q", p.Judge, j)
	}
	p.Close()

	// No judge file beside the model: read without one.
	lone := copyFile(t, m, filepath.Join(t.TempDir(), "model.int8.tflite"))
	if r, err := open(set(lone, "", true)); err != nil || r.judge != nil {
		t.Errorf("no judge beside: err %v, judge %v", err, err == nil && r.judge != nil)
	} else {
		r.Close()
	}
	// --judge FILE without --multi is an error; none is not.
	if _, err := NewRecognizerFactory(set(m, j, false)); err == nil || !strings.Contains(err.Error(), "--multi") {
		t.Errorf("--judge FILE without --multi: %v", err)
	}
	if _, err := NewRecognizerFactory(set(m, NoJudge, false)); err != nil {
		t.Errorf("--judge none without --multi: %v", err)
	}
	// A model named judge.* (here the digit model itself) is not its own
	// judge: it reads without one rather than refusing itself as a judge.
	self := copyFile(t, m, filepath.Join(t.TempDir(), "judge.tflite"))
	if r, err := open(set(self, "", true)); err != nil || r.judge != nil {
		t.Errorf("a model named judge.tflite: err %v", err)
	} else {
		r.Close()
	}
	// A file beside the model that is no judge: an error naming it and
	// the way out.
	bad := t.TempDir()
	bm := copyFile(t, m, filepath.Join(bad, "model.tflite"))
	copyFile(t, m, filepath.Join(bad, "judge.tflite"))
	if _, err := open(set(bm, "", true)); err == nil || !strings.Contains(err.Error(), filepath.Join(bad, "judge.tflite")) ||
		!strings.Contains(err.Error(), "--judge none") {
		t.Errorf("a digit model beside as judge: %v", err)
	}
	if r, err := open(set(bm, NoJudge, true)); err != nil {
		t.Errorf("--judge none past a bad judge: %v", err)
	} else {
		r.Close()
	}
}
