// Package bench measures engines side by side: latency (p50/p99),
// throughput, peak RSS and cold start of each backend on the same model,
// each in its own child process (an edgecnn binary run as
// "edgecnn bench --child"), so that memory and start-up are its own.
// edgecnn bench is a thin command over it.
package bench

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
)

// Options describe one benchmark: the model (and its .onnx twin for
// onnxruntime), threads per engine, images per Run, timed and warm-up Runs
// (Iterations 0: about 2 s worth, at least 20).
//
// The tags declare edgecnn bench's flags (package cliflags).
type Options struct {
	Model      string `flag:"model" required:"true" usage:".tflite model to run"`
	ONNX       string `flag:"onnx" usage:".onnx model for onnxruntime (default: --model with extension .onnx)"`
	Threads    int    `flag:"threads"`
	Batch      int    `flag:"batch" default:"1" usage:"images per Run"`
	Iterations int    `flag:"iterations" usage:"timed Runs per backend (0: about 2 s worth, at least 20)"`
	Warmup     int    `flag:"warmup" default:"10" usage:"untimed Runs before timing"`
}

// Check validates o and fills in the .onnx twin.
func (o *Options) Check() error {
	if o.Threads < 1 || o.Batch < 1 || o.Batch > 1<<16 || o.Iterations < 0 || o.Warmup < 0 {
		return fmt.Errorf("bench: --threads and --batch must be ≥ 1 (batch ≤ 65536), --iterations and --warmup ≥ 0")
	}
	if _, err := os.Stat(o.Model); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if o.ONNX == "" {
		o.ONNX = strings.TrimSuffix(o.Model, filepath.Ext(o.Model)) + ".onnx"
	}
	return nil
}

// Rows lists the backend rows of a --backend value: "all" or a comma list.
func Rows(spec string) []string {
	if spec == "all" {
		var rows []string
		for _, b := range Backends {
			rows = append(rows, b.Name)
		}
		return rows
	}
	var rows []string
	for _, r := range strings.Split(spec, ",") {
		rows = append(rows, strings.TrimSpace(r))
	}
	return rows
}

// T0Env carries the parent's start time of a child (unix nanoseconds), from
// which the child measures its cold start.
const T0Env = "EDGECNN_BENCH_T0"

// Backend is one row of --backend all: its name, the registry backend that
// runs it, and the build tag that compiles that backend in.
type Backend struct{ Name, Registry, Tag string }

// Backends are the rows of --backend all, in order.
var Backends = []Backend{
	{"native", "native", ""},
	{"tflite", "tflite", "tflite"},
	{"tflite+xnnpack", "tflite", "tflite"},
	{"onnxruntime", "onnxruntime", "onnxruntime"},
}

// Result is one row of edgecnn bench.
type Result struct {
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
	// Runs holds images/s of every repeat (--repeat); the row is the
	// median repeat.
	Runs []float64 `json:"runs_images_per_s,omitempty"`
	// CPUusPerImage is the process CPU time of the timed runs per image
	// (all threads): on a loaded machine steadier than wall time.
	CPUusPerImage float64 `json:"cpu_us_per_image,omitempty"`
	// PeakFrac is images/s × MACs per image over the VNNI peak of as many
	// cores as threads (int8 models where the peak was measured).
	PeakFrac float64 `json:"vnni_peak_frac,omitempty"`
}

