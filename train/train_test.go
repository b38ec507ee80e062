package train

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// smallData is MNIST cut down for fast tests: the first train images and
// a test split of 2,000 images.
func smallData(t testing.TB, train int) *mnist.Dataset {
	ds := loadMNIST(t)
	return &mnist.Dataset{Train: ds.Train.Slice(train), Test: ds.Test.Slice(2000)}
}

func smallConfig() Config {
	c := DefaultConfig()
	c.Epochs = 1
	return c
}

// TestTrainLearns trains the seed model for one epoch on 3,000 images: the
// loss must fall well below its initial value (ln 10 ≈ 2.3) and the test
// accuracy must be far above chance.
func TestTrainLearns(t *testing.T) {
	cfg := smallConfig()
	var first, last float64
	batches := 0
	res, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 3000), Out: filepath.Join(t.TempDir(), "m.ckpt"),
		OnBatch: func(p Progress) {
			if batches == 0 {
				first = p.Loss
			}
			last = p.Loss
			batches++
		}})
	if err != nil {
		t.Fatal(err)
	}
	if batches != 47 {
		t.Fatalf("%d batches for 3000 images of 64, want 47", batches)
	}
	if !(first > 1.9) || !(last < 0.8*first) || !(res.Metrics.Epochs[0].Loss < 1.2) {
		t.Fatalf("loss did not fall: first batch %.3f, running mean at the end %.3f, epoch %.3f", first, last, res.Metrics.Epochs[0].Loss)
	}
	if res.Test.Accuracy < 80 {
		t.Fatalf("test accuracy %.2f%% after one epoch on 3000 images, want ≥ 80%% (chance: 10%%)", res.Test.Accuracy)
	}
	t.Logf("loss %.3f → %.3f, test accuracy %.2f%%", first, res.Metrics.Epochs[0].Loss, res.Test.Accuracy)
}

func params(m *model.Model) []float32 {
	var v []float32
	for _, p := range m.Params() {
		v = append(v, p.Data...)
	}
	return v
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

// TestDeterministicAndResume: the same seed gives bit-identical weights,
// and a run interrupted after epoch 1 and resumed equals the uninterrupted
// run (BatchNorm, dropout, augmentation, validation split, StepLR).
func TestDeterministicAndResume(t *testing.T) {
	data := smallData(t, 700)
	cfg := smallConfig()
	cfg.Epochs = 2
	cfg.BatchNorm, cfg.Dropout, cfg.Augment = true, 0.3, true
	cfg.Val, cfg.StepSize, cfg.Gamma = 100, 1, 0.5
	cfg.Width = 8
	dir := t.TempDir()
	run := func(out string, epochs int, resume bool) *Result {
		c := cfg
		c.Epochs = epochs
		res, err := Train(context.Background(), Run{Config: c, Data: data, Out: out, Resume: resume})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a := run(filepath.Join(dir, "a.ckpt"), 2, false)
	b := run(filepath.Join(dir, "b.ckpt"), 2, false)
	if !sameBits(params(a.Model), params(b.Model)) {
		t.Fatal("two runs with the same seed differ")
	}
	run(filepath.Join(dir, "c.ckpt"), 1, false)
	c := run(filepath.Join(dir, "c.ckpt"), 2, true)
	if !sameBits(params(a.Model), params(c.Model)) {
		t.Fatal("resumed run differs from the uninterrupted one")
	}
	if len(c.Metrics.Epochs) != 2 || c.Metrics.Epochs[1].LR != 0.5e-3 || c.Metrics.Epochs[0].ValAccuracy == nil {
		t.Fatalf("resumed metrics: %+v", c.Metrics.Epochs)
	}
	ck, err := model.ReadCheckpointFile(filepath.Join(dir, "c.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 2 || !strings.Contains(string(ck.Config), `"augment":true`) || !strings.Contains(string(ck.Metrics), `"test_accuracy"`) {
		t.Fatalf("checkpoint record: epoch %d config %s metrics %s", ck.Epoch, ck.Config, ck.Metrics)
	}
	// A different seed gives different weights.
	cfg.Seed = 2
	d := run(filepath.Join(dir, "d.ckpt"), 1, false)
	if sameBits(params(a.Model), params(d.Model)) {
		t.Fatal("different seeds give identical weights")
	}
}

// TestDivergenceKeepsCheckpoint: a NaN loss stops training with
// ErrDiverged and leaves the last good checkpoint untouched.
func TestDivergenceKeepsCheckpoint(t *testing.T) {
	data := smallData(t, 640)
	out := filepath.Join(t.TempDir(), "m.ckpt")
	cfg := smallConfig()
	cfg.Optimizer, cfg.LR = "sgd", 0.01
	if _, err := Train(context.Background(), Run{Config: cfg, Data: data, Out: out}); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(out)
	cfg.Epochs, cfg.LR = 2, 1e12
	_, err := Train(context.Background(), Run{Config: cfg, Data: data, Out: out, Resume: true})
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "checkpoint of epoch 1 is kept") {
		t.Fatalf("lr 1e12: %v", err)
	}
	after, _ := os.ReadFile(out)
	if !bytes.Equal(good, after) {
		t.Fatal("the last good checkpoint was changed")
	}
	if _, err := model.ReadCheckpointFile(out); err != nil {
		t.Fatal(err)
	}
}

// TestCancel: cancelling the context stops training cleanly.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	_, err := Train(ctx, Run{Config: smallConfig(), Data: smallData(t, 1280), Out: filepath.Join(t.TempDir(), "m.ckpt"),
		OnBatch: func(Progress) {
			if n++; n == 3 {
				cancel()
			}
		}})
	if !errors.Is(err, context.Canceled) || n != 3 || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("after cancel: %v (%d batches)", err, n)
	}
}

