//go:build !board

package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/edgecnn/edgecnn/train/progress"
	"github.com/urfave/cli/v2"
)

func init() {
	d := train.DefaultConfig()
	register(&cli.Command{
		Name:  "train",
		Usage: "train the seed CNN on MNIST and/or image folders, or fine-tune a checkpoint (--init); a checkpoint after every epoch",
		Description: "The defaults are the seed recipe (Adam, lr 1e-3, batch 64, width 32).\n" +
			"With the same --seed and --threads, reruns are bit-identical; --resume continues a run\n" +
			"exactly where its last checkpoint left it. Fine-tune the shipped model on your own photos:\n" +
			"   edgecnn train --init models/mnist.ckpt --data data/mnist --data mydigits --epochs 1 --epoch-size 12800 --out ft.ckpt",
		Flags: append(dataFlags("training data"),
			&cli.StringFlag{Name: "init", Usage: "fine-tune: start from this checkpoint's weights (any checkpoint, --slim too; fresh optimizer state; default --lr " + fmt.Sprint(train.FineTuneLR) + ")"},
			&cli.StringFlag{Name: "freeze", Usage: "\"conv\": train only the dense layers (the convolutions stay bit-identical)"},
			&cli.IntFlag{Name: "epoch-size", Usage: "images per epoch (0: all images of all --data sources)"},
			&cli.StringFlag{Name: "out", Value: "model.ckpt", Usage: "checkpoint to write (atomically, every epoch)"},
			&cli.IntFlag{Name: "epochs", Value: d.Epochs, Usage: "total epochs (with --resume: including those done)"},
			&cli.IntFlag{Name: "batch", Value: d.Batch, Usage: "batch size"},
			&cli.BoolFlag{Name: "bn", Usage: "BatchNorm after each convolution"},
			&cli.Float64Flag{Name: "dropout", Usage: "dropout rate before the last dense layer"},
			&cli.IntFlag{Name: "width", Value: d.Width, Usage: "channels of conv1 (conv2 has twice as many)"},
			&cli.StringFlag{Name: "optimizer", Value: d.Optimizer, Usage: "adam or sgd (with momentum)"},
			&cli.Float64Flag{Name: "lr", Value: d.LR, Usage: "learning rate"},
			&cli.Float64Flag{Name: "momentum", Value: d.Momentum, Usage: "momentum for --optimizer sgd"},
			&cli.IntFlag{Name: "step-size", Usage: "StepLR: multiply the learning rate by --gamma every N epochs (0: off)"},
			&cli.Float64Flag{Name: "gamma", Value: d.Gamma, Usage: "StepLR factor"},
			&cli.IntFlag{Name: "patience", Usage: "early stopping: stop after N epochs without validation improvement (needs --val)"},
			&cli.IntFlag{Name: "val", Usage: "hold out N training images of every source for validation (MNIST: the last N; a folder: N spread over its classes)"},
			&cli.BoolFlag{Name: "augment", Usage: "random rotation ±10° and shift ±2 px"},
			&cli.BoolFlag{Name: "robust", Usage: "camera-robust augmentation for half of the images (stroke width, elastic distortion, blur, noise, contrast, scale, shift)"},
			&cli.Float64Flag{Name: "negatives", Usage: "share of each epoch made of generated non-digits (e.g. 0.1); adds the 11th class \"x\" (not a digit)"},
			&cli.Uint64Flag{Name: "seed", Value: d.Seed, Usage: "random seed (initialization, shuffling, augmentation, dropout)"},
			&cli.IntFlag{Name: "limit", Usage: "train on the first N training images of every source only (a folder: N spread over its classes; 0: all)"},
			threadsFlag(),
			&cli.BoolFlag{Name: "resume", Usage: "continue the run in --out"},
			&cli.BoolFlag{Name: "slim", Usage: "leave the optimizer state out of the final checkpoint (smaller; cannot be resumed)"},
			&cli.BoolFlag{Name: "json", Usage: "print one JSON object per epoch and a final one with test_accuracy"},
		),
		Action: trainAction,
	})
}

