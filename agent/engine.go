package agent

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/runtime"
)

// OpenEngine opens a model for recognition through the runtime registry:
// runtime.Open(backend, path, opt), so --backend selects native, tflite or
// onnxruntime. An edgecnn checkpoint (.ckpt) runs on the native engine as
// its float graph; the other backends need an exported file.
func OpenEngine(backend, path string, opt runtime.Options) (runtime.Engine, error) {
	if strings.EqualFold(filepath.Ext(path), ".ckpt") && backend != "native" {
		return nil, fmt.Errorf("agent: %s is a checkpoint: it runs on the native backend; for %s export it first (edgecnn export)", path, backend)
	}
	return runtime.Open(backend, path, opt)
}
