//go:build !board

package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/urfave/cli/v2"
)

func init() { evalHook = evalEngine }

// evalEngine evaluates a deployable model file (.tflite or .onnx) with the
// backend chosen by --backend, on the same tally as checkpoints.
// Other files get (nil, nil), so eval reports why they are not checkpoints.
func evalEngine(c *cli.Context, path string, test *data.Set) (*train.Evaluation, error) {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".tflite" && ext != ".onnx" {
		return nil, nil
	}
	e, err := openEngine(c, path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer e.Close()
	ev, err := train.EvaluateEngine(c.Context, e, test)
	if err != nil && c.Context.Err() == nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return ev, err
}
