//go:build !board

package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
)

// TestCLIFineTuneLoop runs the documented loop on a small scale:
// photoset → eval (image folder) → train --init --data MNIST --data folder
// --freeze conv → inspect (data sources) → quantize with the per-source
// table.
func TestCLIFineTuneLoop(t *testing.T) {
	mnistDir := trainDataDir(t)
	shipped := filepath.Join(testenv.RepoRoot(t), "models", "mnist.ckpt")
	tmp := t.TempDir()
	lcd := filepath.Join(tmp, "lcd")
	out, _, err := trainRunCLI(t, "photoset", "--out", lcd, "--n", "40", "--seed", "3", "--width", "120", "--height", "90")
	if err != nil || !strings.Contains(out, "wrote 40") {
		t.Fatalf("photoset: %v %s", err, out)
	}
	if files, _ := filepath.Glob(filepath.Join(lcd, "7", "*.jpg")); len(files) != 4 {
		t.Fatalf("photoset wrote %d photos of 7, want 4", len(files))
	}

	out, errOut, err := trainRunCLI(t, "eval", "--model", shipped, "--data", lcd)
	if err != nil || !strings.Contains(out, "data: "+lcd+" (folder, 40 images") || !strings.Contains(errOut, "40 images in 10 classes") {
		t.Fatalf("eval on a folder: %v\nstdout %s\nstderr %s", err, out, errOut)
	}

	ft := filepath.Join(tmp, "ft.ckpt")
	out, errOut, err = trainRunCLI(t, "train", "--init", shipped, "--data", mnistDir, "--data", lcd, "--mix", "1,1",
		"--freeze", "conv", "--epochs", "1", "--epoch-size", "128", "--json", "--out", ft)
	if err != nil {
		t.Fatalf("train --init: %v\n%s", err, errOut)
	}
	var final map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		json.Unmarshal(sc.Bytes(), &final)
	}
	if final["final"] != true || final["test_accuracy"].(float64) < 98 {
		t.Fatalf("final line %v", final)
	}
	ck, err := model.ReadCheckpointFile(ft)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		LR     float64 `json:"lr"`
		Freeze string  `json:"freeze"`
		Init   string  `json:"init"`
	}
	json.Unmarshal(ck.Config, &cfg)
	// the run's own sources come first; the shipped model's lineage (its
	// own sources and its init's, From set) follows
	own := 0
	for _, s := range ck.DataSources {
		if s.From == "" {
			own++
		}
	}
	if cfg.LR != 1e-4 || cfg.Freeze != "conv" || cfg.Init != shipped || ck.Init == nil || own != 2 || len(ck.DataSources) < 2 ||
		ck.DataSources[1].Path != lcd || ck.DataSources[1].Images != 40 {
		t.Fatalf("checkpoint: config %s, init %+v, sources %+v", ck.Config, ck.Init, ck.DataSources)
	}
	out, _, err = trainRunCLI(t, "inspect", ft)
	if err != nil || !strings.Contains(out, "fine-tuned from "+shipped) || !strings.Contains(out, lcd+": 40 images, sha256 "+ck.DataSources[1].SHA256) {
		t.Fatalf("inspect: %v\n%s", err, out)
	}

	q := filepath.Join(tmp, "ft.int8.tflite")
	out, _, err = trainRunCLI(t, "quantize", "--model", ft, "--data", mnistDir, "--data", lcd, "--eval-data", lcd,
		"--calib", "200", "--val", "0", "--method", "minmax", "--test", "500", "--out", q)
	if err != nil {
		t.Fatalf("quantize: %v\n%s", err, out)
	}
	for _, w := range []string{"per data source", mnistDir + " (test split)", lcd + " (all images; also calibration)", lcd + " (held out)"} {
		if !strings.Contains(out, w) {
			t.Errorf("quantize summary lacks %q:\n%s", w, out)
		}
	}
	// The deployable file says what the model was taught.
	out, _, err = trainRunCLI(t, "inspect", q)
	if err != nil || !strings.Contains(out, "edgecnn.data_sources = ") || !strings.Contains(out, ck.DataSources[1].SHA256) {
		t.Fatalf("inspect of the int8 model: %v\n%s", err, out)
	}
	// The int8 model on the native engine reads the folder's photos as
	// quantize evaluated them.
	out, _, err = trainRunCLI(t, "eval", "--model", q, "--data", lcd, "--json")
	var ev struct {
		Source   string  `json:"source"`
		N        int     `json:"images"`
		Accuracy float64 `json:"accuracy"`
	}
	if err != nil || json.Unmarshal([]byte(out), &ev) != nil || ev.Source != lcd || ev.N != 40 || ev.Accuracy < 50 {
		t.Fatalf("eval of the int8 model on the folder: %v %+v\n%s", err, ev, out)
	}
	out, _, err = trainRunCLI(t, "quantize", "--model", ft, "--data", mnistDir, "--data", lcd, "--eval-data", lcd,
		"--calib", "200", "--val", "0", "--method", "minmax", "--test", "500", "--out", q, "--json")
	var rep struct {
		Sources []struct {
			Source string  `json:"source"`
			Note   string  `json:"note"`
			Int8   float64 `json:"int8_pct"`
		} `json:"sources"`
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Sources) != 3 {
		t.Fatalf("quantize --json: %v\n%s", err, out)
	}
	if r := rep.Sources[2]; r.Source != lcd || r.Note != "held out" || math.Abs(r.Int8-ev.Accuracy) > 1e-3 {
		t.Fatalf("quantize's int8 row for the folder %+v, eval of the .tflite says %.4f%%", r, ev.Accuracy)
	}
}

// TestCLIFineTuneBadInput: each gets one clear error, and no checkpoint.
func TestCLIFineTuneBadInput(t *testing.T) {
	mnistDir := trainDataDir(t)
	shipped := filepath.Join(testenv.RepoRoot(t), "models", "mnist.ckpt")
	tmp := t.TempDir()
	seven := filepath.Join(tmp, "seven")
	os.MkdirAll(filepath.Join(seven, "seven"), 0o755)
	os.WriteFile(filepath.Join(seven, "seven", "a.png"), []byte("x"), 0o644)
	out := filepath.Join(tmp, "x.ckpt")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"other width", []string{"train", "--init", shipped, "--width", "16", "--data", mnistDir, "--out", out}, "--width asks for 16"},
		{"seven folder", []string{"train", "--data", seven, "--out", out}, filepath.Join(seven, "seven") + ": not a label folder"},
		{"mix count", []string{"train", "--data", mnistDir, "--data", mnistDir, "--mix", "1", "--out", out}, "--mix has 1 weights for 2"},
		{"freeze what", []string{"train", "--init", shipped, "--freeze", "dense", "--data", mnistDir, "--out", out}, `--freeze "dense"`},
		{"init and resume", []string{"train", "--init", shipped, "--resume", "--data", mnistDir, "--out", out}, "use one of them"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := trainRunCLI(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Fatal("a checkpoint was written")
			}
		})
	}
}
