package quantize

import (
	"context"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// repoRoot walks up from the test's directory to go.mod.
func repoRoot(t testing.TB) string { return testenv.RepoRoot(t) }

var (
	mnistOnce sync.Once
	mnistSet  *mnist.Dataset
	mnistErr  error
)

// loadMNIST reads data/mnist at the repository root; it fails (never
// skips) when the data is missing: `make data` fetches it.
func loadMNIST(t testing.TB) *mnist.Dataset {
	t.Helper()
	mnistOnce.Do(func() { mnistSet, mnistErr = mnist.Load(filepath.Join(repoRoot(t), "data", "mnist")) })
	if mnistErr != nil {
		t.Fatalf("MNIST is needed (run `make data`): %v", mnistErr)
	}
	return mnistSet
}

// images converts examples [from, to) of a split.
func images(t testing.TB, s *mnist.Set, from, to int, norm model.Normalization) Images {
	t.Helper()
	per := s.H * s.W
	im, err := FromPixels(s.Images[from*per:to*per], s.Labels[from:to], to-from, norm)
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// randomModel is the seed architecture with He-initialized random weights.
func randomModel(t testing.TB, seed int64) *model.Model {
	t.Helper()
	m, err := model.New(model.SeedArch())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	for _, p := range m.Params() {
		fan := 1
		for _, d := range p.Shape[1:] {
			fan *= d
		}
		for i := range p.Data {
			if len(p.Shape) == 1 {
				p.Data[i] = float32(r.NormFloat64() * 0.05)
			} else {
				p.Data[i] = float32(r.NormFloat64() * 1.4 / math.Sqrt(float64(fan)))
			}
		}
	}
	return m
}

var (
	trainedOnce  sync.Once
	trainedModel *model.Model
	trainedErr   error
)

// trained returns a seed-architecture model trained for one epoch on the
// first 6,000 MNIST training images (about 96% test accuracy): a realistic
// weight and activation distribution, made in seconds.
func trained(t testing.TB) *model.Model {
	t.Helper()
	ds := loadMNIST(t)
	trainedOnce.Do(func() {
		cfg := train.DefaultConfig()
		cfg.Epochs, cfg.Limit, cfg.Threads = 1, 6000, 2
		dir, err := os.MkdirTemp("", "quantize-test-")
		if err != nil {
			trainedErr = err
			return
		}
		defer os.RemoveAll(dir)
		res, err := train.Train(context.Background(), train.Run{Config: cfg, Data: ds, Out: filepath.Join(dir, "m.ckpt")})
		if err != nil {
			trainedErr = err
			return
		}
		trainedModel = res.Model
	})
	if trainedErr != nil {
		t.Fatalf("training the test model: %v", trainedErr)
	}
	return trainedModel
}
