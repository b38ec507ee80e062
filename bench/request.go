package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/edgecnn/edgecnn/runtime"
)

// Request is what edgecnn bench was asked (the tags declare its flags;
// package cliflags). Options.Threads is a --threads value (0: one per CPU
// core).
type Request struct {
	Options
	Backend   string `flag:"backend" default:"all" usage:"all, or a comma list of native, tflite, tflite+xnnpack, onnxruntime"`
	InProcess bool   `flag:"in-process" usage:"run every backend in this process (no child processes, e.g. under qemu-user without binfmt); peak RSS is then the running maximum"`
	// Host, when set, also benchmarks on this board over SSH (see
	// Remote).
	Host   string `flag:"host" usage:"also benchmark on this board over SSH (user@addr[:port]): ships a cross-built binary and the model, prints the board's figures beside this machine's"`
	Board  string `flag:"board" default:"rpi4" usage:"with --host: the board to build for (see edgecnn boards)"`
	SSH    RemoteSSH
	Sweep  bool `flag:"sweep" usage:"measure batch 1, 8, 64, 256 × threads 1, 2 and print one table with ratios to the fastest other backend"`
	Repeat int  `flag:"repeat" default:"1" usage:"measure every row this many times, interleaved with the others; rows show the median and the range"`
	// PyTorch, when set (fp32 or int8), adds PyTorch as a row of the same
	// run (Peer).
	PyTorch       string `flag:"pytorch" usage:"also measure PyTorch in the same run: fp32, or int8 (static quantization, oneDNN): the seed CNN with random weights, run by --pytorch-script"`
	PyTorchScript string `flag:"pytorch-script" default:"bench/torch_infer.py" usage:"with --pytorch: the PyTorch peer script (serve mode)"`
	Python        string `flag:"python" default:"/usr/bin/python3" usage:"with --pytorch: the Python interpreter"`
	NoPeak        bool   `flag:"no-peak" usage:"do not measure the VNNI peak (int8 models: rows show their fraction of it)"`
	Child         bool   `flag:"child" hidden:"true" usage:"internal: run one backend in this process and print its JSON row"`
	Remote        func(ctx context.Context, r Request, log io.Writer) ([]Result, error)
	// RemoteModel, with Host, returns the board's arm64 kernel model (make
	// bench-arm64-model's row; "" for a board without arm64 kernels).
	RemoteModel func(board string) (string, error)
}

// RemoteSSH are the SSH settings of --host (deploy.SSHOptions).
type RemoteSSH struct {
	Identity         string `flag:"identity" usage:"with --host: private key file (default: ssh-agent, then ~/.ssh keys)"`
	KnownHosts       string `flag:"known-hosts" usage:"with --host: known_hosts file (default ~/.ssh/known_hosts)"`
	AcceptNewHostKey bool   `flag:"accept-new-host-key" usage:"with --host: trust and record a host key seen for the first time"`
}

// Outcome is what Execute measured, ready to print.
type Outcome struct {
	Options   Options
	Rows      []Result // this machine (or the sweep's cells)
	Board     []Result // the board's rows (--host)
	Sweep     bool
	Host      string // user@addr of Board
	BoardName string
	// ARM64Model is the board's arm64 kernel model (--host, arm64 boards).
	ARM64Model string
	// Peak is the VNNI peak and the model's MACs per image (nil: not
	// measured), for the thread counts in PeakThreads.
	Peak        *Peak
	PeakThreads []int
	// Load is the 1-minute load average before and after measuring.
	Load [2]string
}

