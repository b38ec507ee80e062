// Package backendtest holds the fixtures shared by the tests of the cgo
// backends (runtime/tflite and runtime/onnxruntime): the MNIST test set,
// the float and int8 graphs of the product model written as .tflite files,
// small models for the leak tests, and process statistics. It is pure Go
// and has no build tag; only tests import it.
//
// The float model is models/mnist.ckpt when the trainer has produced it,
// otherwise the seed architecture with PyTorch-style random initialization
// (fixed seed). The int8 graph comes from package quantize calibrated on
// the first 1,000 training images.
//
// Setting EDGECNN_BACKEND_FIXTURES to a directory makes the files persist
// there: a later run (e.g. the arm64 tests under qemu) reads the same model
// files instead of rebuilding them, so both architectures run identical
// models.
package backendtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// Env names the environment variable of the fixture directory.
const Env = "EDGECNN_BACKEND_FIXTURES"

// ReadOnlyEnv, when set, forbids (re)building fixtures: the arm64 run under
// qemu must use the amd64 run's files, and building them there would be slow.
const ReadOnlyEnv = "EDGECNN_BACKEND_FIXTURES_READONLY"

// Fixtures are the models and images the backend tests share.
type Fixtures struct {
	Dir         string
	Trained     bool // Model comes from models/mnist.ckpt
	Model       *model.Model
	FloatGraph  *model.Graph
	Int8Graph   *model.Graph
	FloatTFLite string // file paths
	Int8TFLite  string
	FloatONNX   string    // FloatGraph through model/onnx
	Int8ONNX    string    // Int8Graph as an ONNX QDQ graph
	N           int       // test images
	X           []float32 // N normalized images, NHWC
	Labels      []uint8
}

// Classes is the model's class count (11 for a model with the "x" not-a-digit class).
func (f *Fixtures) Classes() int { return f.Model.Arch.Classes }

// Image returns normalized images [i, i+n).
func (f *Fixtures) Image(i, n int) []float32 {
	sz := f.Model.Input().Size()
	return f.X[i*sz : (i+n)*sz]
}

var (
	once sync.Once
	fix  *Fixtures
	ferr error
)

// Load returns the fixtures, building them once per process.
func Load(t testing.TB) *Fixtures {
	t.Helper()
	once.Do(func() { fix, ferr = build() })
	if ferr != nil {
		t.Fatalf("backend fixtures: %v", ferr)
	}
	return fix
}

// RepoRoot walks up from the working directory to go.mod.
func RepoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", errors.New("go.mod not found above the working directory")
		}
		d = p
	}
}

