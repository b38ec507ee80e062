package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/internal/testenv"
)

// TestPredictRescan: predict --multi rescans an unsure row by default
// (--rescan). Handwritten tuning photo 115 ("384172", read "?84172" at
// one working size) reads right with the committed model and the judge
// beside it, and not with --rescan=false.
func TestPredictRescan(t *testing.T) {
	root := testenv.RepoRoot(t)
	d := testenv.MNISTDir(t)
	ds, err := photoset.ReadMNISTTest(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	num, err := photoset.NumberSet(ds, photoset.TuneSplit, photoset.Handwritten, 115, 640, 480)
	if err != nil {
		t.Fatal(err)
	}
	photo := filepath.Join(t.TempDir(), "number.jpg")
	if err := os.WriteFile(photo, num.JPEG, 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(extra ...string) agent.PredictLine {
		t.Helper()
		args := append([]string{"predict", "--json", "--model", filepath.Join(root, "models", "mnist.ckpt"), "--multi"}, extra...)
		out, _, err := cameraCLI(t, append(args, photo)...)
		var pl agent.PredictLine
		if err != nil || json.Unmarshal([]byte(out), &pl) != nil {
			t.Fatalf("predict %v: %v %q", extra, err, out)
		}
		return pl
	}
	if pl := read(); pl.Text != num.Text || len(pl.Digits) != len(num.Text) {
		t.Errorf("--multi: read %q with %d boxes, want %q", pl.Text, len(pl.Digits), num.Text)
	}
	if pl := read("--rescan=false"); pl.Text == num.Text {
		t.Errorf("--multi --rescan=false: read %q as rescanning does: photo 115 no longer tells them apart", pl.Text)
	}
}
