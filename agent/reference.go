package agent

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// ReferenceEngine wraps a float model (e.g. from a checkpoint) as a
// runtime.Engine computing model.Forward, the naive float reference. It
// lets `edgecnn predict --model x.ckpt` work before any export; it is
// slow (no SIMD) and meant for checks, not deployment.
func ReferenceEngine(m *model.Model) runtime.Engine {
	return &refEngine{m: m}
}

type refEngine struct {
	m      *model.Model
	closed atomic.Bool
}

func (e *refEngine) Backend() string { return "reference" }

func (e *refEngine) Input() runtime.TensorInfo {
	s := e.m.Input()
	return runtime.TensorInfo{Name: "input", Shape: []int{1, s.H, s.W, s.C}, Type: model.Float32}
}

func (e *refEngine) Output() runtime.TensorInfo {
	return runtime.TensorInfo{Name: "logits", Shape: []int{1, e.m.Arch.Classes}, Type: model.Float32}
}

func (e *refEngine) Metadata() map[string]string {
	return map[string]string{
		MetaNormMean: strconv.FormatFloat(float64(e.m.Norm.Mean), 'g', -1, 32),
		MetaNormStd:  strconv.FormatFloat(float64(e.m.Norm.Std), 'g', -1, 32),
		MetaLabels:   strings.Join(e.m.Labels, ","),
	}
}

func (e *refEngine) Run(ctx context.Context, in []float32, batch int, out []float32) error {
	if e.closed.Load() {
		return runtime.ErrClosed
	}
	n, c := e.m.Input().Size(), e.m.Arch.Classes
	if batch < 1 || len(in) != batch*n || len(out) != batch*c {
		return fmt.Errorf("reference: %w: batch %d with %d inputs and %d outputs (want %d and %d per image)", runtime.ErrInput, batch, len(in), len(out), n, c)
	}
	for b := 0; b < batch; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		y, err := e.m.Forward(in[b*n : (b+1)*n])
		if err != nil {
			return err
		}
		copy(out[b*c:], y)
	}
	return nil
}

func (e *refEngine) Close() error { e.closed.Store(true); return nil }

// OpenEngine opens a model for recognition: an edgecnn checkpoint (.ckpt)
// runs on the float ReferenceEngine; any other file (.tflite, .onnx) is
// opened with runtime.Open(backend, path, opt), so --backend selects
// native, tflite or onnxruntime.
func OpenEngine(backend, path string, opt runtime.Options) (runtime.Engine, error) {
	if strings.HasSuffix(path, ".ckpt") {
		c, err := model.ReadCheckpointFile(path)
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		return ReferenceEngine(c.Model), nil
	}
	return runtime.Open(backend, path, opt)
}
