//go:build onnxruntime

// Package onnxruntime is the "onnxruntime" backend of package runtime:
// ONNX Runtime 1.30 through github.com/yalue/onnxruntime_go, which loads
// libonnxruntime.so.1 at run time (see libraryPath for where it looks).
// It is compiled only with the build tag "onnxruntime"; importing it
// registers the backend.
//
// Execution providers: "cpu" (default), and "cuda" / "tensorrt" for Jetson
// boards, which need an ONNX Runtime build that has them (the npm build used
// here has not). Asking for one that cannot be set up is an error saying
// what is missing, unless Options.Fallback is set.
//
// ONNX models take NCHW input; like every engine this one takes NHWC and
// transposes (a no-op copy for one channel). Float, int8 and uint8 model
// I/O are supported; the scale and zero point of quantized I/O come from
// the file through edgecnn's ONNX reader (model/onnx).
package onnxruntime

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/edgecnn/edgecnn/model"
	onnxfmt "github.com/edgecnn/edgecnn/model/onnx"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// Name is the registry name of this backend.
const Name = "onnxruntime"

func init() {
	runtime.Register(Name, func(path string, opt runtime.Options) (runtime.Engine, error) { return Open(path, opt) })
}

// Engine runs an .onnx model in an ONNX Runtime session whose input and
// output tensors are created once per batch size and reused. Run calls are
// serialized by a mutex, so an Engine is safe for concurrent use.
type Engine struct {
	mu      sync.Mutex
	closed  bool
	session *ort.DynamicAdvancedSession
	inT     ort.Value
	outT    ort.Value
	inBuf   []float32 // NCHW float input (converted to inT's type)
	inI8    []int8    // data of inT when the input is int8
	inU8    []uint8   // data of inT when the input is uint8
	inF32   []float32 // data of inT when the input is float
	batch   int       // batch inT/outT are sized for (0: none yet)
	dynamic bool      // the model's batch dimension is symbolic
	inQ     quant     // input quantization (int8/uint8 input)
	outQ    quant     // output quantization (int8/uint8 output)
	inType  ort.TensorElementDataType
	outType ort.TensorElementDataType

	in, out    runtime.TensorInfo
	nchw       [4]int64 // model input shape, [0] = stored batch (-1 when dynamic)
	inRank     int
	inElems    int
	classes    int
	meta       map[string]string
	ep, note   string
	inName     string
	outName    string
	outShapeFn func(batch int) ort.Shape
}

// quant is a per-tensor affine quantization: real = scale·(q − zp).
type quant struct {
	scale float32
	zp    int32
}

var _ runtime.Engine = (*Engine)(nil)

// Open loads the model at path. opt.EP selects the execution provider,
// opt.Threads the intra-op threads, opt.LibPath the shared library.
func Open(path string, opt runtime.Options) (*Engine, error) {
	if err := opt.Check(Name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("onnxruntime: %w", err)
	}
	if err := checkMemory(path, opt); err != nil {
		return nil, err
	}
	if err := acquire(libraryPath(opt.LibPath)); err != nil {
		return nil, err
	}
	e := &Engine{}
	if err := e.open(path, opt); err != nil {
		e.free()
		release()
		return nil, err
	}
	return e, nil
}

