//go:build tflite

// Package tflite is the "tflite" backend of package runtime: TensorFlow
// Lite 2.9's C library through github.com/mattn/go-tflite, with the XNNPACK
// delegate built into that library (Options.XNNPACK) and the Coral Edge TPU
// delegate loaded at run time from libedgetpu.so.1 (Options.Delegate
// "edgetpu"). It is compiled only with the build tag "tflite"; importing it
// registers the backend.
//
// Building needs the C headers that `make libs` puts in
// .cache/libs/tflite/linux-$GOARCH/include plus third_party/tflite-include,
// and the library itself only to satisfy go-tflite's -ltensorflowlite_c
// (see docs/backends.md; the Makefile's backend_cgo_env does this):
//
//	CGO_CFLAGS="-I$PWD/third_party/tflite-include -I$PWD/.cache/libs/tflite/linux-amd64/include"
//	CGO_LDFLAGS="-L$PWD/.cache/libs/tflite/linux-amd64/lib -Wl,--as-needed"
//
// The library is not a link-time dependency of the binary: this package
// defines every TFLite C function go-tflite calls as a stub forwarding to
// libtensorflowlite_c.so opened with dlopen on the first Open (loader.go),
// so with -Wl,--as-needed the executable starts without the library and a
// missing one is an error naming the file and how to install it. Where the
// library comes from: Options.LibPath, $EDGECNN_TFLITE_LIB, lib/ next to
// the executable (bin/edgecnn-full), or the loader's search path. Once
// loaded it stays loaded for the process.
//
// Asking for a delegate that cannot be created is an error naming the
// library and how to install it, unless Options.Fallback is set, in which
// case the engine runs on TFLite's CPU kernels and Delegate reports "".
package tflite

