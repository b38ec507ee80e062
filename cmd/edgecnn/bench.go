package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm"
	_ "github.com/edgecnn/edgecnn/runtime/native" // registers "native"
	"github.com/urfave/cli/v2"
)

// benchBackends are the rows of `--backend all`, in order: registry name,
// whether XNNPACK is on, and the build tag that compiles the backend in.
var benchBackends = []struct{ name, backend, tag string }{
	{"native", "native", ""},
	{"tflite", "tflite", "tflite"},
	{"tflite+xnnpack", "tflite", "tflite"},
	{"onnxruntime", "onnxruntime", "onnxruntime"},
}

// BenchResult is one row of `edgecnn bench`.
type BenchResult struct {
	Backend     string  `json:"backend"`
	Model       string  `json:"model,omitempty"`
	Status      string  `json:"status"` // "ok", "not built in", "skipped", "error"
	Detail      string  `json:"detail,omitempty"`
	Kernel      string  `json:"kernel,omitempty"` // native: the int8 GEMM kernel
	Batch       int     `json:"batch"`
	Threads     int     `json:"threads"`
	Iterations  int     `json:"iterations,omitempty"`
	P50us       float64 `json:"p50_us,omitempty"` // latency of one Run (batch images)
	P99us       float64 `json:"p99_us,omitempty"`
	ImagesPerS  float64 `json:"images_per_s,omitempty"`
	PeakRSSMB   float64 `json:"peak_rss_mb,omitempty"`   // of the process that ran only this backend
	ColdStartMs float64 `json:"cold_start_ms,omitempty"` // process start to first prediction
}

func init() {
	register(&cli.Command{
		Name:  "bench",
		Usage: "measure latency (p50/p99), throughput and peak RSS of backends side by side",
		Description: `Each backend runs in its own child process (so peak RSS and cold start are
its own): cold start is the time from starting that process to the first
prediction. Inputs are random normalized images (speed does not depend on
values). ONNX Runtime runs the .onnx twin of --model (same path, .onnx
extension) unless --onnx names one. Backends not compiled into this binary
are listed as "not built in" with the build tag that adds them.`,
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
			&cli.BoolFlag{Name: "child", Hidden: true, Usage: "internal: run one backend in this process and print its JSON row"},
		},
		Action: benchAction,
	})
}

// benchRemote runs the same benchmark on a board over SSH (bench_remote.go;
// absent from board builds).
var benchRemote func(c *cli.Context, o benchOpts) ([]BenchResult, error)

type benchOpts struct {
	model, onnx      string
	threads, batch   int
	iters, warmup    int
	backend, display string
	xnnpack          bool
}

func benchAction(c *cli.Context) error {
	nth, err := threads(c)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	o := benchOpts{model: c.String("model"), onnx: c.String("onnx"), threads: nth, batch: c.Int("batch"),
		iters: c.Int("iterations"), warmup: c.Int("warmup")}
	if o.threads < 1 || o.batch < 1 || o.batch > 1<<16 || o.iters < 0 || o.warmup < 0 {
		return fmt.Errorf("bench: --threads and --batch must be ≥ 1 (batch ≤ 65536), --iterations and --warmup ≥ 0")
	}
	if _, err := os.Stat(o.model); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if o.onnx == "" {
		o.onnx = strings.TrimSuffix(o.model, filepath.Ext(o.model)) + ".onnx"
	}
	if c.Bool("child") {
		o.display = c.String("backend")
		var t0 time.Time
		if ns, err := strconv.ParseInt(os.Getenv("EDGECNN_BENCH_T0"), 10, 64); err == nil {
			t0 = time.Unix(0, ns)
		}
		r := benchChild(c.Context, o, t0)
		return json.NewEncoder(c.App.Writer).Encode(r)
	}
	var rows []string
	if b := c.String("backend"); b == "all" {
		for _, bb := range benchBackends {
			rows = append(rows, bb.name)
		}
	} else {
		rows = strings.Split(b, ",")
	}
	var results []BenchResult
	t0 := time.Now()
	for _, name := range rows {
		results = append(results, benchOne(c, o, strings.TrimSpace(name), c.Bool("in-process"), t0))
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
			enc := json.NewEncoder(c.App.Writer)
			enc.SetIndent("", "  ")
			return enc.Encode(map[string][]BenchResult{"host": results, "board": remote})
		}
		fmt.Fprintf(c.App.Writer, "== this machine\n")
		printBench(c.App.Writer, o, results)
		fmt.Fprintf(c.App.Writer, "\n== board %s (%s)\n", c.String("host"), c.String("board"))
		printBench(c.App.Writer, o, remote)
		return nil
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(results)
	}
	printBench(c.App.Writer, o, results)
	for _, r := range results {
		if r.Status == "error" {
			return fmt.Errorf("bench: backend %s failed: %s", r.Backend, r.Detail)
		}
	}
	return nil
}

