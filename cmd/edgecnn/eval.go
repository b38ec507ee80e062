//go:build !board

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/inspect"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/urfave/cli/v2"
)

// evalHook lets other model formats (e.g. .tflite, .onnx) plug into
// `edgecnn eval`: when set and the file is not an edgecnn checkpoint, it is
// called with the path and the test set. It returns (nil, nil) if it does
// not recognise the file either.
var evalHook func(c *cli.Context, path string, test *data.Set) (*train.Evaluation, error)

func init() {
	register(&cli.Command{
		Name:  "eval",
		Usage: "evaluate a model on the MNIST test set or image folders: accuracy, per-class accuracy, confusion matrix",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Value: "models/mnist.ckpt", Usage: "checkpoint, .tflite or .onnx file to evaluate (files run through --backend)"},
			dataFlags("evaluation data (MNIST: its test split; an image folder: all its images)")[0],
			threadsFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object"},
		}, engineFlags()...),
		Action: func(c *cli.Context) error {
			srcs, _, err := openSources(c, data.OpenOptions{TestOnly: true}, c.App.ErrWriter)
			if err != nil {
				return err
			}
			path := c.String("model")
			enc := json.NewEncoder(c.App.Writer)
			for i, src := range srcs {
				ev, err := evalFile(c, path, src.EvalSet())
				if err != nil {
					return fmt.Errorf("eval: %s on %s: %w", path, src.Info.Path, err)
				}
				if c.Bool("json") {
					if err := enc.Encode(struct {
						Model  string `json:"model"`
						Source string `json:"source"`
						*train.Evaluation
					}{path, src.Info.Path, ev}); err != nil {
						return err
					}
					continue
				}
				if i > 0 {
					fmt.Fprintln(c.App.Writer)
				}
				if len(srcs) > 1 || src.Info.Kind != data.KindMNIST {
					fmt.Fprintf(c.App.Writer, "data: %s (%s, %d images, sha256 %.12s)\n", src.Info.Path, src.Info.Kind, src.EvalSet().N, src.Info.SHA256)
				}
				ev.WriteText(c.App.Writer, path)
			}
			if !c.Bool("json") {
				if ck, err := model.ReadCheckpointFile(path); err == nil {
					printLineage(c.App.Writer, ck)
				}
			}
			return nil
		},
	})
}

// evalFile evaluates a checkpoint, or hands other formats to evalHook.
func evalFile(c *cli.Context, path string, test *data.Set) (*train.Evaluation, error) {
	ck, err := model.ReadCheckpointFile(path)
	if err == nil {
		return evalCheckpoint(c, ck, test)
	}
	if (errors.Is(err, model.ErrCorrupt) || errors.Is(err, model.ErrNotCheckpoint)) && evalHook != nil {
		ev, herr := evalHook(c, path, test)
		if herr != nil || ev != nil {
			return ev, herr
		}
	}
	return nil, err
}

// evalCheckpoint evaluates a float checkpoint with the trainer's fast
// inference path.
func evalCheckpoint(c *cli.Context, ck *model.Checkpoint, test *data.Set) (*train.Evaluation, error) {
	if err := ck.Model.CheckFinite(); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	n, err := threads(c)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return train.EvaluateSet(c.Context, ck.Model, test, n)
}

// printLineage prints what a checkpoint records of its training data.
func printLineage(w io.Writer, ck *model.Checkpoint) {
	if ck.Init != nil || len(ck.DataSources) > 0 {
		fmt.Fprintln(w)
		inspect.WriteLineage(w, ck.DataSources, ck.Init)
	}
}
