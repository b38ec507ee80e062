package quantize

import (
	"context"
	"fmt"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/native"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// engine wraps the native engine: the quantizer evaluates both the float
// and the int8 graph with it, so every int8 number it reports is what the
// runtime computes.
type engine struct {
	e     *native.Engine
	per   int // input values per image
	outN  int // output values per image
	batch int
}

func newEngine(g *model.Graph, threads, batch int, rounding qmath.Rounding, intermediates bool) (*engine, error) {
	opts := []native.Option{native.WithRounding(rounding)}
	if intermediates {
		opts = append(opts, native.WithIntermediates())
	}
	e, err := native.New(g, runtime.Options{Threads: threads}, opts...)
	if err != nil {
		return nil, fmt.Errorf("quantize: native engine: %w", err)
	}
	return &engine{e: e, per: e.InputSize(), outN: e.OutputSize(), batch: batch}, nil
}

func (e *engine) close() { e.e.Close() }

// forEach runs im through the engine in batches and calls fn after every
// batch with the batch's first image index, its size and its outputs.
func (e *engine) forEach(ctx context.Context, im Images, fn func(from, n int, out []float32) error) error {
	out := make([]float32, e.batch*e.outN)
	for from := 0; from < im.N; from += e.batch {
		n := min(e.batch, im.N-from)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("quantize: %w", err)
		}
		if err := e.e.Run(ctx, im.X[from*e.per:(from+n)*e.per], n, out[:n*e.outN]); err != nil {
			return fmt.Errorf("quantize: %w", err)
		}
		if err := fn(from, n, out[:n*e.outN]); err != nil {
			return err
		}
	}
	return nil
}

// tensor returns tensor idx of the last batch as float32 (int8 values
// dequantized with their scale and zero point).
func (e *engine) tensor(idx int) ([]float32, error) {
	tv, err := e.e.TensorData(idx)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	f := tv.Float()
	if f == nil {
		return nil, fmt.Errorf("quantize: tensor %d (%v) cannot be read as float", idx, tv.Type)
	}
	return f, nil
}

// outputs runs im and returns all outputs (N × outN).
func (e *engine) outputs(ctx context.Context, im Images) ([]float32, error) {
	all := make([]float32, im.N*e.outN)
	err := e.forEach(ctx, im, func(from, n int, out []float32) error {
		copy(all[from*e.outN:], out)
		return nil
	})
	return all, err
}

// argmax returns the index of the largest of each row of k values.
func argmax(v []float32, k int) []int {
	out := make([]int, len(v)/k)
	for i := range out {
		row := v[i*k : (i+1)*k]
		best := 0
		for j, x := range row {
			if x > row[best] {
				best = j
			}
		}
		out[i] = best
	}
	return out
}
