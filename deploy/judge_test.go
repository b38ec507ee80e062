package deploy

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/boards"
)

// judgeInputs writes a binary, model.int8.tflite and (with judge) the
// judge.int8.tflite that `make demo` writes beside it.
func judgeInputs(t *testing.T, judge bool) (bin, model, judgeFile string) {
	t.Helper()
	dir := t.TempDir()
	bin, model = filepath.Join(dir, "edgecnn"), filepath.Join(dir, "model.int8.tflite")
	for p, data := range map[string]string{bin: "\x7fELF edgecnn", model: "TFL3 model"} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if judge {
		judgeFile = filepath.Join(dir, "judge.int8.tflite")
		if err := os.WriteFile(judgeFile, []byte("TFL3 judge"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return bin, model, judgeFile
}

// TestBundleJudge: a judge goes into the release as judge<ext> beside
// model<ext>, in Files and SHA256SUMS, and changes the release name; a
// judge with another extension than the model's is refused.
func TestBundleJudge(t *testing.T) {
	rpi4, _ := boards.Lookup("rpi4")
	bin, model, judge := judgeInputs(t, true)
	without, err := NewBundle(Spec{Board: rpi4, Binary: bin, Model: model})
	if err != nil {
		t.Fatal(err)
	}
	bu, err := NewBundle(Spec{Board: rpi4, Binary: bin, Model: model, Judge: judge})
	if err != nil {
		t.Fatal(err)
	}
	sums, err := ParseSums(bu.Sums)
	if err != nil {
		t.Fatal(err)
	}
	var got *File
	for i, f := range bu.Files {
		if f.Name == "judge.tflite" {
			got = &bu.Files[i]
		}
	}
	if got == nil || got.Size != int64(len("TFL3 judge")) || sums["judge.tflite"] != got.Sum || sums["model.tflite"] == got.Sum {
		t.Fatalf("judge.tflite in the bundle: %+v, sums %v", got, sums)
	}
	if f, _ := hashFile(judge); f.Sum != got.Sum {
		t.Errorf("judge.tflite sum %s, the file's %s", got.Sum, f.Sum)
	}
	if bu.Service.JudgeFile != "judge.tflite" || without.Service.JudgeFile != "" {
		t.Errorf("Service.JudgeFile %q / %q", bu.Service.JudgeFile, without.Service.JudgeFile)
	}
	if _, ok := sums["judge.tflite"]; bu.Release == without.Release || len(bu.Files) != len(without.Files)+1 || !ok {
		t.Errorf("with a judge: release %s (without %s), %d files (without %d)", bu.Release, without.Release, len(bu.Files), len(without.Files))
	}
	if !strings.Contains(bu.Unit, "current/model.tflite") {
		t.Errorf("the unit runs another model:\n%s", bu.Unit)
	}
	if plan := Plan(bu, "pi@x", Options{}); !strings.Contains(plan, "judge.tflite") {
		t.Errorf("plan does not list judge.tflite:\n%s", plan)
	}

	onnx := filepath.Join(t.TempDir(), "judge.int8.onnx")
	os.WriteFile(onnx, []byte("onnx"), 0o644)
	if _, err := NewBundle(Spec{Board: rpi4, Binary: bin, Model: model, Judge: onnx}); err == nil ||
		!strings.Contains(err.Error(), `".onnx"`) || !strings.Contains(err.Error(), "backend") {
		t.Errorf("a .onnx judge beside a .tflite model: %v", err)
	}
	if _, err := NewBundle(Spec{Board: rpi4, Binary: bin, Model: model, Judge: filepath.Join(t.TempDir(), "judge.tflite")}); err == nil {
		t.Error("a missing judge file accepted")
	}
}

// TestPickJudge: "" takes the judge beside the model when there is one,
// none takes none, a named file must exist, differ from the model and
// share its extension.
func TestPickJudge(t *testing.T) {
	_, model, judge := judgeInputs(t, true)
	_, lone, _ := judgeInputs(t, false)
	other := filepath.Join(t.TempDir(), "j.TFLITE")
	os.WriteFile(other, []byte("judge"), 0o644)
	for _, c := range []struct {
		name, judge, model, want string
	}{
		{"default beside", "", model, judge},
		{"none", NoJudge, model, ""},
		{"no judge beside", "", lone, ""},
		{"named", judge, lone, judge},
		{"named, extension in capitals", other, lone, other},
	} {
		got, err := PickJudge(c.judge, c.model)
		if err != nil || got != c.want {
			t.Errorf("%s: PickJudge(%q, %q) = %q, %v; want %q", c.name, c.judge, c.model, got, err, c.want)
		}
	}
	onnx := filepath.Join(t.TempDir(), "judge.onnx")
	os.WriteFile(onnx, []byte("onnx"), 0o644)
	for _, c := range []struct{ name, judge, want string }{
		{"missing", filepath.Join(t.TempDir(), "judge.tflite"), "not a readable file"},
		{"folder", t.TempDir(), "not a readable file"},
		{"the model", model, "model file itself"},
		{"other extension", onnx, "one backend"},
	} {
		if _, err := PickJudge(c.judge, model); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// TestWriteReleaseJudge: edgecnn bundle ships the judge beside --model by
// default, none with --judge none, and refuses a mismatched one before
// building anything.
func TestWriteReleaseJudge(t *testing.T) {
	bin, model, _ := judgeInputs(t, true)
	for _, c := range []struct {
		judge string
		want  bool
	}{{"", true}, {NoJudge, false}} {
		out := t.TempDir()
		m, _, err := WriteRelease(context.Background(), BundleRequest{Board: "rpi4", Out: out, Model: model, Judge: c.judge, Binary: bin})
		if err != nil {
			t.Fatal(err)
		}
		rel := BundleDir(out, m.Release)
		_, err = os.Stat(filepath.Join(rel, "judge.tflite"))
		sums, _ := os.ReadFile(filepath.Join(rel, SumsFile))
		if (err == nil) != c.want || strings.Contains(string(sums), "  judge.tflite\n") != c.want {
			t.Errorf("--judge %q: judge.tflite in the release: %v, in %s: %q", c.judge, err, SumsFile, sums)
		}
		if _, err := os.Stat(filepath.Join(rel, "model.tflite")); err != nil {
			t.Error(err)
		}
	}
	onnx := filepath.Join(t.TempDir(), "judge.onnx")
	os.WriteFile(onnx, []byte("onnx"), 0o644)
	_, _, err := WriteRelease(context.Background(), BundleRequest{Board: "rpi4", Out: t.TempDir(), Model: model, Judge: onnx})
	if err == nil || !strings.Contains(err.Error(), "one backend") {
		t.Errorf("mismatched judge: %v", err)
	}
}

// TestFlashDryRunListsJudge: flash --dry-run lists judge.tflite with the
// release's other files.
func TestFlashDryRunListsJudge(t *testing.T) {
	bin, model, _ := judgeInputs(t, true)
	var out bytes.Buffer
	req := Request{Board: "rpi4", Dest: t.TempDir(), DryRun: true, Binary: bin, Model: model}
	if err := Execute(context.Background(), req, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "judge.tflite") || !strings.Contains(out.String(), "model.tflite") {
		t.Errorf("dry run:\n%s", out.String())
	}
	req.Judge = NoJudge
	out.Reset()
	if err := Execute(context.Background(), req, &out); err != nil || strings.Contains(out.String(), "judge.tflite") {
		t.Errorf("dry run with --judge none: %v\n%s", err, out.String())
	}
}