// Run measures one backend row: in a child process (exe, an edgecnn
// binary, run as "bench --child"), or in this process when inProcess.
func Run(ctx context.Context, o Options, name, exe string, inProcess bool) Result {
	res := Result{Backend: name, Batch: o.Batch, Threads: o.Threads, Model: o.Model}
	i := slices.IndexFunc(Backends, func(b Backend) bool { return b.Name == name })
	if i < 0 {
		res.Status, res.Detail = "error", fmt.Sprintf("unknown backend %q (want native, tflite, tflite+xnnpack, onnxruntime)", name)
		return res
	}
	bb := Backends[i]
	if !slices.Contains(runtime.Backends(), bb.Registry) {
		res.Status, res.Detail = "not built in", fmt.Sprintf("build tag %s", bb.Tag)
		return res
	}
	if bb.Registry == "onnxruntime" {
		res.Model = o.ONNX
		if _, err := os.Stat(o.ONNX); err != nil {
			res.Status, res.Detail = "skipped", fmt.Sprintf("no .onnx twin %s (pass --onnx)", o.ONNX)
			return res
		}
	}
	if inProcess {
		r := Child(ctx, o, name, time.Now())
		if rss, ok := selfMaxRSSBytes(); ok {
			r.PeakRSSMB = float64(rss) / (1 << 20)
		}
		return r
	}
	args := []string{"bench", "--child", "--model", o.Model, "--onnx", o.ONNX, "--backend", name,
		"--threads", strconv.Itoa(o.Threads), "--batch", strconv.Itoa(o.Batch),
		"--iterations", strconv.Itoa(o.Iterations), "--warmup", strconv.Itoa(o.Warmup)}
	cmd := exec.CommandContext(ctx, exe, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), T0Env+"="+strconv.FormatInt(time.Now().UnixNano(), 10))
	err := cmd.Run()
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

// Child opens and times one backend row in this process; cold start is
// measured from t0 (the child's start as seen by the parent, or just before
// Open in-process; zero: not measured).
func Child(ctx context.Context, o Options, name string, t0 time.Time) Result {
	res := Result{Backend: name, Batch: o.Batch, Threads: o.Threads, Model: o.Model, Status: "ok"}
	fail := func(err error) Result {
		res.Status, res.Detail = "error", err.Error()
		return res
	}
	opt := runtime.Options{Threads: o.Threads}
	backend, path := name, o.Model
	switch name {
	case "tflite+xnnpack":
		backend, opt.XNNPACK = "tflite", true
	case "onnxruntime":
		path = o.ONNX
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
	in := make([]float32, o.Batch*per)
	for i := range in {
		in[i] = float32((r.Float64() - 0.1307) / 0.3081)
	}
	out := make([]float32, o.Batch*nout)
	if err := e.Run(ctx, in, o.Batch, out); err != nil {
		return fail(err)
	}
	if !t0.IsZero() {
		res.ColdStartMs = float64(time.Since(t0)) / 1e6
	}
	for i := 0; i < o.Warmup; i++ {
		if err := e.Run(ctx, in, o.Batch, out); err != nil {
			return fail(err)
		}
	}
	iters := o.Iterations
	if iters == 0 {
		t := time.Now()
		if err := e.Run(ctx, in, o.Batch, out); err != nil {
			return fail(err)
		}
		iters = max(20, min(100000, int(2*time.Second/max(time.Since(t), time.Microsecond))))
	}
	lat := make([]time.Duration, iters)
	cpu0, cpuOK := selfCPUTime()
	start := time.Now()
	for i := range lat {
		t := time.Now()
		if err := e.Run(ctx, in, o.Batch, out); err != nil {
			return fail(err)
		}
		lat[i] = time.Since(t)
	}
	total := time.Since(start)
	if cpu1, ok := selfCPUTime(); ok && cpuOK {
		res.CPUusPerImage = float64(cpu1-cpu0) / 1e3 / float64(o.Batch*iters)
	}
	slices.Sort(lat)
	res.Iterations = iters
	res.P50us = float64(lat[len(lat)/2]) / 1e3
	res.P99us = float64(lat[min(len(lat)-1, len(lat)*99/100)]) / 1e3
	res.ImagesPerS = float64(o.Batch*iters) / total.Seconds()
	return res
}

// Print writes the rows as a table for people. Every figure is followed
// by its ratio to the best other row of the table (fastest, smallest),
// oriented so that > 1× means better than every other row; with repeats,
// images/s shows the range of the repeats; an int8 row measured against
// the VNNI peak shows its fraction of it.
func Print(w io.Writer, o Options, rs []Result) {
	fmt.Fprintf(w, "model %s  batch %d  threads %d  (×: ratio to the best other row, > 1 is better)\n", o.Model, o.Batch, o.Threads)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\tp50\tp99\timages/s\tCPU/image\tpeak RSS\tcold start\tof VNNI peak\t\tnote\t")
	lower := func(f func(Result) float64) func(Result) string {
		return func(r Result) string { return ratio(rs, r, f, true) }
	}
	p50 := lower(func(r Result) float64 { return r.P50us })
	p99 := lower(func(r Result) float64 { return r.P99us })
	rss := lower(func(r Result) float64 { return r.PeakRSSMB })
	cold := lower(func(r Result) float64 { return r.ColdStartMs })
	cpu := lower(func(r Result) float64 { return r.CPUusPerImage })
	for _, r := range rs {
		if r.Status != "ok" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t\t%s (%s)\t\n", r.Backend, r.Status, r.Detail)
			continue
		}
		note := filepath.Base(r.Model)
		if r.Model == "" {
			note = "same architecture, random weights"
		}
		if r.Kernel != "" {
			note += ", kernel " + r.Kernel
		}
		ips := fmt.Sprintf("%.0f%s%s", r.ImagesPerS, runRange(r), ratio(rs, r, func(r Result) float64 { return r.ImagesPerS }, false))
		frac := "-"
		if r.PeakFrac > 0 {
			frac = fmt.Sprintf("%.0f%%", 100*r.PeakFrac)
		}
		cpuText := "-"
		if r.CPUusPerImage > 0 {
			cpuText = fmtUs(r.CPUusPerImage) + cpu(r)
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s%s\t%s\t%s\t%s%s\t%s%s\t%s\t\t%s\t\n", r.Backend, fmtUs(r.P50us), p50(r), fmtUs(r.P99us), p99(r), ips,
			cpuText, fmtMB(r.PeakRSSMB), rss(r), fmtMs(r.ColdStartMs), cold(r), frac, note)
	}
	tw.Flush()
}