// TestTrainBadInput covers configurations and files that must be refused.
func TestTrainBadInput(t *testing.T) {
	data := smallData(t, 256)
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.ckpt")
	cfg := smallConfig()
	cfg.Width = 4
	if _, err := Train(context.Background(), Run{Config: cfg, Data: data, Out: ok}); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "corrupt.ckpt")
	b, _ := os.ReadFile(ok)
	b[len(b)/2] ^= 0xff
	os.WriteFile(corrupt, b, 0o644)
	bad := func(c Config, out string, resume bool) error {
		_, err := Train(context.Background(), Run{Config: c, Data: data, Out: out, Resume: resume})
		return err
	}
	wide := cfg
	wide.Width, wide.Epochs = 8, 2
	sgdCfg := cfg
	sgdCfg.Optimizer, sgdCfg.Epochs = "sgd", 2
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unwritable output", bad(cfg, filepath.Join(dir, "no", "such", "dir", "m.ckpt"), false), "cannot write"},
		{"output is a directory", bad(cfg, dir, false), "directory"},
		{"resume other architecture", bad(wide, ok, true), "architecture"},
		{"resume other optimizer", bad(sgdCfg, ok, true), "optimizer"},
		{"resume corrupt checkpoint", bad(cfg, corrupt, true), "corrupt checkpoint"},
		{"resume missing checkpoint", bad(cfg, filepath.Join(dir, "missing.ckpt"), true), "no such file"},
		{"resume finished run", bad(cfg, ok, true), "already has 1 epochs"},
		{"zero epochs", bad(Config{Epochs: 0}, ok, false), "epochs"},
		{"patience without val", bad(func() Config { c := cfg; c.Patience = 2; return c }(), ok, false), "--val"},
		{"bad optimizer", bad(func() Config { c := cfg; c.Optimizer = "rmsprop"; return c }(), ok, false), "rmsprop"},
		{"val too large", bad(func() Config { c := cfg; c.Val = 256; return c }(), ok, false), "validation split"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, tc.err, tc.want)
		}
	}
}

// TestEarlyStopping: with patience 1 and a learning rate that makes no
// progress, training stops before the last epoch and keeps the best weights.
func TestEarlyStopping(t *testing.T) {
	cfg := smallConfig()
	cfg.Epochs, cfg.Val, cfg.Patience, cfg.Width = 6, 200, 1, 4
	cfg.Optimizer, cfg.LR = "sgd", 1e-9 // validation accuracy cannot improve
	res, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 456), Out: filepath.Join(t.TempDir(), "m.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Metrics.EarlyStopped || len(res.Metrics.Epochs) != 2 || res.Metrics.BestEpoch != 1 {
		t.Fatalf("early stopping: stopped=%v after %d epochs, best %d", res.Metrics.EarlyStopped, len(res.Metrics.Epochs), res.Metrics.BestEpoch)
	}
}

// TestSlimCheckpoint: --slim drops the optimizer state from the final
// checkpoint only, which then cannot be resumed.
func TestSlimCheckpoint(t *testing.T) {
	cfg := smallConfig()
	cfg.Width = 4
	out := filepath.Join(t.TempDir(), "m.ckpt")
	if _, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 128), Out: out, Slim: true}); err != nil {
		t.Fatal(err)
	}
	ck, err := model.ReadCheckpointFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.State) != 0 {
		t.Fatalf("slim checkpoint holds state %v", len(ck.State))
	}
	cfg.Epochs = 2
	_, err = Train(context.Background(), Run{Config: cfg, Data: smallData(t, 128), Out: out, Resume: true})
	if err == nil || !strings.Contains(err.Error(), "no Adam state") {
		t.Fatalf("resuming a slim checkpoint: %v", err)
	}
}

func TestProgressETA(t *testing.T) {
	p := Progress{Epoch: 2, Epochs: 3, Done: 1000, Total: 6000, ImagesPerSecond: 1000}
	if got, want := p.ETA(), 11*time.Second; got != want { // 5,000 left in epoch 2 + 6,000 in epoch 3
		t.Errorf("ETA %v, want %v", got, want)
	}
	if (Progress{Epoch: 1, Epochs: 1, Total: 10}).ETA() != 0 {
		t.Error("ETA without a speed")
	}
}
