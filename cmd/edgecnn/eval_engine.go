//go:build !board

package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
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
	return evaluateEngine(c, e, test)
}

func evaluateEngine(c *cli.Context, e runtime.Engine, test *data.Set) (*train.Evaluation, error) {
	in, out := e.Input(), e.Output()
	size := 1
	for _, d := range in.Shape[1:] {
		size *= d
	}
	classes := out.Shape[len(out.Shape)-1]
	if tc := test.Classes(); tc > classes {
		return nil, fmt.Errorf("eval: %w: the data has images labelled %q but the model has %d classes; fine-tune it on this data first (edgecnn train --init)", train.ErrUnknownLabel, classLabel(tc-1), classes)
	}
	if size != test.H*test.W || classes < 2 {
		return nil, fmt.Errorf("eval: %w: model input %v / output %v does not fit %dx%d images", model.ErrShape, in.Shape, out.Shape, test.H, test.W)
	}
	norm, err := model.NormFromMetadata(e.Metadata())
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	batch := 1
	if in.Shape[0] < 0 { // dynamic batch
		batch = 256
	}
	x := make([]float32, batch*size)
	y := make([]float32, batch*classes)
	logits := !runtime.ScoresAreProbabilities(e.Metadata())
	ev := train.NewEvaluation(classes)
	if l := e.Metadata()[model.MetaLabels]; l != "" {
		labels, err := model.ParseLabels(l, classes)
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		ev.SetRejectClass(model.RejectIndex(labels))
	}
	for b := 0; b < test.N; b += batch {
		if err := c.Context.Err(); err != nil {
			return nil, err
		}
		n := min(batch, test.N-b)
		for i := b; i < b+n; i++ {
			dst := x[(i-b)*size : (i-b+1)*size]
			if pix, _ := test.Image(i); pix != nil {
				for j, p := range pix {
					dst[j] = (float32(p)*(1.0/255) - norm.Mean) / norm.Std
				}
				continue
			}
			test.Input(i, norm, dst) // photos: preprocess's arithmetic
		}
		if err := e.Run(c.Context, x[:n*size], n, y[:n*classes]); err != nil {
			return nil, fmt.Errorf("eval: %s: %w", e.Backend(), err)
		}
		if err := ev.Add(y[:n*classes], test.Labels[b:b+n], logits); err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
	}
	ev.Finish()
	return ev, nil
}