func build() (*Fixtures, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	dir := os.Getenv(Env)
	if dir == "" {
		if dir, err = os.MkdirTemp("", "edgecnn-backendtest-"); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f := &Fixtures{Dir: dir, FloatTFLite: filepath.Join(dir, "float.tflite"), Int8TFLite: filepath.Join(dir, "int8.tflite"),
		FloatONNX: filepath.Join(dir, "float.onnx"), Int8ONNX: filepath.Join(dir, "int8.onnx")}
	data := filepath.Join(root, "data", "mnist")
	test, err := mnist.LoadTest(data)
	if err != nil {
		return nil, fmt.Errorf("MNIST test set (run make data): %w", err)
	}
	f.N, f.Labels = test.N, test.Labels
	if f.Model, f.Trained, err = floatModel(root, dir); err != nil {
		return nil, err
	}
	if err := checkSource(dir, root); err != nil {
		return nil, err
	}
	f.X = make([]float32, len(test.Images))
	train.Normalize(f.Model, test.Images, f.X)

	if os.Getenv(ReadOnlyEnv) != "" {
		for _, p := range []string{f.FloatTFLite, f.Int8TFLite, f.FloatONNX, f.Int8ONNX} {
			if _, err := os.Stat(p); err != nil {
				return nil, fmt.Errorf("%s is set and %w; run make test-backends first", ReadOnlyEnv, err)
			}
		}
	}
	if g, err := tflite.ReadFile(f.FloatTFLite); err == nil {
		f.FloatGraph = g
	} else {
		if f.FloatGraph, err = model.FloatGraph(f.Model); err != nil {
			return nil, err
		}
		if err := tflite.WriteFile(f.FloatTFLite, f.FloatGraph); err != nil {
			return nil, err
		}
	}
	if g, err := tflite.ReadFile(f.Int8TFLite); err == nil {
		f.Int8Graph = g
	} else {
		trainSet, err := mnist.LoadSet(data, mnist.TrainImages, mnist.TrainLabels, 60000)
		if err != nil {
			return nil, fmt.Errorf("MNIST training set (run make data): %w", err)
		}
		calib, err := quantize.FromPixels(trainSet.Images[:1000*28*28], trainSet.Labels[:1000], 1000, f.Model.Norm)
		if err != nil {
			return nil, err
		}
		if f.Int8Graph, _, err = quantize.Quantize(context.Background(), f.Model, calib, quantize.Options{Sample: 16}); err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		if err := tflite.WriteFile(f.Int8TFLite, f.Int8Graph); err != nil {
			return nil, err
		}
	}
	for p, g := range map[string]*model.Graph{f.FloatONNX: f.FloatGraph, f.Int8ONNX: f.Int8Graph} {
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := onnx.WriteFile(p, g); err != nil {
			return nil, fmt.Errorf("onnx export: %w", err)
		}
	}
	return f, nil
}

// checkSource drops model files built from another checkpoint than the
// current one (the fixture directory outlives a retraining).
func checkSource(dir, root string) error {
	src := "random-seed-1"
	if b, err := os.ReadFile(filepath.Join(root, "models", "mnist.ckpt")); err == nil {
		h := sha256.Sum256(b)
		src = hex.EncodeToString(h[:])
	}
	p := filepath.Join(dir, "source")
	old, err := os.ReadFile(p)
	if err == nil && string(old) == src {
		return nil
	}
	if os.Getenv(ReadOnlyEnv) != "" {
		return fmt.Errorf("%s: the fixtures were built from another model (%s, now %s) and %s forbids rebuilding them here; run make test-backends first", dir, old, src, ReadOnlyEnv)
	}
	recs, _ := filepath.Glob(filepath.Join(dir, "top1-*.json"))
	for _, n := range append(recs, "float.tflite", "int8.tflite", "float.onnx", "int8.onnx") {
		os.Remove(filepath.Join(dir, filepath.Base(n)))
	}
	return atomicfile.WriteFile(p, []byte(src), 0o644)
}

// floatModel is models/mnist.ckpt, or the seed architecture with random
// weights (saved in dir so later runs use the same ones).
func floatModel(root, dir string) (*model.Model, bool, error) {
	ck, err := model.ReadCheckpointFile(filepath.Join(root, "models", "mnist.ckpt"))
	if err == nil {
		return ck.Model, true, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	p := filepath.Join(dir, "random.ckpt")
	if ck, err := model.ReadCheckpointFile(p); err == nil {
		return ck.Model, false, nil
	}
	m, err := model.New(model.SeedArch())
	if err != nil {
		return nil, false, err
	}
	train.Init(m, 1)
	if err := model.WriteCheckpointFile(p, &model.Checkpoint{Model: m}); err != nil {
		return nil, false, err
	}
	return m, false, nil
}

// SmallGraph is a float graph of a narrow variant of the architecture
// (4 and 8 conv channels, 16 hidden units) with random weights: the leak
// tests run it 100,000 times.
func SmallGraph() (*model.Graph, error) {
	a := model.SeedArch()
	a.Width, a.Hidden = 4, 16
	m, err := model.New(a)
	if err != nil {
		return nil, err
	}
	train.Init(m, 2)
	return model.FloatGraph(m)
}

// Top1 returns the index of the largest of each row of classes values.
func Top1(out []float32, classes int) []int {
	r := make([]int, len(out)/classes)
	for i := range r {
		row := out[i*classes : (i+1)*classes]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		r[i] = best
	}
	return r
}

// RSS is the process's resident set size in kB (VmRSS of /proc/self/status).
func RSS() (int, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// RecordTop1 writes preds to dir/top1-KEY.json, so that a run on another
// architecture can compare against them.
func RecordTop1(dir, key string, preds []int) error {
	b, err := json.Marshal(preds)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "top1-"+key+".json"), b, 0o644)
}

// RecordedTop1 reads the predictions RecordTop1 wrote under key.
func RecordedTop1(dir, key string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "top1-"+key+".json"))
	if err != nil {
		return nil, err
	}
	var p []int
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("top-1 record %q: %w", key, err)
	}
	return p, nil
}
