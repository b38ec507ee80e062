package agent

import "github.com/edgecnn/edgecnn/runtime"

// EngineSettings are the engine flags shared by every command that runs a
// model file through a runtime backend (eval on .tflite/.onnx, predict,
// run), as given on the command line. Threads is the command's --threads.
type EngineSettings struct {
	Backend   string `flag:"backend" env:"EDGECNN_BACKEND" default:"native" usage:"runtime backend: native, tflite or onnxruntime (the last two need the build tags of the same name)"`
	XNNPACK   bool   `flag:"xnnpack" usage:"tflite: use the XNNPACK delegate"`
	Delegate  string `flag:"delegate" usage:"tflite: hardware delegate (edgetpu)"`
	EP        string `flag:"ep" default:"cpu" usage:"onnxruntime: execution provider cpu, cuda or tensorrt"`
	Fallback  bool   `flag:"fallback" usage:"run on the CPU when the requested accelerator cannot load (default: error)"`
	Lib       string `flag:"lib" env:"EDGECNN_LIB" usage:"path of the backend's shared library (libtensorflowlite_c.so / libonnxruntime.so.1)"`
	Rounding  string `flag:"rounding" usage:"native int8 requantization: double, single, ruy or fp32 (default: what the model file records)"`
	MemoryMiB int    `flag:"engine-memory" usage:"MiB the native engine may allocate for activations; a model needing more is refused (0: a quarter of the memory, at most 1 GiB)"`
	Threads   int    `flag:"threads"`
}

// Options are the runtime options of e. An out-of-range Threads counts as
// one (commands check it with runtime.Threads before they open an engine).
func (e EngineSettings) Options() runtime.Options {
	n, err := runtime.Threads(e.Threads)
	if err != nil {
		n = 1
	}
	return runtime.Options{Threads: n, XNNPACK: e.XNNPACK, Delegate: e.Delegate, EP: e.EP, Fallback: e.Fallback,
		LibPath: e.Lib, Rounding: e.Rounding, MaxMemory: int64(min(max(e.MemoryMiB, 0), 1<<22)) << 20}
}

// Open opens the model file at path with e's backend (see OpenModel).
func (e EngineSettings) Open(path string) (runtime.Engine, error) {
	return OpenModel(e.Backend, path, e.Options())
}