import (
	"context"
	"fmt"
	"os"
	"sync"
	"unsafe"

	gotflite "github.com/mattn/go-tflite"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// Name is the registry name of this backend.
const Name = "tflite"

func init() {
	runtime.Register(Name, func(path string, opt runtime.Options) (runtime.Engine, error) { return Open(path, opt) })
}

// Engine runs a .tflite model with the TFLite interpreter. Run calls are
// serialized by a mutex (a TFLite interpreter is not reentrant), so an
// Engine is safe for concurrent use.
type Engine struct {
	mu       sync.Mutex
	closed   bool
	model    *gotflite.Model
	opts     *gotflite.InterpreterOptions
	interp   *gotflite.Interpreter
	dels     []*delegate
	delegate string // delegate in use: "", "xnnpack", "edgetpu"
	note     string // why a requested delegate is not in use (fallback)

	in, out      runtime.TensorInfo
	inElems      int // elements per image
	classes      int // outputs per image
	batch        int // batch the interpreter is currently sized for
	fixedBatch   bool
	meta         map[string]string
	inQ, outQ    quant
	inTT, outTT  gotflite.TensorType
	inPtr        unsafe.Pointer
	outPtr       unsafe.Pointer
	inBy, outBys int
}

type quant struct {
	scale float32
	zp    int32
}

var _ runtime.Engine = (*Engine)(nil)

// Open loads the model at path. opt.Threads sets the interpreter's (and
// XNNPACK's) thread count; opt.LibPath is the TensorFlow Lite library to
// load (see libraryPath for the default); the Edge TPU library comes from
// $EDGECNN_EDGETPU_LIB or the loader's search path.
func Open(path string, opt runtime.Options) (*Engine, error) {
	if err := opt.Check(Name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	if err := checkMemory(path, opt); err != nil {
		return nil, err
	}
	if err := load(libraryPath(opt.LibPath)); err != nil {
		return nil, err
	}
	meta, err := readMetadata(path)
	if err != nil {
		return nil, err
	}
	e := &Engine{meta: meta}
	ok := false
	defer func() {
		if !ok {
			e.free()
		}
	}()
	e.model = gotflite.NewModelFromFile(path)
	if e.model == nil {
		return nil, fmt.Errorf("tflite: %s: TensorFlow Lite cannot load the model (not a valid .tflite flatbuffer?)", path)
	}
	e.opts = gotflite.NewInterpreterOptions()
	if e.opts == nil {
		return nil, fmt.Errorf("tflite: TfLiteInterpreterOptionsCreate failed")
	}
	if opt.Threads > 0 {
		e.opts.SetNumThread(opt.Threads)
	}
	switch opt.Delegate {
	case "", "cpu", "none":
	case "edgetpu":
		d, err := newEdgeTPU(edgeTPULibrary())
		if err != nil {
			if !opt.Fallback {
				return nil, err
			}
			e.note = err.Error()
		} else {
			e.dels = append(e.dels, d)
			e.delegate = "edgetpu"
		}
	default:
		return nil, fmt.Errorf("tflite: unknown delegate %q (have: edgetpu; XNNPACK is Options.XNNPACK / --xnnpack)", opt.Delegate)
	}
	if opt.XNNPACK && e.delegate == "" {
		d, err := newXNNPACK(opt.Threads)
		if err != nil {
			if !opt.Fallback {
				return nil, err
			}
			e.note = err.Error()
		} else {
			e.dels = append(e.dels, d)
			e.delegate = "xnnpack"
		}
	}
	for _, d := range e.dels {
		e.opts.AddDelegate(d)
	}
	e.interp = gotflite.NewInterpreter(e.model, e.opts)
	if e.interp == nil {
		return nil, fmt.Errorf("tflite: %s: cannot create the interpreter (unsupported op, or the %q delegate rejected the graph)", path, e.delegate)
	}
	if n := e.interp.GetInputTensorCount(); n != 1 {
		return nil, fmt.Errorf("tflite: %s: %d inputs, want 1", path, n)
	}
	if n := e.interp.GetOutputTensorCount(); n != 1 {
		return nil, fmt.Errorf("tflite: %s: %d outputs, want 1", path, n)
	}
	if st := e.interp.AllocateTensors(); st != gotflite.OK {
		return nil, fmt.Errorf("tflite: %s: AllocateTensors: %v", path, st)
	}
	if err := e.describe(); err != nil {
		return nil, fmt.Errorf("tflite: %s: %w", path, err)
	}
	ok = true
	return e, nil
}

// describe reads the I/O tensors' shapes, types and quantization and
// caches their data pointers (valid until the next AllocateTensors).
func (e *Engine) describe() error {
	it := e.interp.GetInputTensor(0)
	ot := e.interp.GetOutputTensor(0)
	var err error
	if e.in, e.inTT, e.inQ, err = info(it); err != nil {
		return fmt.Errorf("input: %w", err)
	}
	if e.out, e.outTT, e.outQ, err = info(ot); err != nil {
		return fmt.Errorf("output: %w", err)
	}
	if len(e.in.Shape) < 2 || len(e.out.Shape) < 2 {
		return fmt.Errorf("input shape %v, output shape %v: want a batch dimension", e.in.Shape, e.out.Shape)
	}
	if e.batch == 0 {
		e.batch = e.in.Shape[0]
		e.inElems, e.classes = 1, 1
		for _, d := range e.in.Shape[1:] {
			e.inElems *= d
		}
		for _, d := range e.out.Shape[1:] {
			e.classes *= d
		}
	}
	e.inPtr, e.outPtr = it.Data(), ot.Data()
	e.inBy, e.outBys = int(it.ByteSize()), int(ot.ByteSize())
	if e.inPtr == nil || e.outPtr == nil {
		return fmt.Errorf("tensors not allocated")
	}
	return nil
}

func info(t *gotflite.Tensor) (runtime.TensorInfo, gotflite.TensorType, quant, error) {
	ti := runtime.TensorInfo{Name: t.Name(), Shape: t.Shape()}
	var q quant
	tt := t.Type()
	switch tt {
	case gotflite.Float32:
		ti.Type = model.Float32
	case gotflite.Int8, gotflite.UInt8:
		ti.Type = model.Int8
		if tt == gotflite.UInt8 {
			ti.Type = model.UInt8
		}
		p := t.QuantizationParams()
		if !(p.Scale > 0) {
			return ti, tt, q, fmt.Errorf("%v tensor %q without quantization scale", ti.Type, ti.Name)
		}
		q = quant{scale: float32(p.Scale), zp: int32(p.ZeroPoint)}
		ti.Quant = &model.Quant{Scale: []float32{q.scale}, ZeroPoint: []int64{int64(q.zp)}}
	default:
		return ti, tt, q, fmt.Errorf("tensor %q has type %v; want float32, int8 or uint8", ti.Name, tt)
	}
	return ti, tt, q, nil
}

// Backend implements runtime.Engine.
func (e *Engine) Backend() string { return Name }

// Input implements runtime.Engine. Shape[0] is -1, as for every backend
// whose Run takes any batch: the interpreter is resized to the batch, or,
// for a graph fixed to one batch, runs the images one at a time.
func (e *Engine) Input() runtime.TensorInfo { return dynamic(e.in) }

// Output implements runtime.Engine; Shape[0] is -1 as for Input.
func (e *Engine) Output() runtime.TensorInfo { return dynamic(e.out) }

// dynamic returns t with a copied shape whose batch is -1.
func dynamic(t runtime.TensorInfo) runtime.TensorInfo {
	t.Shape = append([]int(nil), t.Shape...)
	t.Shape[0] = -1
	return t
}

// Metadata implements runtime.Engine.
func (e *Engine) Metadata() map[string]string { return e.meta }

// Delegate is the delegate the interpreter runs with ("" for TFLite's CPU
// kernels) and, after a fallback, why the requested one is not in use.
func (e *Engine) Delegate() (name, fallbackReason string) { return e.delegate, e.note }

// Run implements runtime.Engine. The interpreter is resized to the batch
// when the graph allows it; otherwise images run one at a time.
func (e *Engine) Run(ctx context.Context, in []float32, batch int, out []float32) error {
	if err := runtime.CheckRun(Name, in, batch, e.inElems, out, e.classes); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("tflite: %w", runtime.ErrClosed)
	}
	step := batch
	if batch != e.batch {
		if e.fixedBatch || e.resize(batch) != nil {
			step = 1
			if e.batch != 1 {
				if err := e.resize(1); err != nil {
					return fmt.Errorf("tflite: resizing to batch 1: %w", err)
				}
			}
		}
	}
	for b := 0; b < batch; b += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.invoke(in[b*e.inElems:(b+step)*e.inElems], out[b*e.classes:(b+step)*e.classes]); err != nil {
			return err
		}
	}
	return nil
}