func (e *Engine) open(path string, opt runtime.Options) error {
	ins, outs, err := ort.GetInputOutputInfo(path)
	if err != nil {
		return fmt.Errorf("onnxruntime: %s: %w", path, err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		return fmt.Errorf("onnxruntime: %s: %d inputs and %d outputs, want 1 and 1", path, len(ins), len(outs))
	}
	if err := e.describe(ins[0], outs[0]); err != nil {
		return fmt.Errorf("onnxruntime: %s: %w", path, err)
	}
	if e.inType != ort.TensorElementDataTypeFloat || e.outType != ort.TensorElementDataTypeFloat {
		if err := e.readQuant(path); err != nil {
			return fmt.Errorf("onnxruntime: %s: %w", path, err)
		}
	}
	if e.meta, err = metadata(path); err != nil {
		return fmt.Errorf("onnxruntime: %s: %w", path, err)
	}
	e.ep = opt.EP
	if e.ep == "" {
		e.ep = "cpu"
	}
	e.session, err = newSession(path, e.inName, e.outName, e.ep, opt.Threads)
	if err != nil && e.ep != "cpu" && opt.Fallback {
		e.note = err.Error()
		e.ep = "cpu"
		e.session, err = newSession(path, e.inName, e.outName, "cpu", opt.Threads)
	}
	return err
}

// describe checks the model's I/O and derives the engine's NHWC view.
func (e *Engine) describe(in, out ort.InputOutputInfo) error {
	dt := map[ort.TensorElementDataType]model.DType{
		ort.TensorElementDataTypeFloat: model.Float32,
		ort.TensorElementDataTypeInt8:  model.Int8,
		ort.TensorElementDataTypeUint8: model.UInt8,
	}
	inDT, ok1 := dt[in.DataType]
	outDT, ok2 := dt[out.DataType]
	if !ok1 || !ok2 {
		return fmt.Errorf("input %v, output %v: want float, int8 or uint8 tensors", in.DataType, out.DataType)
	}
	e.inType, e.outType = in.DataType, out.DataType
	e.inName, e.outName = in.Name, out.Name
	d := in.Dimensions
	switch len(d) {
	case 4:
		copy(e.nchw[:], d)
		e.in = runtime.TensorInfo{Name: in.Name, Type: inDT, Shape: []int{int(d[0]), int(d[2]), int(d[3]), int(d[1])}}
	case 2:
		e.nchw = [4]int64{d[0], d[1], 1, 1}
		e.in = runtime.TensorInfo{Name: in.Name, Type: inDT, Shape: []int{int(d[0]), int(d[1])}}
	default:
		return fmt.Errorf("input %q has shape %v; want [N,C,H,W] or [N,features]", in.Name, d)
	}
	e.inRank = len(d)
	e.dynamic = d[0] < 0
	if !e.dynamic && d[0] != 1 {
		return fmt.Errorf("input %q has fixed batch %d; want 1 or dynamic", in.Name, d[0])
	}
	e.inElems = 1
	for _, v := range d[1:] {
		if v <= 0 {
			return fmt.Errorf("input %q has shape %v; only the batch may be dynamic", in.Name, d)
		}
		e.inElems *= int(v)
	}
	od := out.Dimensions
	if len(od) < 2 {
		return fmt.Errorf("output %q has shape %v; want [N,classes]", out.Name, od)
	}
	e.classes = 1
	for _, v := range od[1:] {
		if v <= 0 {
			return fmt.Errorf("output %q has shape %v; only the batch may be dynamic", out.Name, od)
		}
		e.classes *= int(v)
	}
	oshape := make([]int, len(od))
	for i, v := range od {
		oshape[i] = int(v)
	}
	e.out = runtime.TensorInfo{Name: out.Name, Type: outDT, Shape: oshape}
	e.outShapeFn = func(batch int) ort.Shape {
		s := od.Clone()
		s[0] = int64(batch)
		return s
	}
	return nil
}

// readQuant takes the quantization of int8/uint8 model I/O from the file
// (ONNX Runtime's API does not expose it): edgecnn's ONNX reader gives the
// graph, whose input and output tensors carry their scale and zero point.
func (e *Engine) readQuant(path string) error {
	g, err := onnxfmt.ReadFile(path)
	if err != nil {
		return fmt.Errorf("quantized I/O needs the scale and zero point, which edgecnn's ONNX reader could not get: %w", err)
	}
	get := func(idx []int, what string, info *runtime.TensorInfo) (quant, error) {
		if len(idx) != 1 {
			return quant{}, fmt.Errorf("%d graph %ss", len(idx), what)
		}
		t := g.Tensors[idx[0]]
		if t.Type != info.Type {
			return quant{}, fmt.Errorf("%s %q: graph type %v, ONNX Runtime reports %v", what, info.Name, t.Type, info.Type)
		}
		if t.Quant == nil || len(t.Quant.Scale) != 1 || !(t.Quant.Scale[0] > 0) {
			return quant{}, fmt.Errorf("%s %q: %v without per-tensor quantization", what, info.Name, t.Type)
		}
		info.Quant = &model.Quant{Scale: []float32{t.Quant.Scale[0]}, ZeroPoint: []int64{t.Quant.ZeroPoint[0]}}
		return quant{t.Quant.Scale[0], int32(t.Quant.ZeroPoint[0])}, nil
	}
	if e.inType != ort.TensorElementDataTypeFloat {
		if e.inQ, err = get(g.Inputs, "input", &e.in); err != nil {
			return err
		}
	}
	if e.outType != ort.TensorElementDataTypeFloat {
		if e.outQ, err = get(g.Outputs, "output", &e.out); err != nil {
			return err
		}
	}
	return nil
}

// metadata returns the model's metadata_props.
func metadata(path string) (map[string]string, error) {
	md, err := ort.GetModelMetadata(path)
	if err != nil {
		return nil, err
	}
	defer md.Destroy()
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		v, _, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// newSession creates a session on execution provider ep.
func newSession(path, in, out, ep string, threads int) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnxruntime: %w", err)
	}
	defer so.Destroy()
	if threads > 0 {
		if err := so.SetIntraOpNumThreads(threads); err != nil {
			return nil, fmt.Errorf("onnxruntime: threads: %w", err)
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("onnxruntime: threads: %w", err)
		}
	}
	if err := appendEP(so, ep); err != nil {
		return nil, err
	}
	s, err := ort.NewDynamicAdvancedSession(path, []string{in}, []string{out}, so)
	if err != nil {
		if ep != "cpu" {
			return nil, fmt.Errorf("onnxruntime: %s execution provider: creating the session: %w; %s", ep, err, epHelp(ep))
		}
		return nil, fmt.Errorf("onnxruntime: %s: %w", path, err)
	}
	return s, nil
}