func trainAction(c *cli.Context) error {
	nth, err := threads(c)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	cfg := train.Config{
		Epochs: c.Int("epochs"), Batch: c.Int("batch"), Optimizer: c.String("optimizer"), LR: c.Float64("lr"),
		Momentum: c.Float64("momentum"), StepSize: c.Int("step-size"), Gamma: c.Float64("gamma"), Patience: c.Int("patience"),
		Val: c.Int("val"), Augment: c.Bool("augment"), Seed: c.Uint64("seed"), Limit: c.Int("limit"), Threads: nth,
		Width: c.Int("width"), BatchNorm: c.Bool("bn"), Dropout: c.Float64("dropout"),
		Freeze: c.String("freeze"), EpochSize: c.Int("epoch-size"),
		Robust: c.Bool("robust"), Negatives: c.Float64("negatives"),
	}
	var initCk *model.Checkpoint
	var initRef *model.CheckpointRef
	if p := c.String("init"); p != "" {
		var err error
		if initCk, initRef, err = train.ReadInit(p); err != nil {
			return err
		}
		if cfg, err = train.InitConfig(cfg, initCk, p, c.IsSet); err != nil {
			return err
		}
		if !c.IsSet("lr") {
			cfg.LR = train.FineTuneLR
		}
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	out, errw := c.App.Writer, c.App.ErrWriter
	sources, weights, err := openSources(c, data.OpenOptions{Options: data.Options{Threads: cfg.Threads}}, errw)
	if err != nil {
		return err
	}
	asJSON := c.Bool("json")
	enc := json.NewEncoder(out)
	var bar *progress.Bar
	barEpoch := 0
	run := train.Run{
		Config: cfg, Sources: sources, Weights: weights, Init: initCk, InitRef: initRef, Out: c.String("out"), Resume: c.Bool("resume"), Slim: c.Bool("slim"), Version: version,
		OnBatch: func(p train.Progress) {
			if p.Epoch != barEpoch {
				bar = progress.New(errw, fmt.Sprintf("epoch %d/%d", p.Epoch, p.Epochs), int64(p.Total), false)
				barEpoch = p.Epoch
			}
			if bar != nil { // no formatting per batch unless drawing
				bar.Update(int64(p.Done), fmt.Sprintf("loss %.4f acc %.2f%% %.0f img/s, ETA %s", p.Loss, p.Accuracy, p.ImagesPerSecond, p.ETA().Round(time.Second)))
			}
		},
		OnEpoch: func(e train.EpochMetrics) {
			bar.Done()
			bar = nil
			if asJSON {
				enc.Encode(e)
				return
			}
			val := ""
			if e.ValAccuracy != nil {
				val = fmt.Sprintf(", val accuracy %.2f%%", *e.ValAccuracy)
			}
			fmt.Fprintf(out, "epoch %d: loss %.4f, train accuracy %.2f%%%s, %.1f s (%.0f images/s)\n",
				e.Epoch, e.Loss, e.TrainAccuracy, val, e.Seconds, e.ImagesPerSec)
		},
	}
	res, err := train.Train(c.Context, run)
	if bar != nil {
		bar.Done()
	}
	if err != nil {
		return err
	}
	if asJSON {
		final := map[string]any{
			"final": true, "epochs": len(res.Metrics.Epochs), "early_stopped": res.Metrics.EarlyStopped, "checkpoint": run.Out,
			"peak_rss_mib": float64(train.PeakRSS()) / (1 << 20),
		}
		if res.Test != nil {
			final["test_accuracy"], final["test_loss"] = res.Test.Accuracy, res.Test.Loss
		}
		if len(res.Tests) > 1 {
			final["tests"] = res.Tests
		}
		return enc.Encode(final)
	}
	for _, t := range res.Tests {
		fmt.Fprintf(out, "test accuracy %.2f%% (%d/%d) on %s\n", t.Accuracy, t.Correct, t.N, t.Source)
	}
	fmt.Fprintf(out, "checkpoint %s\n", run.Out)
	return nil
}
