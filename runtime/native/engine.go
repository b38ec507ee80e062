// Package native is edgecnn's pure-Go inference engine ("native" backend):
// it executes a model.Graph (float32 or int8, the operators of the TFLite
// export) with TFLite's reference semantics, bit-exact for int8, using the
// kernels of runtime/kernels and the int8 GEMM fast paths of
// runtime/kernels/qgemm selected at run time by CPU feature.
//
// Concurrency: an Engine is safe for concurrent use; Run calls are
// serialized by a mutex (each Run may itself use Options.Threads
// goroutines). Open one Engine per goroutine for parallel independent runs.
//
// Introspection: after Run, TensorData returns the values of any tensor of
// the graph (activations for the whole batch, constants as stored). Fused
// fast paths skip materializing some intermediates; WithIntermediates
// keeps every tensor.
package native

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/kernels"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// Option configures an Engine beyond runtime.Options.
type Option func(*config)

type config struct {
	rounding      qmath.Rounding
	reference     bool
	intermediates bool
	threads       int
}

// WithRounding selects the int8 requantization rule: qmath.Double (the
// default: TFLite's reference kernels), qmath.Ruy (the TFLite C library's
// default CPU kernels, bit-exact on x86-64), qmath.FP32 (TFLite's XNNPACK
// delegate, bit-exact) or qmath.Single (TFLITE_SINGLE_ROUNDING builds).
func WithRounding(r qmath.Rounding) Option { return func(c *config) { c.rounding = r } }

// WithReference runs every operator with the plain reference kernels of
// runtime/kernels (slow; for testing the fast paths).
func WithReference() Option { return func(c *config) { c.reference = true } }

// WithIntermediates keeps every intermediate tensor readable through
// TensorData (disables fusions that skip materializing a tensor).
func WithIntermediates() Option { return func(c *config) { c.intermediates = true } }

// Engine runs one graph. It implements runtime.Engine.
type Engine struct {
	mu     sync.Mutex
	g      *model.Graph
	cfg    config
	closed bool

	vals      []tval
	steps     []step
	in        int // graph input tensor
	out       int // graph output tensor
	batch     int // batch of the last Run
	capN      int // batch the activation buffers are sized for
	ranOK     bool
	chunked   bool // the last Run went in chunks (activations: last chunk only)
	floatOnly bool // every activation is float32 (a float graph: chunked Runs)
	pool      *workers
	scr       scratch
	fuseNext  bool
	fusedAway []bool // tensors a fused step does not write
	maxMem    int64  // bytes activations and scratch may take (limits.go)
	direct3   int    // int8 steps compiled to the direct 3×3 kernel (conv3i8.go)
	segSteps  int    // int8 convolutions on the segmented GEMM (fast.go)
}

// New compiles g for execution. opt.Threads (≤0: 1) goroutines share the
// work of each Run. Only one input and one output are supported. The graph
// must not be modified while the Engine uses it.
func New(g *model.Graph, opt runtime.Options, opts ...Option) (*Engine, error) {
	if g == nil {
		return nil, errors.New("native: nil graph")
	}
	e := &Engine{g: g}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.cfg.threads = max(opt.Threads, 1)
	if err := e.compile(); err != nil {
		return nil, err
	}
	if err := e.setMemoryLimit(opt.MaxMemory); err != nil {
		return nil, err
	}
	if e.cfg.threads > 1 {
		e.pool = newWorkers(e.cfg.threads)
	}
	return e, nil
}

// Backend returns "native".
func (e *Engine) Backend() string { return "native" }

func (e *Engine) info(i int) runtime.TensorInfo {
	t := &e.g.Tensors[i]
	shape := append([]int(nil), t.Shape...)
	if e.g.DynamicBatch && len(shape) > 0 {
		shape[0] = -1
	}
	return runtime.TensorInfo{Name: t.Name, Shape: shape, Type: t.Type, Quant: t.Quant}
}

// Input describes the graph input. Run always takes float32 values and
// quantizes them when the graph input is int8/uint8.
func (e *Engine) Input() runtime.TensorInfo { return e.info(e.in) }

// Output describes the graph output. Run always returns float32 values,
// dequantized when the graph output is int8/uint8.
func (e *Engine) Output() runtime.TensorInfo { return e.info(e.out) }

// Metadata returns the graph's metadata map (not a copy).
func (e *Engine) Metadata() map[string]string { return e.g.Metadata }

// InputSize and OutputSize are the float32 values per image of Run's in
// and out.
func (e *Engine) InputSize() int  { return e.vals[e.in].per }
func (e *Engine) OutputSize() int { return e.vals[e.out].per }

