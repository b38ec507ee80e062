package main

import (
	"fmt"
	goruntime "runtime"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/urfave/cli/v2"
)

// engineFlags is the shared flag group of every command that runs a model
// file through a runtime backend (eval on .tflite/.onnx, predict, run).
func engineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "backend", Value: "native", EnvVars: []string{"EDGECNN_BACKEND"}, Usage: "runtime backend: native, tflite or onnxruntime (the last two need the build tags of the same name)"},
		&cli.BoolFlag{Name: "xnnpack", Usage: "tflite: use the XNNPACK delegate"},
		&cli.StringFlag{Name: "delegate", Usage: "tflite: hardware delegate (edgetpu)"},
		&cli.StringFlag{Name: "ep", Value: "cpu", Usage: "onnxruntime: execution provider cpu, cuda or tensorrt"},
		&cli.BoolFlag{Name: "fallback", Usage: "run on the CPU when the requested accelerator cannot load (default: error)"},
		&cli.StringFlag{Name: "lib", EnvVars: []string{"EDGECNN_LIB"}, Usage: "path of the backend's shared library (libtensorflowlite_c.so / libonnxruntime.so.1)"},
		&cli.StringFlag{Name: "rounding", Usage: "native int8 requantization: double, single, ruy or fp32 (default: what the model file records)"},
		&cli.IntFlag{Name: "engine-memory", Usage: "MiB the native engine may allocate for activations; a model needing more is refused (0: a quarter of the memory, at most 1 GiB)"},
	}
}

// threadsFlag is every command's --threads: one meaning everywhere.
func threadsFlag() cli.Flag {
	return &cli.IntFlag{Name: "threads", Usage: fmt.Sprintf("goroutines (0: one per CPU core, %d here)", goruntime.NumCPU())}
}

// threads resolves --threads: 0 is one per CPU core; negative is an error.
func threads(c *cli.Context) (int, error) {
	n := c.Int("threads")
	switch {
	case n < 0 || n > 256:
		return 0, fmt.Errorf("--threads %d out of range [0, 256] (0: one per CPU core)", n)
	case n == 0:
		return goruntime.NumCPU(), nil
	}
	return n, nil
}

// engineOptions reads the shared engine flags (threads comes from the
// command's own --threads flag; see threads).
func engineOptions(c *cli.Context) runtime.Options {
	n, err := threads(c)
	if err != nil {
		n = 1 // checked by the command before it opens an engine
	}
	return runtime.Options{Threads: n, XNNPACK: c.Bool("xnnpack"), Delegate: c.String("delegate"),
		EP: c.String("ep"), Fallback: c.Bool("fallback"), LibPath: c.String("lib"), Rounding: c.String("rounding"),
		MaxMemory: int64(min(max(c.Int("engine-memory"), 0), 1<<22)) << 20}
}

// openEngine opens a model file with the backend named by --backend (a
// .ckpt runs on the agent's float reference engine). The onnxruntime
// backend given a .tflite path uses its .onnx twin, as `edgecnn export` and
// `make demo` write them side by side.
func openEngine(c *cli.Context, path string) (runtime.Engine, error) {
	return agent.OpenModel(c.String("backend"), path, engineOptions(c))
}