func epHelp(ep string) string {
	lib := map[string]string{"cuda": "libonnxruntime_providers_cuda.so", "tensorrt": "libonnxruntime_providers_tensorrt.so (and TensorRT)"}[ep]
	return "it needs an ONNX Runtime 1.30 build with the " + ep + " provider (on Jetson: the onnxruntime-gpu build for your JetPack, " +
		"https://elinux.org/Jetson_Zoo#ONNX_Runtime) whose " + lib + " sits next to " + LibraryName +
		", plus CUDA on the device; pass --fallback to run on the CPU"
}

func appendEP(so *ort.SessionOptions, ep string) error {
	switch ep {
	case "cpu":
		return nil
	case "cuda":
		o, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("onnxruntime: cuda execution provider unavailable: %w; %s", err, epHelp(ep))
		}
		defer o.Destroy()
		if err := so.AppendExecutionProviderCUDA(o); err != nil {
			return fmt.Errorf("onnxruntime: cuda execution provider unavailable: %w; %s", err, epHelp(ep))
		}
		return nil
	case "tensorrt":
		o, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return fmt.Errorf("onnxruntime: tensorrt execution provider unavailable: %w; %s", err, epHelp(ep))
		}
		defer o.Destroy()
		if err := so.AppendExecutionProviderTensorRT(o); err != nil {
			return fmt.Errorf("onnxruntime: tensorrt execution provider unavailable: %w; %s", err, epHelp(ep))
		}
		return nil
	}
	return fmt.Errorf("onnxruntime: unknown execution provider %q (have: cpu, cuda, tensorrt)", ep)
}

// Backend implements runtime.Engine.
func (e *Engine) Backend() string { return Name }

// Input implements runtime.Engine: NHWC, Shape[0] == -1 for a dynamic batch.
func (e *Engine) Input() runtime.TensorInfo { return e.in }

// Output implements runtime.Engine.
func (e *Engine) Output() runtime.TensorInfo { return e.out }

// Metadata implements runtime.Engine.
func (e *Engine) Metadata() map[string]string { return e.meta }

// EP is the execution provider in use and, after a fallback, why the
// requested one is not.
func (e *Engine) EP() (name, fallbackReason string) { return e.ep, e.note }

// Run implements runtime.Engine. Models with a fixed batch of 1 run image by
// image; dynamic ones run the whole batch at once.
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
		return fmt.Errorf("onnxruntime: %w", runtime.ErrClosed)
	}
	step := batch
	if !e.dynamic {
		step = 1
	}
	if e.batch != step {
		if err := e.bind(step); err != nil {
			return err
		}
	}
	for b := 0; b < batch; b += step {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.toNCHW(in[b*e.inElems : (b+step)*e.inElems])
		e.quantizeInput()
		if err := e.session.Run([]ort.Value{e.inT}, []ort.Value{e.outT}); err != nil {
			return fmt.Errorf("onnxruntime: run: %w", err)
		}
		e.readOutput(out[b*e.classes : (b+step)*e.classes])
	}
	return nil
}

// bind (re)creates the input and output tensors for batch n.
func (e *Engine) bind(n int) error {
	e.freeTensors()
	s := ort.Shape(append([]int64(nil), e.nchw[:e.inRank]...))
	s[0] = int64(n)
	e.inBuf = make([]float32, n*e.inElems)
	var err error
	switch e.inType {
	case ort.TensorElementDataTypeInt8:
		e.inI8 = make([]int8, n*e.inElems)
		e.inT, err = ort.NewTensor(s, e.inI8)
	case ort.TensorElementDataTypeUint8:
		e.inU8 = make([]uint8, n*e.inElems)
		e.inT, err = ort.NewTensor(s, e.inU8)
	default:
		e.inF32 = e.inBuf
		e.inT, err = ort.NewTensor(s, e.inF32)
	}
	if err != nil {
		return fmt.Errorf("onnxruntime: input tensor %v: %w", s, err)
	}
	switch e.outType {
	case ort.TensorElementDataTypeInt8:
		e.outT, err = ort.NewEmptyTensor[int8](e.outShapeFn(n))
	case ort.TensorElementDataTypeUint8:
		e.outT, err = ort.NewEmptyTensor[uint8](e.outShapeFn(n))
	default:
		e.outT, err = ort.NewEmptyTensor[float32](e.outShapeFn(n))
	}
	if err != nil {
		return fmt.Errorf("onnxruntime: output tensor: %w", err)
	}
	e.batch = n
	return nil
}

