//go:build !board

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/mnist"
)

func TestCLIDataFetchOffline(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mnist")
	out, _, err := trainRunCLI(t, "data", "fetch", "--dir", dir, "--offline")
	if err != nil || !strings.Contains(out, "SHA-256 verified") {
		t.Fatalf("data fetch --offline: %v: %s", err, out)
	}
	for _, f := range mnist.Files {
		if err := mnist.VerifyFile(filepath.Join(dir, f.Name), f.SHA256); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCLITrainEval trains a small model with --json and checks the JSON
// lines, then evaluates the checkpoint with eval --json.
func TestCLITrainEval(t *testing.T) {
	data := trainDataDir(t)
	ckpt := filepath.Join(t.TempDir(), "m.ckpt")
	out, _, err := trainRunCLI(t, "train", "--data", data, "--limit", "1280", "--val", "500", "--epochs", "2", "--width", "8",
		"--bn", "--json", "--out", ckpt)
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	if len(lines) != 3 {
		t.Fatalf("want 2 epoch lines and a final one, got %d:\n%s", len(lines), out)
	}
	for i, l := range lines[:2] {
		for _, k := range []string{"epoch", "loss", "train_accuracy", "val_accuracy", "seconds"} {
			if _, ok := l[k]; !ok {
				t.Fatalf("epoch line %d lacks %q: %v", i, k, l)
			}
		}
		if l["epoch"].(float64) != float64(i+1) || l["val_accuracy"] == nil {
			t.Fatalf("epoch line %d: %v", i, l)
		}
	}
	acc, ok := lines[2]["test_accuracy"].(float64)
	if !ok || acc < 50 || acc > 100 {
		t.Fatalf("final line: %v", lines[2])
	}
	out, _, err = trainRunCLI(t, "eval", "--model", ckpt, "--data", data, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Accuracy  float64   `json:"accuracy"`
		PerClass  []float64 `json:"per_class_accuracy"`
		Confusion [][]int   `json:"confusion"`
		N         int       `json:"images"`
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("eval --json: %v: %s", err, out)
	}
	if ev.Accuracy != acc || ev.N != 10000 || len(ev.PerClass) != 10 || len(ev.Confusion) != 10 {
		t.Fatalf("eval: accuracy %v (train said %v), %d images, %d classes", ev.Accuracy, acc, ev.N, len(ev.PerClass))
	}
	total := 0
	for _, row := range ev.Confusion {
		for _, v := range row {
			total += v
		}
	}
	if total != 10000 {
		t.Fatalf("confusion matrix sums to %d", total)
	}
	out, _, err = trainRunCLI(t, "eval", "--model", ckpt, "--data", data)
	if err != nil || !strings.Contains(out, "confusion matrix") || !strings.Contains(out, "accuracy") {
		t.Fatalf("eval text: %v\n%s", err, out)
	}
}

// TestCLIBadInput: each bad input gives a clear error, never a panic.
func TestCLIBadInput(t *testing.T) {
	data := trainDataDir(t)
	tmp := t.TempDir()
	// A data folder with a truncated training image file.
	trunc := filepath.Join(tmp, "trunc")
	os.MkdirAll(trunc, 0o755)
	for _, f := range mnist.Files {
		b, _ := os.ReadFile(filepath.Join(data, f.Name))
		if f.Name == mnist.TrainImages+".gz" {
			b = b[:len(b)/2]
		}
		os.WriteFile(filepath.Join(trunc, f.Name), b, 0o644)
	}
	// A checkpoint of another architecture and a corrupt one.
	m, _ := model.New(model.Arch{InputH: 28, InputW: 28, InputC: 1, Width: 4, Hidden: 8, Classes: 10})
	other := filepath.Join(tmp, "other.ckpt")
	if err := model.WriteCheckpointFile(other, &model.Checkpoint{Model: m, Epoch: 1, Config: []byte(`{"optimizer":"adam","seed":1,"batch":64}`)}); err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(tmp, "corrupt.ckpt")
	b, _ := os.ReadFile(other)
	os.WriteFile(corrupt, b[:len(b)-10], 0o644)
	notCkpt := filepath.Join(tmp, "notes.txt")
	os.WriteFile(notCkpt, []byte("hello, I am not a model"), 0o644)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing data", []string{"train", "--data", filepath.Join(tmp, "nothing"), "--out", filepath.Join(tmp, "a.ckpt")}, "not found"},
		{"truncated IDX", []string{"train", "--data", trunc, "--out", filepath.Join(tmp, "a.ckpt")}, "truncated"},
		{"resume other architecture", []string{"train", "--data", data, "--limit", "64", "--epochs", "2", "--resume", "--out", other}, "architecture"},
		{"resume corrupt", []string{"train", "--data", data, "--limit", "64", "--resume", "--out", corrupt}, "corrupt checkpoint"},
		{"unwritable output", []string{"train", "--data", data, "--limit", "64", "--out", "/proc/edgecnn/m.ckpt"}, "cannot write"},
		{"NaN loss", []string{"train", "--data", data, "--limit", "640", "--width", "4", "--optimizer", "sgd", "--lr", "1e12", "--out", filepath.Join(tmp, "nan.ckpt")}, "diverged"},
		{"bad flag value", []string{"train", "--data", data, "--optimizer", "rmsprop"}, "rmsprop"},
		{"eval corrupt", []string{"eval", "--data", data, "--model", corrupt}, "corrupt checkpoint"},
		{"eval not a checkpoint", []string{"eval", "--data", data, "--model", notCkpt}, "not an edgecnn checkpoint"},
		{"eval missing", []string{"eval", "--data", data, "--model", filepath.Join(tmp, "missing.ckpt")}, "no such file"},
	} {
		_, _, err := trainRunCLI(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
	// As a process: exit status 1 and the message on stderr, no panic.
	cmd := trainCLICommand(t, "eval", "--data", data, "--model", corrupt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "corrupt checkpoint") || strings.Contains(stderr.String(), "goroutine") {
		t.Fatalf("eval of a corrupt checkpoint: %v, stderr %q", err, stderr.String())
	}
}

// TestCLIKillDuringCheckpoint runs training in a subprocess that writes a
// checkpoint several times a second, kills it with SIGKILL at varying
// moments, and checks each time that the checkpoint on disk is complete
// and loadable, and that --resume continues from it.
func TestCLIKillDuringCheckpoint(t *testing.T) {
	data := trainDataDir(t)
	ckpt := filepath.Join(t.TempDir(), "m.ckpt")
	lastEpoch := 0
	for round := 0; round < 4; round++ {
		args := []string{"train", "--data", data, "--limit", "320", "--width", "8", "--epochs", "100000", "--threads", "1", "--out", ckpt}
		if round > 0 {
			args = append(args, "--resume")
		}
		cmd := trainCLICommand(t, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait for a new checkpoint, then kill at a moment that moves
		// through the write cycle from round to round.
		deadline := time.Now().Add(60 * time.Second)
		for {
			if ck, err := model.ReadCheckpointFile(ckpt); err == nil && ck.Epoch > lastEpoch {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("round %d: no new checkpoint within 60 s; stderr: %s", round, stderr.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(round*37) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		ck, err := model.ReadCheckpointFile(ckpt)
		if err != nil {
			t.Fatalf("round %d: checkpoint unreadable after SIGKILL: %v", round, err)
		}
		if ck.Epoch <= lastEpoch {
			t.Fatalf("round %d: checkpoint epoch %d, had %d before", round, ck.Epoch, lastEpoch)
		}
		if err := ck.Model.CheckFinite(); err != nil {
			t.Fatal(err)
		}
		lastEpoch = ck.Epoch
		// Each run's checkpoint writes remove the temporary files that the
		// killed runs before it left: at most the last kill's remains.
		if tmp, _ := filepath.Glob(filepath.Join(filepath.Dir(ckpt), ".m.ckpt.tmp-*")); len(tmp) > 1 {
			t.Fatalf("round %d: %d leftover temporary files of killed checkpoint writes: %v", round, len(tmp), tmp)
		}
	}
	t.Logf("4 kills survived; checkpoint at epoch %d", lastEpoch)
}
