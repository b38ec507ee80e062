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
			&cli.IntFlag{Name: "repeat", Value: 1, Usage: "measure every row this many times, interleaved with the others; rows show the median and the range"},
			&cli.StringFlag{Name: "pytorch", Usage: "also measure PyTorch in the same run: fp32, or int8 (static quantization, oneDNN) — the seed CNN with random weights, run by --pytorch-script"},
			&cli.StringFlag{Name: "pytorch-script", Value: "bench/torch_infer.py", Usage: "with --pytorch: the PyTorch peer script (serve mode)"},
			&cli.StringFlag{Name: "python", Value: "/usr/bin/python3", Usage: "with --pytorch: the Python interpreter"},
			&cli.BoolFlag{Name: "no-peak", Usage: "do not measure the VNNI peak (int8 models: rows show their fraction of it)"},
			&cli.BoolFlag{Name: "child", Hidden: true, Usage: "internal: run one backend in this process and print its JSON row"},
		},
		Action: benchAction,
	})
}

// benchRemote runs the same benchmark on a board over SSH (bench_remote.go;
// absent from board builds).
var benchRemote func(c *cli.Context, o bench.Options) ([]bench.Result, error)

// benchBoardModel prints the arm64 kernel model of --board ("" for a
// board without arm64 kernels; bench_remote.go).
var benchBoardModel func(c *cli.Context) (string, error)

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
	var peers []*bench.Peer
	if k := c.String("pytorch"); k != "" {
		p, err := bench.StartPyTorch(c.Context, c.String("python"), c.String("pytorch-script"), k)
		if err != nil {
			return err
		}
		defer p.Close()
		peers = append(peers, p)
	}
	threadCols := []int{o.Threads}
	if c.Bool("sweep") {
		threadCols = []int{1, 2}
	}
	var pk *bench.Peak
	if !c.Bool("no-peak") {
		p := bench.MeasurePeak(o.Model, threadCols)
		pk = &p
	}
	load0 := bench.LoadAverage()
	if c.Bool("sweep") {
		rs := bench.Sweep(c.Context, o, bench.Rows(c.String("backend")), exe, c.Bool("in-process"), []int{1, 8, 64, 256}, threadCols, peers, c.Int("repeat"), pk)
		if c.Bool("json") {
			return writeJSON(c.App.Writer, map[string]any{"rows": rs, "peak": pk, "load_average": []string{load0, bench.LoadAverage()}})
		}
		bench.PrintSweep(c.App.Writer, o.Model, rs)
		printPeak(c, pk, threadCols, load0)
		return nil
	}
	results := bench.Measure(c.Context, o, bench.Rows(c.String("backend")), exe, c.Bool("in-process"),
		[]bench.Column{{Batch: o.Batch, Threads: o.Threads}}, peers, c.Int("repeat"), pk)
	if c.String("host") != "" {
		if benchRemote == nil {
			return fmt.Errorf("bench: --host runs on your computer (this is a board build without cross/deploy)")
		}
		remote, err := benchRemote(c, o)
		if err != nil {
			return fmt.Errorf("bench: %s: %w", c.String("host"), err)
		}
		model, err := benchBoardModel(c)
		if err != nil {
			return fmt.Errorf("bench: arm64 model of %s: %w", c.String("board"), err)
		}
		if c.Bool("json") {
			out := map[string]any{"host": results, "board": remote}
			if model != "" {
				out["arm64_model"] = model
			}
			return writeJSON(c.App.Writer, out)
		}
		fmt.Fprintf(c.App.Writer, "== this machine\n")
		bench.Print(c.App.Writer, o, results)
		fmt.Fprintf(c.App.Writer, "\n== board %s (%s)\n", c.String("host"), c.String("board"))
		bench.Print(c.App.Writer, o, remote)
		if model != "" {
			fmt.Fprintf(c.App.Writer, "\n== %s: arm64 kernel model (make bench-arm64-model; qemu cannot time it)\n%s", c.String("board"), model)
		}
		return nil
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, results)
	}
	bench.Print(c.App.Writer, o, results)
	printPeak(c, pk, threadCols, load0)
	for _, r := range results {
		if r.Status == "error" {
			return fmt.Errorf("bench: backend %s failed: %s", r.Backend, r.Detail)
		}
	}
	return nil
}

// printPeak prints the VNNI peak line (int8 models) and the load average
// before and after the measurements.
func printPeak(c *cli.Context, pk *bench.Peak, threads []int, load0 string) {
	if pk != nil && pk.Int8 {
		fmt.Fprintln(c.App.Writer, pk.Line(threads))
	}
	fmt.Fprintf(c.App.Writer, "load average (1 min): %s before, %s after\n", load0, bench.LoadAverage())
}