// quantizeInput converts inBuf to the input tensor's type (TFLite's
// QUANTIZE rule, as every engine).
func (e *Engine) quantizeInput() {
	switch e.inType {
	case ort.TensorElementDataTypeInt8:
		for i, v := range e.inBuf {
			e.inI8[i] = int8(qmath.QuantizeValue(v, e.inQ.scale, e.inQ.zp, -128, 127))
		}
	case ort.TensorElementDataTypeUint8:
		for i, v := range e.inBuf {
			e.inU8[i] = uint8(qmath.QuantizeValue(v, e.inQ.scale, e.inQ.zp, 0, 255))
		}
	}
}

// readOutput copies (dequantizing) the output tensor into out.
func (e *Engine) readOutput(out []float32) {
	switch t := e.outT.(type) {
	case *ort.Tensor[float32]:
		copy(out, t.GetData())
	case *ort.Tensor[int8]:
		for i, q := range t.GetData()[:len(out)] {
			out[i] = e.outQ.scale * float32(int32(q)-e.outQ.zp)
		}
	case *ort.Tensor[uint8]:
		for i, q := range t.GetData()[:len(out)] {
			out[i] = e.outQ.scale * float32(int32(q)-e.outQ.zp)
		}
	}
}

// RawOutput copies the output tensor of the last Run as raw bytes (int8 or
// uint8 values for quantized outputs, little-endian float32 otherwise).
func (e *Engine) RawOutput() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("onnxruntime: %w", runtime.ErrClosed)
	}
	switch t := e.outT.(type) {
	case *ort.Tensor[int8]:
		b := make([]byte, len(t.GetData()))
		for i, q := range t.GetData() {
			b[i] = byte(q)
		}
		return b, nil
	case *ort.Tensor[uint8]:
		return append([]byte(nil), t.GetData()...), nil
	case *ort.Tensor[float32]:
		b := make([]byte, 0, 4*len(t.GetData()))
		for _, v := range t.GetData() {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		return b, nil
	}
	return nil, fmt.Errorf("onnxruntime: no Run yet")
}

// toNCHW copies NHWC images into the input tensor in the model's layout.
func (e *Engine) toNCHW(src []float32) {
	c := int(e.nchw[1])
	if e.inRank != 4 || c == 1 {
		copy(e.inBuf, src)
		return
	}
	hw := int(e.nchw[2] * e.nchw[3])
	for n := 0; n*e.inElems < len(src); n++ {
		img, dst := src[n*e.inElems:(n+1)*e.inElems], e.inBuf[n*e.inElems:(n+1)*e.inElems]
		for p := 0; p < hw; p++ {
			for ch := 0; ch < c; ch++ {
				dst[ch*hw+p] = img[p*c+ch]
			}
		}
	}
}

func (e *Engine) freeTensors() {
	if e.inT != nil {
		e.inT.Destroy()
		e.inT = nil
	}
	if e.outT != nil {
		e.outT.Destroy()
		e.outT = nil
	}
	e.inI8, e.inU8, e.inF32 = nil, nil, nil
	e.batch = 0
}

func (e *Engine) free() {
	e.freeTensors()
	if e.session != nil {
		e.session.Destroy()
		e.session = nil
	}
}

// Close implements runtime.Engine; it is idempotent. The last engine to
// close unloads the library.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.free()
	return release()
}

// checkMemory refuses, before ONNX Runtime sees the file, a model whose
// tensors need more than the engine's memory limit for one image
// (onnxfmt.ActivationBytes: every activation of a graph edgecnn reads,
// else the tensors the file declares); a file that is not an ONNX model
// is refused too.
func checkMemory(path string, opt runtime.Options) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("onnxruntime: %w", err)
	}
	need, err := onnxfmt.ActivationBytes(data)
	if err != nil {
		return fmt.Errorf("onnxruntime: %s: %w", path, err)
	}
	return runtime.CheckMemory(Name, "tensors", need, opt.MemoryLimit())
}
