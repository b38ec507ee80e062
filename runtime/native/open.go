package native

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

func init() { runtime.Register("native", open) }

// open is the registry opener: it reads a .tflite file (model/tflite) and
// compiles it.
func open(path string, opt runtime.Options) (runtime.Engine, error) {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".tflite" {
		return nil, fmt.Errorf("native: %s: only .tflite models are supported (got %q); export one with edgecnn export", path, ext)
	}
	if opt.XNNPACK || opt.Delegate != "" || (opt.EP != "" && opt.EP != "cpu") {
		return nil, fmt.Errorf("native: options --xnnpack/--delegate/--ep apply to the tflite and onnxruntime backends, not native")
	}
	g, err := tflite.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	name := opt.Rounding
	if name == "" {
		name = g.Metadata[qmath.MetaKey]
	}
	var opts []Option
	if name != "" {
		r, err := qmath.ParseRounding(name)
		if err != nil {
			return nil, fmt.Errorf("native: %s: %w", path, err)
		}
		opts = append(opts, WithRounding(r))
	}
	e, err := New(g, opt, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}
