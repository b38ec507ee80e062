// Package runtime runs deployable edgecnn models. An Engine is opened by
// backend name from a registry: "native" (pure Go, always present),
// "tflite" and "onnxruntime" (cgo, behind build tags of the same names).
package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/edgecnn/edgecnn/model"
)

// TensorInfo describes an engine's input or output.
type TensorInfo struct {
	Name  string
	Shape []int // NHWC for images; Shape[0] is the batch (-1 when dynamic)
	Type  model.DType
	Quant *model.Quant // nil for float tensors
}

// Engine runs one model. Callers exchange float32 values regardless of the
// model's I/O types: the engine quantizes inputs and dequantizes outputs.
type Engine interface {
	// Backend is the registry name of the engine's backend.
	Backend() string
	Input() TensorInfo
	Output() TensorInfo
	// Metadata is the model file's metadata (normalization, labels, ...).
	Metadata() map[string]string
	// Run computes batch outputs. in holds batch images, NHWC, already
	// normalized; out receives batch×classes scores (logits or
	// probabilities, as the graph ends). Run after Close returns ErrClosed.
	Run(ctx context.Context, in []float32, batch int, out []float32) error
	// Close releases resources; calling it more than once is safe.
	Close() error
}

// Options configure an engine. An option that does not apply to the
// backend is an error (Options.Check), never silently ignored.
type Options struct {
	Threads  int    // 0: backend default
	XNNPACK  bool   // tflite: use the XNNPACK delegate
	Delegate string // tflite: "edgetpu"
	EP       string // onnxruntime: "cpu", "cuda", "tensorrt"
	Fallback bool   // allow falling back to CPU when an accelerator cannot load
	LibPath  string // explicit path of the backend's shared library
	Rounding string // native int8: "double", "single", "ruy", "fp32"; "" = the model's metadata, else double
	// MaxMemory bounds the bytes an engine allocates for activations and
	// work buffers; a model or batch needing more is refused before
	// anything is allocated (0: memlimit.EngineDefault, a quarter of the
	// memory available, at most 1 GiB). Every backend enforces it with
	// CheckMemory: the native engine from its compiled plan (and per batch),
	// tflite and onnxruntime from the model file's tensor shapes
	// (model/tflite.ActivationBytes, model/onnx.ActivationBytes) before
	// the library sees the file.
	MaxMemory int64
}

// Errors shared by backends (wrapped with detail).
var (
	ErrClosed         = errors.New("engine closed")
	ErrUnknownBackend = errors.New("unknown backend")
	ErrInput          = errors.New("bad input")
	ErrOption         = errors.New("option does not apply")
)

// ScoresAreProbabilities reports whether an engine's outputs are
// probabilities (the model ends in SOFTMAX, edgecnn.output = "softmax")
// rather than logits, from the model file's metadata: the one place that
// decides it for the recognizer, eval and the quantizer's checks.
func ScoresAreProbabilities(meta map[string]string) bool {
	return meta[model.MetaOutput] == "softmax"
}

// Check returns an error wrapping ErrOption when o sets an option that
// backend does not have: --xnnpack and --delegate belong to tflite, --ep
// (other than cpu) to onnxruntime, --rounding to native. Every backend's
// opener calls it first, so inapplicable options fail the same way
// everywhere.
func (o Options) Check(backend string) error {
	var bad []string
	if o.XNNPACK && backend != "tflite" {
		bad = append(bad, "--xnnpack (tflite)")
	}
	if o.Delegate != "" && backend != "tflite" {
		bad = append(bad, "--delegate "+o.Delegate+" (tflite)")
	}
	if o.EP != "" && o.EP != "cpu" && backend != "onnxruntime" {
		bad = append(bad, "--ep "+o.EP+" (onnxruntime)")
	}
	if o.Rounding != "" && backend != "native" {
		bad = append(bad, "--rounding "+o.Rounding+" (native)")
	}
	if o.Threads < 0 {
		return fmt.Errorf("runtime: %w: threads %d is negative", ErrOption, o.Threads)
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("runtime: %w to the %s backend: %s", ErrOption, backend, strings.Join(bad, ", "))
}

// Opener opens a model file with a backend.
type Opener func(path string, opt Options) (Engine, error)

var (
	mu       sync.RWMutex
	registry = map[string]Opener{}
)

// Register makes a backend available under name. It panics on duplicates,
// which is a programming error caught at init time.
func Register(name string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("runtime: backend registered twice: " + name)
	}
	registry[name] = open
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	mu.RLock()
	defer mu.RUnlock()
	var ns []string
	for n := range registry {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Open opens path with the named backend.
func Open(backend, path string, opt Options) (Engine, error) {
	mu.RLock()
	open, ok := registry[backend]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("runtime: %w %q: this binary has %v; the tflite and onnxruntime backends are in bin/edgecnn-full (make build-full) and in board builds made with edgecnn build --backend tflite|onnxruntime", ErrUnknownBackend, backend, Backends())
	}
	return open(path, opt)
}

// CheckRun validates the arguments of Engine.Run for an engine whose images
// have inPer input values and outPer scores: a positive batch (at most
// 2^20), exactly batch·inPer inputs and room for batch·outPer outputs. The
// error wraps ErrInput and names the backend. Every backend calls it, so
// they all refuse bad input alike.
func CheckRun(backend string, in []float32, batch, inPer int, out []float32, outPer int) error {
	if batch <= 0 || batch > 1<<20 {
		return fmt.Errorf("%s: %w: batch %d out of range [1, %d]", backend, ErrInput, batch, 1<<20)
	}
	if len(in) != batch*inPer {
		return fmt.Errorf("%s: %w: %d input values, batch %d needs %d (%d per image)", backend, ErrInput, len(in), batch, batch*inPer, inPer)
	}
	if len(out) < batch*outPer {
		return fmt.Errorf("%s: %w: output buffer holds %d values, batch %d needs %d", backend, ErrInput, len(out), batch, batch*outPer)
	}
	return nil
}
