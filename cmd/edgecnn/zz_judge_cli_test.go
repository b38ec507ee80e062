package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/internal/testenv"
)

// TestPredictJudge: --multi --judge reads with the committed judge (the
// answer has one box per accepted digit); --judge without --multi and a
// model that is no judge are clear errors.
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
	_, errOut, err := cameraCLI(t, "predict", "--model", mp, "--multi", "--judge", mp, photo)
	if err == nil || !strings.Contains(err.Error()+errOut, "judge") || !strings.Contains(err.Error()+errOut, "pairs") {
		t.Errorf("a digit model as --judge: %v %q", err, errOut)
	}
	_, errOut, err = cameraCLI(t, "predict", "--model", mp, "--multi", "--judge", filepath.Join(t.TempDir(), "none.ckpt"), photo)
	if err == nil || !strings.Contains(err.Error()+errOut, "--judge") {
		t.Errorf("a missing --judge file: %v %q", err, errOut)
	}
}
