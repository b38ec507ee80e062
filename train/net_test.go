package train

import (
	"context"
	"math"
	"path/filepath"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// repoRoot walks up from the test's directory to the folder holding go.mod.
func repoRoot(t testing.TB) string { return testenv.RepoRoot(t) }

var (
	mnistOnce sync.Once
	mnistData *mnist.Dataset
	mnistErr  error
)

// loadMNIST loads data/mnist at the repository root; it fails (not skips)
// when the data is missing: `make test` fetches it first (`make data`).
func loadMNIST(t testing.TB) *mnist.Dataset {
	t.Helper()
	mnistOnce.Do(func() { mnistData, mnistErr = mnist.Load(filepath.Join(repoRoot(t), "data", "mnist")) })
	if mnistErr != nil {
		t.Fatalf("MNIST is needed (run `make data`): %v", mnistErr)
	}
	return mnistData
}

// tinyArch is small enough for finite differences.
func tinyArch(bn bool, dropout float32) model.Arch {
	return model.Arch{InputH: 8, InputW: 8, InputC: 1, Width: 3, Hidden: 7, Classes: 4, BatchNorm: bn, Dropout: dropout}
}

func randomBatch(seed uint64, n int, a model.Arch) *Batch {
	r := NewRNG(seed, 99)
	size := a.InputH * a.InputW * a.InputC
	b := &Batch{Pixels: make([]uint8, n*size), Index: make([]int, n), Labels: make([]uint8, n)}
	for i := range b.Pixels {
		b.Pixels[i] = uint8(r.Intn(256))
	}
	for i := range b.Index {
		b.Index[i] = i
		b.Labels[i] = uint8(r.Intn(a.Classes))
	}
	return b
}

func newTestModel(t testing.TB, a model.Arch, seed uint64) *model.Model {
	t.Helper()
	m, err := model.New(a)
	if err != nil {
		t.Fatal(err)
	}
	Init(m, seed)
	// Make BatchNorm's affine parameters non-trivial so their gradients matter.
	r := NewRNG(seed, 7)
	for i := range m.Layers {
		l := &m.Layers[i]
		if l.Kind == model.KindBatchNorm {
			for c := range l.Gamma {
				l.Gamma[c] = r.Uniform(0.5, 1.5)
				l.Beta[c] = r.Uniform(-0.5, 0.5)
				l.RunMean[c] = r.Uniform(-0.3, 0.3)
				l.RunVar[c] = r.Uniform(0.5, 2)
			}
		}
	}
	return m
}

// TestGradientCheck compares every parameter's analytic gradient with
// central finite differences, with and without BatchNorm and dropout, on
// one and on three threads (shards).
func TestGradientCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bn      bool
		dropout float32
		threads int
	}{
		{"plain", false, 0, 1},
		{"plain-3threads", false, 0, 3},
		{"bn", true, 0, 1},
		{"bn-dropout-2threads", true, 0.3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tinyArch(tc.bn, tc.dropout)
			m := newTestModel(t, a, 1)
			net, err := NewNet(m, 5, tc.threads)
			if err != nil {
				t.Fatal(err)
			}
			defer net.Close()
			net.SetOptimizer("adam", 0)
			b := randomBatch(2, 5, a)
			b.Augment = true
			loss := func() float64 { return net.lossAndGrad(b, 3, false).Loss }
			net.lossAndGrad(b, 3, true)
			grad := append([]float32(nil), net.shards[0].gflat...)
			checked, bad := 0, 0
			const eps = 1e-3
			for _, p := range net.params {
				// Check up to 40 components spread over the tensor.
				stride := max(1, len(p.data)/40)
				for k := 0; k < len(p.data); k += stride {
					old := p.data[k]
					p.data[k] = old + eps
					lp := loss()
					p.data[k] = old - eps
					lm := loss()
					p.data[k] = old
					fd := (lp - lm) / (2 * eps)
					an := float64(grad[p.off+k])
					checked++
					if math.Abs(fd-an) > 2e-3+3e-2*math.Abs(fd) {
						bad++
						t.Logf("%s[%d]: analytic %.6g, finite difference %.6g", p.name, k, an, fd)
					}
				}
			}
			// A ReLU or max-pool kink inside ±eps can spoil a rare finite
			// difference; anything more is a wrong gradient.
			if bad > checked/100 {
				t.Fatalf("%d of %d gradient components differ from finite differences", bad, checked)
			}
			t.Logf("%d components checked, %d outside tolerance", checked, bad)
		})
	}
}

// TestForwardMatchesReference checks the batched fast forward pass against
// model.Model.Forward, the naive reference, on the seed architecture with
// and without BatchNorm, for several thread counts.
func TestForwardMatchesReference(t *testing.T) {
	for _, bn := range []bool{false, true} {
		for _, threads := range []int{1, 2, 3} {
			a := model.SeedArch()
			a.BatchNorm = bn
			a.Dropout = 0.5 // inference ignores dropout
			m := newTestModel(t, a, 5)
			const n = 7
			b := randomBatch(6, n, a)
			x := make([]float32, n*m.Input().Size())
			Normalize(m, b.Pixels, x)
			out := make([]float32, n*a.Classes)
			if err := Predict(context.Background(), m, x, n, threads, out); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < n; i++ {
				ref, err := m.Forward(x[i*m.Input().Size() : (i+1)*m.Input().Size()])
				if err != nil {
					t.Fatal(err)
				}
				for c, v := range ref {
					if d := math.Abs(float64(v - out[i*a.Classes+c])); d > 1e-4*max(1, math.Abs(float64(v))) {
						t.Fatalf("bn=%v threads=%d image %d class %d: fast %v, reference %v", bn, threads, i, c, out[i*a.Classes+c], v)
					}
				}
			}
		}
	}
}

