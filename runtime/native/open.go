package native

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

func init() { runtime.Register("native", open) }

// readONNX reads an .onnx file into the shared graph IR; nil where the
// build leaves the ONNX reader out (board binaries read .tflite only).
var readONNX func(path string) (*model.Graph, error)

// open is the registry opener: it reads a .tflite file (model/tflite), an
// .onnx file (model/onnx) outside board builds, or a .ckpt checkpoint (its
// float graph), and compiles it.
func open(path string, opt runtime.Options) (runtime.Engine, error) {
	if err := opt.Check("native"); err != nil {
		return nil, err
	}
	var g *model.Graph
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case ext == ".tflite":
		g, err = tflite.ReadFile(path)
	case ext == ".onnx" && readONNX != nil:
		g, err = readONNX(path)
	case ext == ".onnx":
		return nil, fmt.Errorf("native: %s: this board build reads .tflite models only; export one with edgecnn export --format tflite", path)
	case ext == ".ckpt":
		// A checkpoint runs as its float graph (BN folded, as exported).
		var ck *model.Checkpoint
		if ck, err = model.ReadCheckpointFile(path); err == nil {
			g, err = model.FloatGraph(ck.Model)
		}
	default:
		return nil, fmt.Errorf("native: %s: unknown model format %q: want .tflite, .onnx or .ckpt (export one with edgecnn export)", path, ext)
	}
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