// ratio is " (x.xx×)": r's figure against the best other ok row with that
// figure (lowerBetter: best/r, else r/best), or "" when there is none.
func ratio(rs []Result, r Result, f func(Result) float64, lowerBetter bool) string {
	v := f(r)
	if v <= 0 {
		return ""
	}
	best := 0.0
	for _, p := range rs {
		if p.Backend == r.Backend || p.Status != "ok" || f(p) <= 0 {
			continue
		}
		if best == 0 || (lowerBetter && f(p) < best) || (!lowerBetter && f(p) > best) {
			best = f(p)
		}
	}
	if best == 0 {
		return ""
	}
	if lowerBetter {
		return fmt.Sprintf(" (%.2f×)", best/v)
	}
	return fmt.Sprintf(" (%.2f×)", v/best)
}

// runRange is " [min–max]" of the repeats' images/s, or "".
func runRange(r Result) string {
	if len(r.Runs) < 2 {
		return ""
	}
	return fmt.Sprintf(" [%.0f–%.0f]", slices.Min(r.Runs), slices.Max(r.Runs))
}

func fmtMB(mb float64) string {
	if mb <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB", mb)
}

func fmtMs(ms float64) string {
	if ms <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", ms)
}

func fmtUs(us float64) string {
	if us >= 10000 {
		return fmt.Sprintf("%.2f ms", us/1000)
	}
	return fmt.Sprintf("%.1f µs", us)
}

// Column is one batch × threads setting.
type Column struct{ Batch, Threads int }

