//go:build !board

package main

import (
	"encoding/json"
	"fmt"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/inspect"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/urfave/cli/v2"
)

func evalCommand() *cli.Command {
	var o struct {
		Model string `flag:"model" default:"models/mnist.ckpt" usage:"checkpoint, .tflite or .onnx file to evaluate (files run through --backend)"`
		data.SourceFlags
		JSON bool `flag:"json" usage:"print the result as one JSON object"`
		agent.EngineSettings
	}
	return &cli.Command{
		Name:  "eval",
		Usage: "evaluate a model on the MNIST test set or image folders: accuracy, per-class accuracy, confusion matrix",
		Flags: cliflags.Flags(&o, cliflags.With(threadsFlag()),
			cliflags.Prefix("data", "evaluation data (MNIST: its test split; an image folder: all its images)")),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			opt := data.OpenOptions{TestOnly: true, Options: data.Options{Threads: loadThreads(o.Threads)}}
			srcs, _, err := data.OpenMixed(c.Context, o.Data, "", opt, c.App.ErrWriter)
			if err != nil {
				return err
			}
			w := c.App.Writer
			for i, src := range srcs {
				ev, err := train.EvaluateFile(c.Context, o.Model, src.EvalSet(), o.Threads, o.EngineSettings.Open)
				if err != nil {
					return fmt.Errorf("eval: %s on %s: %w", o.Model, src.Info.Path, err)
				}
				if o.JSON {
					if err := json.NewEncoder(w).Encode(struct {
						Model  string `json:"model"`
						Source string `json:"source"`
						*train.Evaluation
					}{o.Model, src.Info.Path, ev}); err != nil {
						return err
					}
					continue
				}
				if i > 0 {
					fmt.Fprintln(w)
				}
				if len(srcs) > 1 || src.Info.Kind != data.KindMNIST {
					fmt.Fprintf(w, "data: %s (%s, %d images, sha256 %.12s)\n", src.Info.Path, src.Info.Kind, src.EvalSet().N, src.Info.SHA256)
				}
				ev.WriteText(w, o.Model)
			}
			if o.JSON {
				return nil
			}
			if ck, err := model.ReadCheckpointFile(o.Model); err == nil && (ck.Init != nil || len(ck.DataSources) > 0) {
				fmt.Fprintln(w)
				inspect.WriteLineage(w, ck.DataSources, ck.Init)
			}
			return nil
		}),
	}
}

// loadThreads is --threads for decoding and preprocessing image folders
// (an out-of-range value counts as one: the command reports it).
func loadThreads(n int) int {
	n, err := runtime.Threads(n)
	if err != nil {
		return 1
	}
	return n
}
