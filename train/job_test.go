package train

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
)

// TestJobPrepare: what edgecnn train resolves before training (--threads,
// --init and its architecture, the fine-tuning learning rate).
func TestJobPrepare(t *testing.T) {
	ctx := context.Background()
	j := NewJob()
	j.Threads = -1
	if _, err := j.Prepare(ctx); err == nil || !strings.Contains(err.Error(), "--threads -1") {
		t.Fatalf("--threads -1: err %v", err)
	}
	j = NewJob()
	j.Init = filepath.Join(t.TempDir(), "missing.ckpt")
	if _, err := j.Prepare(ctx); err == nil || !strings.Contains(err.Error(), "--init") {
		t.Fatalf("missing --init: err %v", err)
	}
	root := testenv.RepoRoot(t)
	j = NewJob()
	j.Init, j.Data = filepath.Join(root, "models", "mnist.ckpt"), []string{testenv.MNISTDir(t)}
	j.Width = 8
	j.IsSet = func(f string) bool { return f == "width" }
	if _, err := j.Prepare(ctx); !errors.Is(err, ErrInit) {
		t.Fatalf("--width 8 against the checkpoint's: err %v, want ErrInit", err)
	}
	j.IsSet = nil
	run, err := j.Prepare(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if run.Config.LR != FineTuneLR || run.Config.Width == 8 || run.Init == nil || run.InitRef == nil || len(run.Sources) != 1 {
		t.Fatalf("fine-tuning run: lr %v width %d init %v sources %d", run.Config.LR, run.Config.Width, run.Init != nil, len(run.Sources))
	}
	j.IsSet = func(f string) bool { return f == "lr" }
	if run, err = j.Prepare(ctx); err != nil || run.Config.LR != DefaultConfig().LR {
		t.Fatalf("--lr given: lr %v, err %v", run.Config.LR, err)
	}
}
