//go:build !board

package main

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/quantize/qdata"
	"github.com/edgecnn/edgecnn/runtime/qmath"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "quantize",
		Usage: "quantize a float checkpoint to an int8 .tflite and report what it cost, layer by layer",
		Description: "Calibrates on the first --calib training images, picks the clipping ranges\n" +
			"(--method auto tries minmax, percentile, entropy and mse and keeps the best on the\n" +
			"next --val training images), writes TFLite's full-integer int8 model and evaluates\n" +
			"float vs int8 on the test set with the native int8 engine. With image folders among\n" +
			"the --data sources (or --eval-data) the report adds a table of accuracy per source.",
		Flags: append(dataFlags("calibration and test data (calibration images are drawn from every source by --mix; the report has a row per source)"),
			&cli.StringSliceFlag{Name: "eval-data", Usage: "image folder (or MNIST folder) to evaluate only, e.g. held-out photos: one more row of the per-source table"},
			&cli.StringFlag{Name: "model", Value: "models/mnist.ckpt", Usage: "float checkpoint to quantize"},
			&cli.StringFlag{Name: "out", Value: "model.int8.tflite", Usage: "int8 .tflite to write (atomically)"},
			&cli.StringFlag{Name: "report", Usage: "also write the report to `PATH` (.json, .md or .html)"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON instead of the summary"},
			&cli.IntFlag{Name: "calib", Value: 1000, Usage: "calibration images (the first N training images)"},
			&cli.IntFlag{Name: "val", Value: 1000, Usage: "validation images for --method auto (the training images after the calibration ones)"},
			&cli.IntFlag{Name: "test", Usage: "evaluate on the first N test images (0: all 10,000)"},
			&cli.StringFlag{Name: "method", Value: "auto", Usage: "calibration: minmax, percentile, entropy, mse or auto"},
			&cli.Float64Flag{Name: "percentile", Value: 99.99, Usage: "percentile for --method percentile"},
			&cli.StringFlag{Name: "io", Value: "int8", Usage: "model input/output type: int8, uint8 or float"},
			&cli.StringFlag{Name: "rounding", Value: "double", Usage: "requantization rounding: double (TFLite reference kernels), ruy (TFLite C library on x86), single, fp32 (XNNPACK)"},
			&cli.BoolFlag{Name: "per-channel-dense", Usage: "per-channel weights for FULLY_CONNECTED too (needs a TFLite newer than 2.9)"},
			&cli.IntFlag{Name: "qat-epochs", Usage: "quantization-aware fine-tuning epochs (fake-quantized forward, straight-through estimator) when the PTQ drop on the --val images exceeds --qat-threshold"},
			&cli.Float64Flag{Name: "qat-threshold", Value: 0.1, Usage: "PTQ accuracy drop (pp) on the --val images above which --qat-epochs fine-tunes"},
			&cli.Float64Flag{Name: "qat-lr", Value: 1e-4, Usage: "Adam learning rate of quantization-aware fine-tuning"},
			&cli.BoolFlag{Name: "qat-force", Usage: "fine-tune even when the PTQ drop is within --qat-threshold"},
			&cli.IntFlag{Name: "qat-images", Usage: "fine-tune on the first N training images outside the --val slice (0: all)"},
			threadsFlag(),
		),
		Action: quantizeAction,
	})
}

