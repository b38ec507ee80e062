//go:build tflite

package tflite

import (
	"fmt"
	"os"

	tflitefmt "github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
)

// checkMemory refuses, before TensorFlow Lite sees the file, a model whose
// activation tensors (every tensor without constant data, for one image:
// tflitefmt.ActivationBytes, an upper bound of TFLite's arena) need more
// than the engine's memory limit; a file that is not a TFLite flatbuffer
// is refused too.
func checkMemory(path string, opt runtime.Options) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("tflite: %w", err)
	}
	need, err := tflitefmt.ActivationBytes(data)
	if err != nil {
		return fmt.Errorf("tflite: %s: %w", path, err)
	}
	return runtime.CheckMemory(Name, "activation tensors", need, opt.MemoryLimit())
}

// readMetadata returns the edgecnn metadata stored in the model file (the
// TFLite C API does not expose metadata). Files edgecnn's reader does not
// understand still run, with empty metadata: TFLite itself judges them.
func readMetadata(path string) (map[string]string, error) {
	g, err := tflitefmt.ReadFile(path)
	if err != nil || g.Metadata == nil {
		return map[string]string{}, nil
	}
	return g.Metadata, nil
}
