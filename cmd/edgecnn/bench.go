package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/edgecnn/edgecnn/bench"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Required: true, Usage: ".tflite model to run"},
			&cli.StringFlag{Name: "onnx", Usage: ".onnx model for onnxruntime (default: --model with extension .onnx)"},
			&cli.StringFlag{Name: "backend", Value: "all", Usage: "all, or a comma list of native, tflite, tflite+xnnpack, onnxruntime"},
			threadsFlag(),
			&cli.IntFlag{Name: "batch", Value: 1, Usage: "images per Run"},
			&cli.IntFlag{Name: "iterations", Value: 0, Usage: "timed Runs per backend (0: about 2 s worth, at least 20)"},
			&cli.IntFlag{Name: "warmup", Value: 10, Usage: "untimed Runs before timing"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON array"},
			&cli.BoolFlag{Name: "in-process", Usage: "run every backend in this process (no child processes, e.g. under qemu-user without binfmt); peak RSS is then the running maximum"},
			&cli.StringFlag{Name: "host", Usage: "also benchmark on this board over SSH (user@addr[:port]): ships a cross-built binary and the model, prints the board's figures beside this machine's"},
			&cli.StringFlag{Name: "board", Value: "rpi4", Usage: "with --host: the board to build for (see edgecnn boards)"},
			&cli.StringFlag{Name: "identity", Usage: "with --host: private key file (default: ssh-agent, then ~/.ssh keys)"},
			&cli.StringFlag{Name: "known-hosts", Usage: "with --host: known_hosts file (default ~/.ssh/known_hosts)"},
			&cli.BoolFlag{Name: "accept-new-host-key", Usage: "with --host: trust and record a host key seen for the first time"},
			&cli.BoolFlag{Name: "sweep", Usage: "measure batch 1, 8, 64, 256 × threads 1, 2 and print one table with ratios to the fastest other backend"},
			&cli.BoolFlag{Name: "child", Hidden: true, Usage: "internal: run one backend in this process and print its JSON row"},
		},
		Action: benchAction,
	})
}

// benchRemote runs the same benchmark on a board over SSH (bench_remote.go;
// absent from board builds).
var benchRemote func(c *cli.Context, o bench.Options) ([]bench.Result, error)

func benchAction(c *cli.Context) error {
	nth, err := threads(c)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	o := bench.Options{Model: c.String("model"), ONNX: c.String("onnx"), Threads: nth, Batch: c.Int("batch"),
		Iterations: c.Int("iterations"), Warmup: c.Int("warmup")}
	if err := o.Check(); err != nil {
		return err
	}
	if c.Bool("child") {
		var t0 time.Time
		if ns, err := strconv.ParseInt(os.Getenv(bench.T0Env), 10, 64); err == nil {
			t0 = time.Unix(0, ns)
		}
		return json.NewEncoder(c.App.Writer).Encode(bench.Child(c.Context, o, c.String("backend"), t0))
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if c.Bool("sweep") {
		rs := bench.Sweep(c.Context, o, bench.Rows(c.String("backend")), exe, c.Bool("in-process"), []int{1, 8, 64, 256}, []int{1, 2})
		if c.Bool("json") {
			return writeJSON(c.App.Writer, rs)
		}
		bench.PrintSweep(c.App.Writer, o.Model, rs)
		return nil
	}
	var results []bench.Result
	for _, name := range bench.Rows(c.String("backend")) {
		results = append(results, bench.Run(c.Context, o, name, exe, c.Bool("in-process")))
	}
	if c.String("host") != "" {
		if benchRemote == nil {
			return fmt.Errorf("bench: --host runs on your computer (this is a board build without cross/deploy)")
		}
		remote, err := benchRemote(c, o)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", c.String("host"), err)
		}
		if c.Bool("json") {
			return writeJSON(c.App.Writer, map[string][]bench.Result{"host": results, "board": remote})
		}
		fmt.Fprintf(c.App.Writer, "== this machine\n")
		bench.Print(c.App.Writer, o, results)
		fmt.Fprintf(c.App.Writer, "\n== board %s (%s)\n", c.String("host"), c.String("board"))
		bench.Print(c.App.Writer, o, remote)
		return nil
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, results)
	}
	bench.Print(c.App.Writer, o, results)
	for _, r := range results {
		if r.Status == "error" {
			return fmt.Errorf("bench: backend %s failed: %s", r.Backend, r.Detail)
		}
	}
	return nil
}
