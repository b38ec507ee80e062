package main

import (
	"fmt"
	"os"

	"github.com/edgecnn/edgecnn/bench"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func benchCommand() *cli.Command {
	var o struct {
		bench.Request
		JSON bool `flag:"json" usage:"print a JSON array"`
	}
	return &cli.Command{
		Name:  "bench",
		Usage: "measure latency (p50/p99), throughput and peak RSS of backends side by side",
		Description: `Each backend runs in its own child process (so peak RSS and cold start are
its own): cold start is the time from starting that process to the first
prediction. Inputs are random normalized images (speed does not depend on
values). ONNX Runtime runs the .onnx twin of --model (same path, .onnx
extension) unless --onnx names one. Backends not compiled into this binary
are listed as "not built in" with the build tag that adds them.

EXAMPLES:
   edgecnn bench --model out/demo/model.int8.tflite --backend all --batch 1 --threads 1
   edgecnn bench --model out/demo/model.int8.tflite --batch 256 --threads 2 --json
   edgecnn bench --model out/demo/model.int8.tflite --host pi@raspberrypi.local --board rpi4`,
		Flags: cliflags.Flags(&o, cliflags.With(threadsFlag())),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			if o.Child {
				return bench.RunChild(c.Context, o.Request, c.App.Writer)
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: %w", err)
			}
			o.Remote, o.RemoteModel = benchOnBoard, benchBoardModel
			res, err := bench.Execute(c.Context, o.Request, exe, c.App.ErrWriter)
			if err != nil {
				return err
			}
			return res.Write(c.App.Writer, o.JSON)
		}),
	}
}