func quantizeAction(c *cli.Context) error {
	qatEpochs := c.Int("qat-epochs")
	if qatEpochs < 0 {
		return fmt.Errorf("quantize: %w: --qat-epochs %d must not be negative", quantize.ErrQATOptions, qatEpochs)
	}
	if n := c.Int("qat-images"); n < 0 {
		return fmt.Errorf("quantize: %w: --qat-images %d must not be negative", quantize.ErrQATOptions, n)
	}
	if lr := c.Float64("qat-lr"); !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("quantize: %w: --qat-lr %v must be a positive number", quantize.ErrQATOptions, lr)
	}
	method, err := quantize.ParseMethod(c.String("method"))
	if err != nil {
		return err
	}
	io, err := quantize.ParseIO(c.String("io"))
	if err != nil {
		return err
	}
	rounding, err := qmath.ParseRounding(c.String("rounding"))
	if err != nil {
		return fmt.Errorf("quantize: --rounding: %w", err)
	}
	if p := c.String("report"); p != "" {
		if err := quantize.CheckReportPath(p); err != nil {
			return err
		}
	}
	nCalib, nVal, nTest := c.Int("calib"), c.Int("val"), c.Int("test")
	if nCalib < 1 {
		return fmt.Errorf("quantize: --calib %d: %w", nCalib, quantize.ErrNoImages)
	}
	if nVal < 0 || nTest < 0 {
		return fmt.Errorf("quantize: --val and --test must not be negative")
	}
	if method != quantize.Auto && qatEpochs == 0 {
		nVal = 0
	}
	if qatEpochs > 0 && nVal == 0 {
		return fmt.Errorf("quantize: %w: --qat-epochs needs --val images to measure the PTQ drop", quantize.ErrQATOptions)
	}
	ck, err := model.ReadCheckpointFile(c.String("model"))
	if err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	m := ck.Model
	sources, weights, err := openSources(c, data.OpenOptions{}, c.App.ErrWriter)
	if err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	var extra []*data.Source
	if p := c.StringSlice("eval-data"); len(p) > 0 {
		if extra, err = data.OpenAll(c.Context, p, data.OpenOptions{TestOnly: true, Options: data.Options{Threads: loadThreads(c)}}); err != nil {
			return fmt.Errorf("quantize: %w", err)
		}
	}
	nth, err := threads(c)
	if err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	sets, err := qdata.Build(qdata.Request{Model: m, ModelPath: c.String("model"), Sources: sources, Weights: weights, Extra: extra,
		Calib: nCalib, Val: nVal, Test: nTest, Threads: nth})
	if err != nil {
		return err
	}
	calib := sets.Calib
	opts := quantize.Options{Method: method, Percentile: c.Float64("percentile"), Rounding: rounding, IO: io,
		PerChannelDense: c.Bool("per-channel-dense"), MinCalib: calib.N, Threads: nth,
		Val: sets.Val, Test: sets.Test, Sources: sets.Sources}
	qat := quantize.QATOptions{Epochs: qatEpochs, LR: c.Float64("qat-lr"), Threshold: c.Float64("qat-threshold"), Force: c.Bool("qat-force")}
	if qatEpochs > 0 {
		if qat.Pixels, qat.Labels, qat.Index, err = qdata.QATImages(sources, nCalib, nVal, c.Int("qat-images")); err != nil {
			return err
		}
		ew := c.App.ErrWriter
		qat.Progress = func(epoch int, loss, acc float64) {
			fmt.Fprintf(ew, "QAT epoch %d/%d: loss %.4f, fake-quantized training accuracy %.2f%%\n", epoch, qatEpochs, loss, acc)
		}
	}
	g, rep, err := quantize.QuantizeQAT(c.Context, m, calib, opts, qat)
	if err != nil {
		return err
	}
	if len(ck.DataSources) > 0 {
		g.Metadata[model.MetaDataSources] = model.DataSourcesMetadata(ck.DataSources)
	}
	rep.Model.Source = c.String("model")
	// Write the report first: an unwritable report path must not leave a
	// model behind that looks like a finished run.
	if p := c.String("report"); p != "" {
		if err := rep.WriteFile(p); err != nil {
			return err
		}
	}
	if err := tflite.WriteFile(c.String("out"), g); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	w := c.App.Writer
	if c.Bool("json") {
		return json.NewEncoder(w).Encode(rep)
	}
	if err := rep.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s", c.String("out"))
	if p := c.String("report"); p != "" {
		fmt.Fprintf(w, " and report %s", p)
	}
	fmt.Fprintln(w)
	return nil
}