// Measure runs every backend row and every peer at every column, repeat
// times (≥ 1), interleaved: each round measures all columns, each column
// all rows in turn, so that load from outside falls on all rows alike.
// Each returned row is the median repeat of its backend and column, with
// Runs listing every repeat's images/s; pk (optional) fills PeakFrac.
func Measure(ctx context.Context, o Options, rows []string, exe string, inProcess bool, cols []Column, peers []*Peer, repeat int, pk *Peak) []Result {
	type key struct {
		name string
		col  Column
	}
	all := map[key][]Result{}
	var order []key
	for rep := 0; rep < max(repeat, 1); rep++ {
		for _, c := range cols {
			oo := o
			oo.Batch, oo.Threads = c.Batch, c.Threads
			var got []Result
			for _, name := range rows {
				got = append(got, Run(ctx, oo, name, exe, inProcess))
			}
			for _, p := range peers {
				got = append(got, p.Measure(oo))
			}
			for _, r := range got {
				k := key{r.Backend, c}
				if rep == 0 {
					order = append(order, k)
				}
				all[k] = append(all[k], r)
			}
		}
	}
	var out []Result
	for _, k := range order {
		rs := all[k]
		var ok []Result
		for _, r := range rs {
			if r.Status == "ok" {
				ok = append(ok, r)
			}
		}
		if len(ok) == 0 {
			out = append(out, rs[0])
			continue
		}
		slices.SortFunc(ok, func(a, b Result) int { return cmpFloat(a.ImagesPerS, b.ImagesPerS) })
		med := ok[len(ok)/2]
		if len(rs) > 1 {
			med.Runs = nil
			for _, r := range ok {
				med.Runs = append(med.Runs, r.ImagesPerS)
			}
		}
		if pk != nil && pk.Int8 {
			med.PeakFrac = pk.Fraction(med.ImagesPerS, med.Threads)
		}
		out = append(out, med)
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Sweep measures every backend row (and peer) at every batch × threads
// combination (edgecnn bench --sweep): Measure over those columns.
func Sweep(ctx context.Context, o Options, rows []string, exe string, inProcess bool, batches, threads []int, peers []*Peer, repeat int, pk *Peak) []Result {
	var cols []Column
	for _, b := range batches {
		for _, t := range threads {
			cols = append(cols, Column{b, t})
		}
	}
	return Measure(ctx, o, rows, exe, inProcess, cols, peers, repeat, pk)
}

// PrintSweep writes a sweep as one table: a row per backend, a column per
// batch × threads, each cell images/s and the ratio to the fastest other
// backend of the same column (> 1: faster than every peer).
func PrintSweep(w io.Writer, model string, rs []Result) {
	type col struct{ batch, threads int }
	var cols []col
	var names []string
	cell := map[string]map[col]Result{}
	for _, r := range rs {
		c := col{r.Batch, r.Threads}
		if !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
		if cell[r.Backend] == nil {
			cell[r.Backend] = map[col]Result{}
			names = append(names, r.Backend)
		}
		cell[r.Backend][c] = r
	}
	fmt.Fprintf(w, "model %s: images/s ([range of the repeats] (ratio to the fastest other row of the column) %%pk: of the VNNI peak)\n", model)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "backend\t")
	for _, c := range cols {
		fmt.Fprintf(tw, "batch %d × %d thr\t", c.batch, c.threads)
	}
	fmt.Fprintln(tw)
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t", n)
		for _, c := range cols {
			r, ok := cell[n][c]
			if !ok || r.Status != "ok" {
				fmt.Fprint(tw, "-\t")
				continue
			}
			best := 0.0
			for _, m := range names {
				if p, ok := cell[m][c]; ok && m != n && p.Status == "ok" {
					best = max(best, p.ImagesPerS)
				}
			}
			cellText := fmt.Sprintf("%.0f%s", r.ImagesPerS, runRange(r))
			if best > 0 {
				cellText += fmt.Sprintf(" (%.2f×)", r.ImagesPerS/best)
			}
			if r.PeakFrac > 0 {
				cellText += fmt.Sprintf(" %.0f%%pk", 100*r.PeakFrac)
			}
			fmt.Fprintf(tw, "%s\t", cellText)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