// TestStepNoAlloc checks that a training step in steady state allocates
// nothing.
func TestStepNoAlloc(t *testing.T) {
	for _, bn := range []bool{true, false} { // phase by phase; one job per shard (fusable)
		a := model.SeedArch()
		a.BatchNorm = bn
		a.Dropout = 0.25
		m := newTestModel(t, a, 1)
		net, err := NewNet(m, 16, 2)
		if err != nil {
			t.Fatal(err)
		}
		net.SetOptimizer("adam", 0)
		b := randomBatch(1, 16, a)
		b.Augment = true
		net.Step(b, 1, 1e-3)
		allocs := testing.AllocsPerRun(5, func() { net.Step(b, 1, 1e-3) })
		net.Close()
		if allocs != 0 {
			t.Fatalf("bn=%v: a training step allocates %v times, want 0", bn, allocs)
		}
		if net.fusable() == bn {
			t.Fatalf("bn=%v: fusable() = %v", bn, !bn)
		}
	}
}

// TestBatchNormRunningStats checks the running statistics against a direct
// computation over the batch (momentum 0.1, unbiased variance).
func TestBatchNormRunningStats(t *testing.T) {
	a := tinyArch(true, 0)
	m := newTestModel(t, a, 1)
	l := m.Layer("conv1_bn")
	oldMean := append([]float32(nil), l.RunMean...)
	oldVar := append([]float32(nil), l.RunVar...)
	net, err := NewNet(m, 6, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	b := randomBatch(4, 6, a)
	net.lossAndGrad(b, 1, false)
	// Recompute conv1's output with the reference convolution.
	conv := m.Layer("conv1")
	C := conv.Out.C
	var vals [][]float64 = make([][]float64, C)
	x := make([]float32, m.Input().Size())
	y := make([]float32, conv.Out.Size())
	for i := 0; i < 6; i++ {
		Normalize(m, b.Pixels[i*len(x):(i+1)*len(x)], x)
		model.ConvRef(x, conv.In, conv.Weight, conv.Bias, 3, 1, 1, y, conv.Out)
		for j, v := range y {
			vals[j%C] = append(vals[j%C], float64(v))
		}
	}
	for c := 0; c < C; c++ {
		var s, q float64
		for _, v := range vals[c] {
			s += v
		}
		mean := s / float64(len(vals[c]))
		for _, v := range vals[c] {
			q += (v - mean) * (v - mean)
		}
		uvar := q / float64(len(vals[c])-1)
		wantM := 0.9*float64(oldMean[c]) + 0.1*mean
		wantV := 0.9*float64(oldVar[c]) + 0.1*uvar
		if math.Abs(wantM-float64(l.RunMean[c])) > 1e-4 || math.Abs(wantV-float64(l.RunVar[c])) > 1e-4*max(1, wantV) {
			t.Fatalf("channel %d: running mean/var %v/%v, want %v/%v", c, l.RunMean[c], l.RunVar[c], wantM, wantV)
		}
	}
}

// TestPreparedInputMatchesStep checks the data pipeline's contract: a
// batch whose images were prepared ahead (Batch.Input, by another prep
// with its own scratch) trains bit-identically to one that Step prepares
// itself, with plain, augmented and robust inputs, on 1 and 3 threads.
func TestPreparedInputMatchesStep(t *testing.T) {
	a := model.SeedArch()
	a.BatchNorm, a.Width, a.Hidden = true, 4, 16 // small: it also runs under qemu
	for _, mode := range []string{"plain", "augment", "robust"} {
		for _, threads := range []int{1, 3} {
			var params [2][]float32
			for v := range 2 {
				m := newTestModel(t, a, 4)
				net, err := NewNet(m, 16, threads)
				if err != nil {
					t.Fatal(err)
				}
				net.SetOptimizer("adam", 0)
				for step := range 3 {
					b := randomBatch(uint64(10+step), 7, a)
					b.Epoch, b.Pos = 1, 7*step
					b.Augment, b.Robust = mode != "plain", mode == "robust"
					if v == 1 {
						p := newPrep(m)
						b.Input = make([]float32, len(b.Index)*m.Input().Size())
						p.batch(b, 5, b.Input)
					}
					net.Step(b, 5, 1e-3)
				}
				net.Close()
				params[v] = snapshot(m, nil)
			}
			for i := range params[0] {
				if math.Float32bits(params[0][i]) != math.Float32bits(params[1][i]) {
					t.Fatalf("%s, %d threads: parameter %d = %v with prepared input, %v without", mode, threads, i, params[1][i], params[0][i])
				}
			}
		}
	}
}
