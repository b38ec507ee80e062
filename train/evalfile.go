package train

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/train/data"
)

// EvaluateFile evaluates the model file at path on test (edgecnn eval): a
// checkpoint with the trainer's fast inference path on threads goroutines
// (a --threads value, see runtime.Threads), a deployable .tflite or .onnx
// through the engine open returns (nil: checkpoints only), on the same
// tally. Another file gets the checkpoint reader's error.
func EvaluateFile(ctx context.Context, path string, test *data.Set, threads int, open func(path string) (runtime.Engine, error)) (*Evaluation, error) {
	ck, err := model.ReadCheckpointFile(path)
	if err == nil {
		if err := ck.Model.CheckFinite(); err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		n, err := runtime.Threads(threads)
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		return EvaluateSet(ctx, ck.Model, test, n)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if !errors.Is(err, model.ErrCorrupt) && !errors.Is(err, model.ErrNotCheckpoint) || open == nil || ext != ".tflite" && ext != ".onnx" {
		return nil, err
	}
	e, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer e.Close()
	ev, err := EvaluateEngine(ctx, e, test)
	if err != nil && ctx.Err() == nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return ev, err
}