// resize sizes the input for batch n; when the graph cannot take another
// batch (a RESHAPE to a fixed shape), it restores the stored batch and
// marks the engine fixed so later Runs go image by image.
func (e *Engine) resize(n int) error {
	dims := make([]int32, len(e.in.Shape))
	for i, d := range e.in.Shape {
		dims[i] = int32(d)
	}
	dims[0] = int32(n)
	err := e.tryResize(dims)
	if err == nil {
		if sh := e.interp.GetOutputTensor(0).Shape(); len(sh) == 0 || sh[0] != n {
			err = fmt.Errorf("output shape %v for batch %d", sh, n)
		}
	}
	if err != nil {
		e.fixedBatch = true
		dims[0] = int32(e.in.Shape[0])
		if rerr := e.tryResize(dims); rerr != nil {
			return fmt.Errorf("%v; restoring: %w", err, rerr)
		}
		e.batch = e.in.Shape[0]
		return err
	}
	e.batch = n
	return nil
}

func (e *Engine) tryResize(dims []int32) error {
	if st := e.interp.ResizeInputTensor(0, dims); st != gotflite.OK {
		return fmt.Errorf("ResizeInputTensor %v: %v", dims, st)
	}
	if st := e.interp.AllocateTensors(); st != gotflite.OK {
		return fmt.Errorf("AllocateTensors for %v: %v", dims, st)
	}
	it, ot := e.interp.GetInputTensor(0), e.interp.GetOutputTensor(0)
	e.inPtr, e.outPtr = it.Data(), ot.Data()
	e.inBy, e.outBys = int(it.ByteSize()), int(ot.ByteSize())
	return nil
}

