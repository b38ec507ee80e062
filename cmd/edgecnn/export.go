//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/model/export"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "export",
		Usage:     "export a checkpoint as a .tflite or .onnx model (float, or full-integer int8 with --int8)",
		ArgsUsage: " ",
		Description: "Float export folds BatchNorm, fuses ReLU and outputs logits (add --softmax for\n" +
			"probabilities). --int8 quantizes first (calibrating on the first --calib MNIST\n" +
			"training images from --data, as `edgecnn quantize` does) and writes TFLite's\n" +
			"full-integer model, or an ONNX QDQ model for --format onnx. --target edgetpu\n" +
			"writes an int8 .tflite that meets the Edge TPU compiler's requirements and runs\n" +
			"edgetpu_compiler when it is on PATH. Normalization, labels, architecture and the\n" +
			"edgecnn version are stored inside the file.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Value: "models/mnist.ckpt", Usage: "float checkpoint to export"},
			&cli.StringFlag{Name: "format", Usage: "tflite or onnx (default: from the --out extension)"},
			&cli.StringFlag{Name: "out", Usage: "file to write (atomically)", Required: true},
			&cli.BoolFlag{Name: "int8", Usage: "quantize to full-integer int8"},
			&cli.BoolFlag{Name: "json", Usage: "print what was written as one JSON object"},
			&cli.StringFlag{Name: "target", Usage: "edgetpu: int8, integer IO, static shapes, then edgetpu_compiler"},
			&cli.StringFlag{Name: "io", Usage: "int8 model input/output type: int8, uint8 or float (default int8; uint8 for edgetpu)"},
			&cli.BoolFlag{Name: "softmax", Usage: "end with SOFTMAX (probabilities) instead of logits"},
			&cli.BoolFlag{Name: "static-batch", Usage: "fix the batch to 1 (default: dynamic batch)"},
			&cli.StringFlag{Name: "data", Value: "data/mnist", Usage: "MNIST folder for --int8 calibration"},
			&cli.IntFlag{Name: "calib", Value: 1000, Usage: "calibration images for --int8 (the first N training images)"},
			&cli.IntFlag{Name: "val", Value: 1000, Usage: "validation images for --method auto (the training images after the calibration ones)"},
			&cli.StringFlag{Name: "method", Value: "auto", Usage: "calibration: minmax, percentile, entropy, mse or auto"},
			threadsFlag(),
		},
		Action: exportAction,
	})
}

func exportAction(c *cli.Context) error {
	res, err := export.Run(c.Context, export.Request{Model: c.String("model"), Out: c.String("out"), Format: c.String("format"),
		Target: c.String("target"), Int8: c.Bool("int8"), IO: c.String("io"), Softmax: c.Bool("softmax"), StaticBatch: c.Bool("static-batch"),
		Data: c.String("data"), Calib: c.Int("calib"), Val: c.Int("val"), Method: c.String("method"), Threads: c.Int("threads"), Version: version})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.App.Writer, "wrote %s (%s %s, %d ops, %d bytes)\n", res.File, res.Precision, res.Format, res.Ops, res.Bytes)
	}
	if res.EdgeTPU {
		if err := tflite.CompileEdgeTPU(c.Context, res.File, c.App.Writer, c.App.ErrWriter); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}
