//go:build !board

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/mnist"
	"github.com/urfave/cli/v2"
)

// evalHook lets other model formats (e.g. .tflite, .onnx) plug into
// `edgecnn eval`: when set and the file is not an edgecnn checkpoint, it is
// called with the path and the test set. It returns (nil, nil) if it does
// not recognise the file either.
var evalHook func(c *cli.Context, path string, test *mnist.Set) (*train.Evaluation, error)

func init() {
	register(&cli.Command{
		Name:  "eval",
		Usage: "evaluate a model on the MNIST test set: accuracy, per-class accuracy, confusion matrix",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Value: "models/mnist.ckpt", Usage: "checkpoint, .tflite or .onnx file to evaluate (files run through --backend)"},
			&cli.StringFlag{Name: "data", Value: "data/mnist", Usage: "folder with the MNIST IDX files"},
			threadsFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object"},
		}, engineFlags()...),
		Action: func(c *cli.Context) error {
			test, err := mnist.LoadTest(c.String("data"))
			if err != nil {
				return err
			}
			path := c.String("model")
			ev, err := evalFile(c, path, test)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return json.NewEncoder(c.App.Writer).Encode(struct {
					Model string `json:"model"`
					*train.Evaluation
				}{path, ev})
			}
			printEvaluation(c.App.Writer, path, ev)
			return nil
		},
	})
}

// evalFile evaluates a checkpoint, or hands other formats to evalHook.
func evalFile(c *cli.Context, path string, test *mnist.Set) (*train.Evaluation, error) {
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
func evalCheckpoint(c *cli.Context, ck *model.Checkpoint, test *mnist.Set) (*train.Evaluation, error) {
	if err := ck.Model.CheckFinite(); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	n, err := threads(c)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return train.Evaluate(c.Context, ck.Model, test, n)
}

func printEvaluation(w io.Writer, path string, ev *train.Evaluation) {
	fmt.Fprintf(w, "%s: accuracy %.2f%% (%d/%d), loss %.4f\n", path, ev.Accuracy, ev.Correct, ev.N, ev.Loss)
	rej := ev.RejectClass()
	name := func(c int) string {
		if c == rej {
			return model.RejectLabel
		}
		return strconv.Itoa(c)
	}
	if rej >= 0 {
		fmt.Fprintf(w, "answered %q (not a digit): %d of %d digits (%.2f%%), counted as wrong\n", model.RejectLabel, ev.Rejected, ev.N, ev.RejectRate)
	}
	fmt.Fprintf(w, "\nclass  accuracy\n")
	for c, a := range ev.PerClass {
		if c == rej {
			continue // no test image is a non-digit
		}
		fmt.Fprintf(w, "%5s  %7.2f%%\n", name(c), a)
	}
	fmt.Fprintf(w, "\nconfusion matrix (rows: true class, columns: predicted)\n      ")
	for c := range ev.Confusion {
		fmt.Fprintf(w, "%6s", name(c))
	}
	fmt.Fprintln(w)
	for r, row := range ev.Confusion {
		if r == rej {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%6s", name(r))
		for _, v := range row {
			fmt.Fprintf(&b, "%6d", v)
		}
		fmt.Fprintln(w, b.String())
	}
}