// Execute runs the benchmark req asks for: every backend row on this
// machine, each in a child process started from exe (unless
// req.InProcess), as a sweep or, with req.Host, also on the board through
// req.Remote. Build progress goes to log.
func Execute(ctx context.Context, req Request, exe string, log io.Writer) (*Outcome, error) {
	o := req.Options
	var err error
	if o.Threads, err = runtime.Threads(o.Threads); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	if req.Repeat < 1 {
		return nil, fmt.Errorf("bench: --repeat must be ≥ 1")
	}
	out := &Outcome{Options: o, Sweep: req.Sweep, Host: req.Host, BoardName: req.Board, PeakThreads: []int{o.Threads}}
	var peers []*Peer
	if req.PyTorch != "" {
		p, err := StartPyTorch(ctx, req.Python, req.PyTorchScript, req.PyTorch)
		if err != nil {
			return nil, err
		}
		defer p.Close()
		peers = append(peers, p)
	}
	if req.Sweep {
		out.PeakThreads = []int{1, 2}
	}
	if !req.NoPeak {
		pk := MeasurePeak(o.Model, out.PeakThreads)
		out.Peak = &pk
	}
	out.Load[0] = LoadAverage()
	defer func() { out.Load[1] = LoadAverage() }()
	if req.Sweep {
		out.Rows = Sweep(ctx, o, Rows(req.Backend), exe, req.InProcess, []int{1, 8, 64, 256}, out.PeakThreads, peers, req.Repeat, out.Peak)
		return out, nil
	}
	out.Rows = Measure(ctx, o, Rows(req.Backend), exe, req.InProcess, []Column{{o.Batch, o.Threads}}, peers, req.Repeat, out.Peak)
	if req.Host == "" {
		return out, nil
	}
	if req.Remote == nil {
		return nil, fmt.Errorf("bench: --host runs on your computer (this is a board build without cross/deploy)")
	}
	req.Options = o
	if out.Board, err = req.Remote(ctx, req, log); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", req.Host, err)
	}
	if req.RemoteModel != nil {
		if out.ARM64Model, err = req.RemoteModel(req.Board); err != nil {
			return nil, fmt.Errorf("bench: arm64 model of %s: %w", req.Board, err)
		}
	}
	return out, nil
}

// RunChild is edgecnn bench --child: it measures req.Backend in this
// process and writes its JSON row to w. The parent's start time comes
// from $EDGECNN_BENCH_T0 (T0Env).
func RunChild(ctx context.Context, req Request, w io.Writer) error {
	o := req.Options
	var err error
	if o.Threads, err = runtime.Threads(o.Threads); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := o.Check(); err != nil {
		return err
	}
	var t0 time.Time
	if ns, err := strconv.ParseInt(os.Getenv(T0Env), 10, 64); err == nil {
		t0 = time.Unix(0, ns)
	}
	return json.NewEncoder(w).Encode(Child(ctx, o, req.Backend, t0))
}

// Write prints o as tables, or as JSON with asJSON (an array; with a
// board, {"host": [...], "board": [...]}). It returns an error when a
// backend failed on this machine (tables only, as before).
func (o *Outcome) Write(w io.Writer, asJSON bool) error {
	switch {
	case asJSON && o.Host != "":
		v := map[string]any{"host": o.Rows, "board": o.Board}
		if o.ARM64Model != "" {
			v["arm64_model"] = o.ARM64Model
		}
		return writeJSON(w, v)
	case asJSON && o.Sweep:
		return writeJSON(w, map[string]any{"rows": o.Rows, "peak": o.Peak, "load_average": o.Load})
	case asJSON:
		return writeJSON(w, o.Rows)
	case o.Sweep:
		PrintSweep(w, o.Options.Model, o.Rows)
		o.writeFooter(w)
		return nil
	case o.Host != "":
		fmt.Fprintf(w, "== this machine\n")
		Print(w, o.Options, o.Rows)
		o.writeFooter(w)
		fmt.Fprintf(w, "\n== board %s (%s)\n", o.Host, o.BoardName)
		Print(w, o.Options, o.Board)
		if o.ARM64Model != "" {
			fmt.Fprintf(w, "\n== %s: arm64 kernel model (make bench-arm64-model; qemu cannot time it)\n%s", o.BoardName, o.ARM64Model)
		}
		return nil
	}
	Print(w, o.Options, o.Rows)
	o.writeFooter(w)
	for _, r := range o.Rows {
		if r.Status == "error" {
			return fmt.Errorf("bench: backend %s failed: %s", r.Backend, r.Detail)
		}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeFooter prints the VNNI peak line (int8 models) and the load
// average before and after the measurements.
func (o *Outcome) writeFooter(w io.Writer) {
	if o.Peak != nil && o.Peak.Int8 {
		fmt.Fprintln(w, o.Peak.Line(o.PeakThreads))
	}
	fmt.Fprintf(w, "load average (1 min): %s before, %s after\n", o.Load[0], o.Load[1])
}