// benchOne runs one backend row in a child process.
func benchOne(c *cli.Context, o benchOpts, name string, inProcess bool, t0 time.Time) BenchResult {
	res := BenchResult{Backend: name, Batch: o.batch, Threads: o.threads, Model: o.model}
	i := slices.IndexFunc(benchBackends, func(b struct{ name, backend, tag string }) bool { return b.name == name })
	if i < 0 {
		res.Status, res.Detail = "error", fmt.Sprintf("unknown backend %q (want native, tflite, tflite+xnnpack, onnxruntime)", name)
		return res
	}
	bb := benchBackends[i]
	if !slices.Contains(runtime.Backends(), bb.backend) {
		res.Status, res.Detail = "not built in", fmt.Sprintf("build tag %s", bb.tag)
		return res
	}
	if bb.backend == "onnxruntime" {
		res.Model = o.onnx
		if _, err := os.Stat(o.onnx); err != nil {
			res.Status, res.Detail = "skipped", fmt.Sprintf("no .onnx twin %s (pass --onnx)", o.onnx)
			return res
		}
	}
	if inProcess {
		o.display = name
		r := benchChild(c.Context, o, time.Now())
		if rss, ok := selfMaxRSSBytes(); ok {
			r.PeakRSSMB = float64(rss) / (1 << 20)
		}
		return r
	}
	exe, err := os.Executable()
	if err != nil {
		res.Status, res.Detail = "error", err.Error()
		return res
	}
	args := []string{"bench", "--child", "--model", o.model, "--onnx", o.onnx, "--backend", name,
		"--threads", strconv.Itoa(o.threads), "--batch", strconv.Itoa(o.batch),
		"--iterations", strconv.Itoa(o.iters), "--warmup", strconv.Itoa(o.warmup)}
	cmd := exec.CommandContext(c.Context, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "EDGECNN_BENCH_T0="+strconv.FormatInt(time.Now().UnixNano(), 10))
	err = cmd.Run()
	if err == nil {
		err = json.Unmarshal(stdout.Bytes(), &res)
	}
	if err != nil {
		res.Status, res.Detail = "error", strings.TrimSpace(fmt.Sprintf("%v: %s", err, lastLine(stderr.String())))
		return res
	}
	if rss, ok := maxRSSBytes(cmd.ProcessState); ok {
		res.PeakRSSMB = float64(rss) / (1 << 20)
	}
	return res
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// benchChild opens and times one backend in this process; cold start is
// measured from t0 (the child's start as seen by the parent, or just before
// Open in-process; zero: not measured).
func benchChild(ctx context.Context, o benchOpts, t0 time.Time) BenchResult {
	res := BenchResult{Backend: o.display, Batch: o.batch, Threads: o.threads, Model: o.model, Status: "ok"}
	fail := func(err error) BenchResult {
		res.Status, res.Detail = "error", err.Error()
		return res
	}
	opt := runtime.Options{Threads: o.threads}
	backend, path := o.display, o.model
	switch o.display {
	case "tflite+xnnpack":
		backend, opt.XNNPACK = "tflite", true
	case "onnxruntime":
		path = o.onnx
	}
	res.Model = path
	e, err := runtime.Open(backend, path, opt)
	if err != nil {
		return fail(err)
	}
	defer e.Close()
	if backend == "native" {
		res.Kernel = qgemm.Kernel()
	}
	per := 1
	for _, d := range e.Input().Shape[1:] {
		per *= d
	}
	nout := 1
	for _, d := range e.Output().Shape[1:] {
		nout *= d
	}
	r := rand.New(rand.NewPCG(1, 2))
	in := make([]float32, o.batch*per)
	for i := range in {
		in[i] = float32((r.Float64() - 0.1307) / 0.3081)
	}
	out := make([]float32, o.batch*nout)
	if err := e.Run(ctx, in, o.batch, out); err != nil {
		return fail(err)
	}
	if !t0.IsZero() {
		res.ColdStartMs = float64(time.Since(t0)) / 1e6
	}
	for i := 0; i < o.warmup; i++ {
		if err := e.Run(ctx, in, o.batch, out); err != nil {
			return fail(err)
		}
	}
	iters := o.iters
	if iters == 0 {
		t := time.Now()
		if err := e.Run(ctx, in, o.batch, out); err != nil {
			return fail(err)
		}
		iters = max(20, min(100000, int(2*time.Second/max(time.Since(t), time.Microsecond))))
	}
	lat := make([]time.Duration, iters)
	start := time.Now()
	for i := range lat {
		t := time.Now()
		if err := e.Run(ctx, in, o.batch, out); err != nil {
			return fail(err)
		}
		lat[i] = time.Since(t)
	}
	total := time.Since(start)
	slices.Sort(lat)
	res.Iterations = iters
	res.P50us = float64(lat[len(lat)/2]) / 1e3
	res.P99us = float64(lat[min(len(lat)-1, len(lat)*99/100)]) / 1e3
	res.ImagesPerS = float64(o.batch*iters) / total.Seconds()
	return res
}

func printBench(w io.Writer, o benchOpts, rs []BenchResult) {
	fmt.Fprintf(w, "model %s  batch %d  threads %d\n", o.model, o.batch, o.threads)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\tp50\tp99\timages/s\tpeak RSS\tcold start\t\tnote\t")
	for _, r := range rs {
		if r.Status != "ok" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t\t%s (%s)\t\n", r.Backend, r.Status, r.Detail)
			continue
		}
		note := filepath.Base(r.Model)
		if r.Kernel != "" {
			note += ", kernel " + r.Kernel
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.1f MB\t%.1f ms\t\t%s\t\n", r.Backend, fmtUs(r.P50us), fmtUs(r.P99us), r.ImagesPerS, r.PeakRSSMB, r.ColdStartMs, note)
	}
	tw.Flush()
}

func fmtUs(us float64) string {
	if us >= 10000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.1f µs", us)
}
