package train

import (
	"fmt"
	"math"

	"github.com/edgecnn/edgecnn/train/internal/vec"
)

// optimizer updates a slice of the flat parameter vector. off is the
// offset of p within that vector (for per-parameter state). Different
// goroutines call step on disjoint slices.
type optimizer interface {
	step(p, g []float32, off int, lr float32)
	// begin is called once per batch before the steps.
	begin()
	// state returns the optimizer state for checkpoints; load restores it.
	state() map[string][]float32
	load(map[string][]float32) error
}

// adam is Adam (Kingma & Ba) with PyTorch's defaults: β=(0.9, 0.999),
// ε=1e-8, no weight decay, bias correction as torch.optim.Adam.
type adam struct {
	m, v   []float32
	t      int64
	b1, b2 float64
	eps    float32
	c1, c2 float32 // per step: lr/(1-β1^t), 1/sqrt(1-β2^t)
}

func newAdam(n int) *adam {
	return &adam{m: make([]float32, n), v: make([]float32, n), b1: 0.9, b2: 0.999, eps: 1e-8}
}

func (a *adam) begin() {
	a.t++
	a.c1 = float32(1 / (1 - math.Pow(a.b1, float64(a.t))))
	a.c2 = float32(1 / math.Sqrt(1-math.Pow(a.b2, float64(a.t))))
}

func (a *adam) step(p, g []float32, off int, lr float32) {
	vec.Adam(p, g[:len(p)], a.m[off:off+len(p)], a.v[off:off+len(p)],
		vec.AdamParams{B1: float32(a.b1), B2: float32(a.b2), Eps: a.eps, C2: a.c2, Step: lr * a.c1})
}

func (a *adam) state() map[string][]float32 {
	return map[string][]float32{"adam.m": a.m, "adam.v": a.v, "adam.t": int64Floats(a.t)}
}

func (a *adam) load(st map[string][]float32) error {
	m, v, t := st["adam.m"], st["adam.v"], st["adam.t"]
	if len(m) != len(a.m) || len(v) != len(a.v) || len(t) != 2 {
		return fmt.Errorf("train: checkpoint has no Adam state for this model (resume with the optimizer it was trained with)")
	}
	copy(a.m, m)
	copy(a.v, v)
	a.t = floatsInt64(t)
	return nil
}

// sgd is SGD with momentum as torch.optim.SGD (dampening 0, no Nesterov):
// buf = μ·buf + g; p -= lr·buf.
type sgd struct {
	mom float32
	buf []float32
}

func (s *sgd) begin() {}

func (s *sgd) step(p, g []float32, off int, lr float32) {
	b := s.buf[off : off+len(p)]
	g = g[:len(p)]
	for i, gi := range g {
		bi := s.mom*b[i] + gi
		b[i] = bi
		p[i] -= lr * bi
	}
}

func (s *sgd) state() map[string][]float32 { return map[string][]float32{"sgd.momentum": s.buf} }

func (s *sgd) load(st map[string][]float32) error {
	b := st["sgd.momentum"]
	if len(b) != len(s.buf) {
		return fmt.Errorf("train: checkpoint has no SGD state for this model (resume with the optimizer it was trained with)")
	}
	copy(s.buf, b)
	return nil
}

// int64Floats stores an int64 bit-exactly in two float32 slots (the
// checkpoint keeps bits, never converts).
func int64Floats(v int64) []float32 {
	u := uint64(v)
	return []float32{math.Float32frombits(uint32(u)), math.Float32frombits(uint32(u >> 32))}
}

func floatsInt64(f []float32) int64 {
	return int64(uint64(math.Float32bits(f[0])) | uint64(math.Float32bits(f[1]))<<32)
}

// StepLR returns the learning rate of epoch (0-based) for PyTorch's StepLR:
// base·γ^⌊epoch/stepSize⌋; stepSize ≤ 0 keeps base.
func StepLR(base float64, epoch, stepSize int, gamma float64) float64 {
	if stepSize <= 0 {
		return base
	}
	return base * math.Pow(gamma, float64(epoch/stepSize))
}
