package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/internal/testenv"
)

// TestPredictJudge: --multi --judge reads with the committed judge (the
// answer has one box per accepted digit; --digits N reads a number of N
// digits or none); --judge without --multi and a model that is no judge
// are clear errors.
func TestPredictJudge(t *testing.T) {
	mp := cameraTestModel(t)
	judge := filepath.Join(testenv.RepoRoot(t), "models", "judge.ckpt")
	photo := samplePhotos(t)[0]
	out, _, err := cameraCLI(t, "predict", "--json", "--model", mp, "--multi", "--judge", judge, photo)
	var pl agent.PredictLine
	if err != nil || json.Unmarshal([]byte(out), &pl) != nil {
		t.Fatalf("--multi --judge: %v %q", err, out)
	}
	want := photo[strings.LastIndex(photo, "-d")+2 : len(photo)-4]
	if pl.Text != want || len(pl.Digits) != 1 {
		t.Errorf("--multi --judge: got %+v, want %q", pl.Result, want)
	}
	_, _, err = cameraCLI(t, "predict", "--model", mp, "--judge", judge, photo)
	if err == nil || !strings.Contains(err.Error(), "--judge") || !strings.Contains(err.Error(), "--multi") {
		t.Errorf("--judge without --multi: %v", err)
	}
	// --digits N: one digit read as a number of one digit, and as no
	// number of two.
	for _, tc := range []struct{ digits, text, reason string }{{"1", want, ""}, {"2", "", agent.ReasonLength}} {
		out, _, err := cameraCLI(t, "predict", "--json", "--model", mp, "--multi", "--judge", judge, "--digits", tc.digits, photo)
		var pl agent.PredictLine
		if err != nil || json.Unmarshal([]byte(out), &pl) != nil || pl.Text != tc.text || pl.Reason != tc.reason {
			t.Errorf("--digits %s: %v %q, want %q (reason %q)", tc.digits, err, out, tc.text, tc.reason)
		}
	}
	_, errOut, err := cameraCLI(t, "predict", "--model", mp, "--multi", "--judge", mp, photo)
	if err == nil || !strings.Contains(err.Error()+errOut, "judge") || !strings.Contains(err.Error()+errOut, "pairs") {
		t.Errorf("a digit model as --judge: %v %q", err, errOut)
	}
	_, errOut, err = cameraCLI(t, "predict", "--model", mp, "--multi", "--judge", filepath.Join(t.TempDir(), "none.ckpt"), photo)
	if err == nil || !strings.Contains(err.Error()+errOut, "--judge") {
		t.Errorf("a missing --judge file: %v %q", err, errOut)
	}
}

// TestPredictMultiDefaultJudge: models/judge.ckpt sits beside
// models/mnist.ckpt, so predict --multi without --judge reads with it:
// the same answer as --judge models/judge.ckpt (the judge's vote moves the
// confidence), not the one of --judge none; text mode notes the judge on
// stderr, --json leaves its lines as they were.
func TestPredictMultiDefaultJudge(t *testing.T) {
	root := testenv.RepoRoot(t)
	mp := filepath.Join(root, "models", "mnist.ckpt")
	judge := filepath.Join(root, "models", "judge.ckpt")
	photo := samplePhotos(t)[0]
	read := func(args ...string) string {
		t.Helper()
		out, errOut, err := cameraCLI(t, append(append([]string{"predict", "--json", "--model", mp, "--multi"}, args...), photo)...)
		if err != nil || errOut != "" {
			t.Fatalf("predict --multi %v: %v %q", args, err, errOut)
		}
		return out
	}
	def, explicit, none := read(), read("--judge", judge), read("--judge", "none")
	if def != explicit {
		t.Errorf("--multi reads otherwise than with --judge %s:\n%s\n%s", judge, def, explicit)
	}
	if def == none {
		t.Errorf("--multi reads as --judge none: the judge beside the model was not used:\n%s", def)
	}
	var pl agent.PredictLine
	if err := json.Unmarshal([]byte(def), &pl); err != nil || pl.Text == "" {
		t.Errorf("--json line %q: %v", def, err)
	}
	_, errOut, err := cameraCLI(t, "predict", "--model", mp, "--multi", photo)
	if err != nil || !strings.Contains(errOut, "segmentation judge "+judge) || !strings.Contains(errOut, "--judge none") {
		t.Errorf("text mode: %v, stderr %q (want a note naming the judge)", err, errOut)
	}
	_, errOut, err = cameraCLI(t, "predict", "--model", mp, "--judge", "none", photo)
	if err != nil || strings.Contains(errOut, "judge") {
		t.Errorf("--judge none without --multi: %v %q", err, errOut)
	}
}

