//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/edgecnn/edgecnn/model/export"
	"github.com/edgecnn/edgecnn/model/tflite"
	"github.com/urfave/cli/v2"
)

func exportCommand() *cli.Command {
	var o struct {
		export.Request
		JSON bool `flag:"json" usage:"print what was written as one JSON object"`
	}
	return &cli.Command{
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
		Flags: cliflags.Flags(&o, cliflags.With(threadsFlag()),
			cliflags.Usage("calib", "calibration images for --int8 (the first N training images)")),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			o.Version = version
			res, err := export.Run(c.Context, o.Request)
			if err != nil {
				return err
			}
			if o.JSON {
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
		}),
	}
}
