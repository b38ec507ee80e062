//go:build !board

package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/progress"
	"github.com/urfave/cli/v2"
)

func trainCommand() *cli.Command {
	o := struct {
		train.Job
		JSON bool `flag:"json" usage:"print one JSON object per epoch and a final one with test_accuracy"`
	}{Job: train.NewJob()}
	return &cli.Command{
		Name:  "train",
		Usage: "train the seed CNN on MNIST and/or image folders, or fine-tune a checkpoint (--init); a checkpoint after every epoch",
		Description: "The defaults are the seed recipe (Adam, lr 1e-3, batch 64, width 32).\n" +
			"With the same --seed and --threads, reruns are bit-identical; --resume continues a run\n" +
			"exactly where its last checkpoint left it. Fine-tune the shipped model on your own photos:\n" +
			"   edgecnn train --init models/mnist.ckpt --data data/mnist --data mydigits --epochs 1 --epoch-size 12800 --out ft.ckpt",
		Flags: cliflags.Flags(&o, cliflags.Prefix("data", "training data"), cliflags.With(threadsFlag())),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			o.IsSet, o.Version, o.Log = c.IsSet, version, c.App.ErrWriter
			run, err := o.Prepare(c.Context)
			if err != nil {
				return err
			}
			out, errw, enc := c.App.Writer, c.App.ErrWriter, json.NewEncoder(c.App.Writer)
			var bar *progress.Bar
			barEpoch := 0
			run.OnBatch = func(p train.Progress) {
				if p.Epoch != barEpoch {
					bar, barEpoch = progress.New(errw, fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs), int64(p.Total), false), p.Epoch
				}
				if bar != nil { // no formatting per batch unless drawing
					bar.Update(int64(p.Done), fmt.Sprintf("loss %.4f acc %.2f%% %.0f img/s, ETA %s", p.Loss, p.Accuracy, p.ImagesPerSecond, p.ETA().Round(time.Second)))
				}
			}
			run.OnEpoch = func(e train.EpochMetrics) {
				bar.Done()
				bar = nil
				if o.JSON {
					enc.Encode(e)
				} else {
					e.WriteText(out)
				}
			}
			res, err := train.Train(c.Context, run)
			bar.Done()
			if err != nil {
				return err
			}
			if o.JSON {
				return enc.Encode(res.Final(run.Out))
			}
			for _, t := range res.Tests {
				fmt.Fprintf(out, "test accuracy %.2f%% (%d/%d) on %s\n", t.Accuracy, t.Correct, t.N, t.Source)
			}
			fmt.Fprintf(out, "checkpoint %s\n", run.Out)
			return nil
		}),
	}
}