// invoke runs the interpreter at its current batch on in, writing out.
func (e *Engine) invoke(in, out []float32) error {
	n, m := len(in), len(out)
	switch e.inTT {
	case gotflite.Float32:
		if e.inBy != 4*n {
			return fmt.Errorf("tflite: input tensor holds %d bytes, have %d floats", e.inBy, n)
		}
		copy(unsafe.Slice((*float32)(e.inPtr), n), in)
	case gotflite.Int8:
		if e.inBy != n {
			return fmt.Errorf("tflite: input tensor holds %d bytes, have %d values", e.inBy, n)
		}
		dst := unsafe.Slice((*int8)(e.inPtr), n)
		for i, v := range in {
			dst[i] = int8(qmath.QuantizeValue(v, e.inQ.scale, e.inQ.zp, -128, 127))
		}
	case gotflite.UInt8:
		if e.inBy != n {
			return fmt.Errorf("tflite: input tensor holds %d bytes, have %d values", e.inBy, n)
		}
		dst := unsafe.Slice((*uint8)(e.inPtr), n)
		for i, v := range in {
			dst[i] = uint8(qmath.QuantizeValue(v, e.inQ.scale, e.inQ.zp, 0, 255))
		}
	}
	if st := e.interp.Invoke(); st != gotflite.OK {
		return fmt.Errorf("tflite: Invoke: %v", st)
	}
	switch e.outTT {
	case gotflite.Float32:
		if e.outBys != 4*m {
			return fmt.Errorf("tflite: output tensor holds %d bytes, want %d floats", e.outBys, m)
		}
		copy(out, unsafe.Slice((*float32)(e.outPtr), m))
	case gotflite.Int8:
		if e.outBys != m {
			return fmt.Errorf("tflite: output tensor holds %d bytes, want %d values", e.outBys, m)
		}
		for i, q := range unsafe.Slice((*int8)(e.outPtr), m) {
			out[i] = e.outQ.scale * float32(int32(q)-e.outQ.zp)
		}
	case gotflite.UInt8:
		if e.outBys != m {
			return fmt.Errorf("tflite: output tensor holds %d bytes, want %d values", e.outBys, m)
		}
		for i, q := range unsafe.Slice((*uint8)(e.outPtr), m) {
			out[i] = e.outQ.scale * float32(int32(q)-e.outQ.zp)
		}
	}
	return nil
}

// RawOutput copies the output tensor's raw bytes of the last Run (int8 or
// uint8 values for quantized models, little-endian float32 otherwise), for
// bit-exact comparisons.
func (e *Engine) RawOutput() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("tflite: %w", runtime.ErrClosed)
	}
	return append([]byte(nil), unsafe.Slice((*byte)(e.outPtr), e.outBys)...), nil
}

// Close implements runtime.Engine; it is idempotent.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.free()
	return nil
}

// free deletes the C objects: interpreter first, then the delegates it
// used, the options and the model.
func (e *Engine) free() {
	if e.interp != nil {
		e.interp.Delete()
		e.interp = nil
	}
	for _, d := range e.dels {
		d.Delete()
	}
	e.dels = nil
	if e.opts != nil {
		e.opts.Delete()
		e.opts = nil
	}
	if e.model != nil {
		e.model.Delete()
		e.model = nil
	}
	e.inPtr, e.outPtr = nil, nil
}