// TestRunLogsJudge: run logs the judge it reads with at start: the one
// beside the model with --multi, none with --judge none (also from a
// config file) or without --multi.
func TestRunLogsJudge(t *testing.T) {
	root := testenv.RepoRoot(t)
	mp := filepath.Join(root, "models", "mnist.ckpt")
	cfg := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(cfg, []byte(`{"multi": true, "judge": "none"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--multi"}, "judge=" + filepath.Join(root, "models", "judge.ckpt")},
		{[]string{"--multi", "--judge", "none"}, "judge=none"},
		{[]string{"--config", cfg}, "judge=none"},
		{nil, "judge=none"},
	} {
		args := append([]string{"run", "--model", mp, "--camera", "synthetic", "--max-frames", "1"}, c.args...)
		_, errOut, err := cameraCLI(t, args...)
		if err != nil || !strings.Contains(errOut, "msg=running") || !strings.Contains(errOut, c.want+" ") {
			t.Errorf("run %v: %v; want %q in the log:\n%s", c.args, err, c.want, errOut)
		}
	}
}

// TestRunVerifiesJudge: as in a flashed release, SHA256SUMS beside the
// model lists the judge too; run refuses a judge that does not match it.
func TestRunVerifiesJudge(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"mnist.ckpt", "judge.ckpt"} {
		b, err := os.ReadFile(filepath.Join(root, "models", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	sums := func(judgeSum string) {
		b, _ := os.ReadFile(filepath.Join(dir, "mnist.ckpt"))
		h := sha256.Sum256(b)
		os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(hex.EncodeToString(h[:])+"  mnist.ckpt\n"+judgeSum+"  judge.ckpt\n"), 0o644)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "judge.ckpt"))
	h := sha256.Sum256(b)
	args := []string{"run", "--model", filepath.Join(dir, "mnist.ckpt"), "--multi", "--camera", "synthetic", "--max-frames", "1"}
	sums(hex.EncodeToString(h[:]))
	if _, errOut, err := cameraCLI(t, args...); err != nil || !strings.Contains(errOut, `msg="judge verified"`) {
		t.Errorf("judge listed with its sum: %v\n%s", err, errOut)
	}
	sums(strings.Repeat("0", 64))
	if _, _, err := cameraCLI(t, args...); err == nil || !strings.Contains(err.Error(), "judge") || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("judge that does not match SHA256SUMS: %v", err)
	}
	if _, _, err := cameraCLI(t, append(args, "--judge", "none")...); err != nil {
		t.Errorf("--judge none does not read the judge: %v", err)
	}
}

// TestPredictSampleNumbers: the sample numbers make demo reads
// (camera/testdata/numbers, MNIST test digits outside the benches'
// splits) are read as their file names say, each digit with a box, with
// the judge beside the model.
func TestPredictSampleNumbers(t *testing.T) {
	root := testenv.RepoRoot(t)
	photos, _ := filepath.Glob(filepath.Join(root, "camera", "testdata", "numbers", "number-*-d*.jpg"))
	if len(photos) != 6 {
		t.Fatalf("%d sample numbers in camera/testdata/numbers, want 6", len(photos))
	}
	out, _, err := cameraCLI(t, append([]string{"predict", "--json", "--model", filepath.Join(root, "models", "mnist.ckpt"), "--multi"}, photos...)...)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(photos) {
		t.Fatalf("%d lines for %d photos:\n%s", len(lines), len(photos), out)
	}
	for i, l := range lines {
		var pl agent.PredictLine
		if err := json.Unmarshal([]byte(l), &pl); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		name := filepath.Base(photos[i])
		want := strings.TrimSuffix(name[strings.LastIndex(name, "-d")+2:], ".jpg")
		if pl.Text != want || len(pl.Digits) != len(want) {
			t.Errorf("%s: read %q with %d boxes, want %q", name, pl.Text, len(pl.Digits), want)
		}
	}
}
