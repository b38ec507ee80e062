//go:build !board

package main

import (
	"errors"
	"fmt"

	"github.com/edgecnn/edgecnn/model/inspect"
	"github.com/urfave/cli/v2"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show the ops, tensors, shapes, quantization, metadata and size of a .tflite or .onnx model, or a checkpoint's header",
		ArgsUsage: "FILE",
		Description: "EXAMPLES:\n" +
			"   edgecnn inspect out/demo/model.int8.tflite\n" +
			"   edgecnn inspect --json out/demo/model.onnx\n" +
			"   edgecnn inspect models/mnist.ckpt",
		Flags: []cli.Flag{
			jsonFlag("print JSON"),
		},
		Action: inspectAction,
	}
}

func inspectAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("inspect: give exactly one FILE (.tflite, .onnx or .ckpt)")
	}
	report, err := inspect.ReadFile(c.Args().First())
	if err != nil {
		return fmt.Errorf("inspect: %w", err)
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, report)
	}
	return report.WriteText(c.App.Writer)
}
