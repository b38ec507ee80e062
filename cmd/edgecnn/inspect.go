//go:build !board

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/inspect"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "inspect",
		Usage:     "show the ops, tensors, shapes, quantization, metadata and size of a .tflite or .onnx model, or a checkpoint's header",
		ArgsUsage: "FILE",
		Description: "EXAMPLES:\n" +
			"   edgecnn inspect out/demo/model.int8.tflite\n" +
			"   edgecnn inspect --json out/demo/model.onnx\n" +
			"   edgecnn inspect models/mnist.ckpt",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: inspectAction,
	})
}

func inspectAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("inspect: give exactly one FILE (.tflite, .onnx or .ckpt)")
	}
	path := c.Args().First()
	var report interface{}
	var write func() error
	if head, err := readHead(path, 8); err == nil && model.IsCheckpoint(head) {
		r, err := inspect.ReadCheckpoint(path)
		if err != nil {
			return fmt.Errorf("inspect: %w", err)
		}
		report, write = r, func() error { return r.WriteText(c.App.Writer) }
	} else {
		g, format, size, err := inspect.ReadModelFile(path)
		if err != nil {
			return fmt.Errorf("inspect: %w", err)
		}
		r := inspect.Graph(g, path, format, size)
		report, write = r, func() error { return r.WriteText(c.App.Writer) }
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	return write()
}

// readHead returns up to n first bytes of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, n)
	k, _ := f.Read(b)
	return b[:k], nil
}
