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
	Child  bool `flag:"child" hidden:"true" usage:"internal: run one backend in this process and print its JSON row"`
	Remote func(ctx context.Context, r Request, log io.Writer) ([]Result, error)
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
	out := &Outcome{Options: o, Sweep: req.Sweep, Host: req.Host, BoardName: req.Board}
	if req.Sweep {
		out.Rows = Sweep(ctx, o, Rows(req.Backend), exe, req.InProcess, []int{1, 8, 64, 256}, []int{1, 2})
		return out, nil
	}
	for _, name := range Rows(req.Backend) {
		out.Rows = append(out.Rows, Run(ctx, o, name, exe, req.InProcess))
	}
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
		return writeJSON(w, map[string][]Result{"host": o.Rows, "board": o.Board})
	case asJSON:
		return writeJSON(w, o.Rows)
	case o.Sweep:
		PrintSweep(w, o.Options.Model, o.Rows)
		return nil
	case o.Host != "":
		fmt.Fprintf(w, "== this machine\n")
		Print(w, o.Options, o.Rows)
		fmt.Fprintf(w, "\n== board %s (%s)\n", o.Host, o.BoardName)
		Print(w, o.Options, o.Board)
		return nil
	}
	Print(w, o.Options, o.Rows)
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