// Close releases the engine. It is idempotent; Run after Close returns
// runtime.ErrClosed.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if e.pool != nil {
		e.pool.close()
	}
	e.vals, e.steps = nil, nil
	return nil
}

// Run computes batch images: in holds batch×InputSize() float32 values
// (NHWC, normalized), out receives batch×OutputSize() values. Any batch ≥ 1
// is accepted (the leading dimension is the batch). Errors wrap
// runtime.ErrInput for wrong sizes and runtime.ErrClosed after Close; a
// cancelled ctx stops between operators.
func (e *Engine) Run(ctx context.Context, in []float32, batch int, out []float32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("native: run: %w", runtime.ErrClosed)
	}
	iv, ov := &e.vals[e.in], &e.vals[e.out]
	if err := runtime.CheckRun("native", in, batch, iv.per, out, ov.per); err != nil {
		return err
	}
	if err := e.checkBatch(batch); err != nil {
		return err
	}
	e.ranOK = false
	if batch > chunkImagesF && e.floatOnly && !e.cfg.intermediates && iv.alias == nil {
		return e.runChunks(ctx, in, batch, out)
	}
	e.chunked = false
	e.resize(batch)
	switch iv.t.Type {
	case model.Float32:
		if !e.cfg.intermediates && iv.alias == nil {
			// No float step writes its inputs: read the caller's values
			// in place for this Run instead of copying them.
			own := iv.f32
			iv.f32 = in[:iv.n:iv.n]
			e.resolveAliases()
			defer func() {
				iv.f32 = own
				e.resolveAliases()
			}()
			break
		}
		copy(iv.f32, in)
	default:
		lo, hi := typeRange(iv.t.Type)
		s, z := scale(iv.t), zp(iv.t)
		for i, v := range in {
			q := qmath.QuantizeValue(v, s, z, lo, hi)
			if iv.i8 != nil {
				iv.i8[i] = int8(q)
			} else {
				iv.u8[i] = uint8(q)
			}
		}
	}
	for i := range e.steps {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("native: run: %w", err)
		}
		e.steps[i].run(batch)
	}
	switch ov.t.Type {
	case model.Float32:
		copy(out, ov.f32[:ov.n])
	default:
		s, z := scale(ov.t), zp(ov.t)
		for i := range out {
			var q int32
			if ov.i8 != nil {
				q = int32(ov.i8[i])
			} else {
				q = int32(ov.u8[i])
			}
			out[i] = kernels.Dequantize(q, s, z)
		}
	}
	e.ranOK = true
	return nil
}

// chunkImagesF is the most images a float Run (every activation float32)
// computes at once: a larger batch runs the whole graph on chunks of this
// many images, so that the
// activations between the layers stay in the core's L2 cache instead of
// streaming through memory (and take chunk-sized buffers).
const chunkImagesF = 64

// runChunks is Run for a float batch larger than chunkImagesF: every step
// on chunkImagesF images at a time, reading the caller's input in place
// and copying each chunk's outputs out. Each image's answer is the same as
// in one Run (no step mixes images).
func (e *Engine) runChunks(ctx context.Context, in []float32, batch int, out []float32) error {
	iv, ov := &e.vals[e.in], &e.vals[e.out]
	e.resize(chunkImagesF)
	own := iv.f32
	defer func() {
		iv.f32 = own
		e.resolveAliases()
	}()
	e.chunked = true
	for c0 := 0; c0 < batch; c0 += chunkImagesF {
		n := min(chunkImagesF, batch-c0)
		if n != e.batch {
			e.resize(n)
		}
		iv.f32 = in[c0*iv.per : (c0+n)*iv.per : (c0+n)*iv.per]
		e.resolveAliases()
		for i := range e.steps {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("native: run: %w", err)
			}
			e.steps[i].run(n)
		}
		copy(out[c0*ov.per:], ov.f32[:ov.n])
	}
	e.ranOK = true
	return nil
}

// resize makes every activation buffer hold batch images, allocating only
// when batch exceeds every earlier batch.
func (e *Engine) resize(batch int) {
	e.batch = batch
	grow := batch > e.capN
	if grow {
		e.capN = batch
	}
	for i := range e.vals {
		v := &e.vals[i]
		if v.konst {
			continue
		}
		v.n = batch * v.per
		if v.alias != nil {
			continue
		}
		if grow {
			switch v.t.Type {
			case model.Float32:
				v.f32 = make([]float32, v.storeLen(batch))
			case model.Int8:
				v.i8 = make([]int8, v.n)
			case model.UInt8:
				v.u8 = make([]uint8, v.n)
			}
		} else {
			switch v.t.Type {
			case model.Float32:
				v.f32 = v.f32[:v.storeLen(batch)]
			case model.Int8:
				v.i8 = v.i8[:v.n]
			case model.UInt8:
				v.u8 = v.u8[:v.n]
			}
		}
	}
	e.resolveAliases()
	if grow {
		e.scr.grow(e, batch)
	}
}

// resolveAliases points every float view (a reshape output) at the
// storage of the value it views.
func (e *Engine) resolveAliases() {
	for i := range e.vals {
		v := &e.vals[i]
		if v.alias != nil {
			root := v.alias
			for root.alias != nil {
				root = root.alias
			}
			v.f32 = root.f32[:v.n]
		}
	}
}

// TensorValue is a copy of one tensor's values after Run. Exactly one of
// F32, I8, U8, I32 is set, matching Type. Shape has the batch of the last
// Run as its leading dimension (constants keep their stored shape).
type TensorValue struct {
	Type  model.DType
	Shape []int
	Quant *model.Quant
	F32   []float32
	I8    []int8
	U8    []uint8
	I32   []int32
}

// ErrNotMaterialized is returned by TensorData for an intermediate tensor
// that a fused fast path did not write, or for any activation after a
// float Run of more than chunkImagesF images, which keeps only the last
// chunk (open the engine WithIntermediates).
var ErrNotMaterialized = errors.New("tensor not materialized by the fused fast path")

// TensorData returns a copy of tensor idx (an index into Graph.Tensors) as
// computed by the last successful Run, for the whole batch.
func (e *Engine) TensorData(idx int) (TensorValue, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return TensorValue{}, fmt.Errorf("native: tensor data: %w", runtime.ErrClosed)
	}
	if idx < 0 || idx >= len(e.vals) {
		return TensorValue{}, fmt.Errorf("native: tensor index %d out of range [0,%d)", idx, len(e.vals))
	}
	v := &e.vals[idx]
	tv := TensorValue{Type: v.t.Type, Quant: v.t.Quant, Shape: append([]int(nil), v.t.Shape...)}
	if !v.konst {
		if !e.ranOK {
			return TensorValue{}, fmt.Errorf("native: tensor data: no successful Run yet")
		}
		if e.skipped(idx) {
			return TensorValue{}, fmt.Errorf("native: tensor %d %q: %w", idx, v.t.Name, ErrNotMaterialized)
		}
		if e.chunked {
			return TensorValue{}, fmt.Errorf("native: tensor %d %q: the last Run computed more than %d images in chunks: %w", idx, v.t.Name, chunkImagesF, ErrNotMaterialized)
		}
		tv.Shape[0] = e.batch
	}
	switch {
	case v.f32 != nil && v.lay.store > 0:
		tv.F32 = v.unpad(e.batch)
	case v.f32 != nil:
		tv.F32 = append([]float32(nil), v.f32...)
	case v.i8 != nil:
		tv.I8 = append([]int8(nil), v.i8...)
	case v.u8 != nil:
		tv.U8 = append([]uint8(nil), v.u8...)
	case v.i32 != nil:
		tv.I32 = append([]int32(nil), v.i32...)
	}
	return tv, nil
}

// Float returns the values as float32, dequantized with the tensor's
// per-tensor quantization when it is int8/uint8 (nil for other types).
func (tv TensorValue) Float() []float32 {
	switch {
	case tv.F32 != nil:
		return tv.F32
	case tv.I8 != nil && tv.Quant != nil && len(tv.Quant.Scale) == 1:
		f := make([]float32, len(tv.I8))
		for i, q := range tv.I8 {
			f[i] = kernels.Dequantize(int32(q), tv.Quant.Scale[0], int32(tv.Quant.ZeroPoint[0]))
		}
		return f
	case tv.U8 != nil && tv.Quant != nil && len(tv.Quant.Scale) == 1:
		f := make([]float32, len(tv.U8))
		for i, q := range tv.U8 {
			f[i] = kernels.Dequantize(int32(q), tv.Quant.Scale[0], int32(tv.Quant.ZeroPoint[0]))
		}
		return f
	}
	return nil
}

// unpad copies the values of a padded float activation (batch images)
// without their zero border.
func (v *tval) unpad(batch int) []float32 {
	sh := v.t.Shape
	h, w, c := sh[1], sh[2], sh[3]
	l := &v.lay
	out := make([]float32, 0, batch*v.per)
	for n := 0; n < batch; n++ {
		for y := 0; y < h; y++ {
			o := n*l.store + ((y+l.top)*l.cols+l.left)*c
			out = append(out, v.f32[o:o+w*c]...)
		}
	}
	return out
}
