package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Peer is an outside engine measured in the same run as edgecnn's
// backends: bench/torch_infer.py --serve (PyTorch fp32, or int8 with
// static quantization on oneDNN), one long-lived process that answers one
// measurement per request, so that its rows interleave with the others.
type Peer struct {
	Name string // the backend name of its rows (pytorch-fp32, pytorch-int8-onednn)
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	err  strings.Builder
}

// StartPyTorch starts script (bench/torch_infer.py) with python in
// serve mode for kind "fp32" or "int8" and waits until its model is built.
func StartPyTorch(ctx context.Context, python, script, kind string) (*Peer, error) {
	if kind != "fp32" && kind != "int8" {
		return nil, fmt.Errorf("bench: --pytorch %q: want fp32 or int8", kind)
	}
	p := &Peer{}
	p.cmd = exec.CommandContext(ctx, python, script, "--serve", kind)
	p.cmd.Stderr = &p.err
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("bench: pytorch peer: %w", err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: pytorch peer: %w", err)
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: pytorch peer (%s %s): %w", python, script, err)
	}
	p.out = bufio.NewScanner(stdout)
	p.out.Buffer(make([]byte, 64<<10), 64<<10)
	var hello struct{ Backend, Status string }
	if err := p.read(&hello); err != nil || hello.Status != "ready" {
		p.Close()
		return nil, fmt.Errorf("bench: pytorch peer did not start (%v): %s", err, lastLine(p.err.String()))
	}
	p.Name = hello.Backend
	return p, nil
}

func (p *Peer) read(v any) error {
	if !p.out.Scan() {
		if err := p.out.Err(); err != nil {
			return err
		}
		return errors.New("peer exited")
	}
	return json.Unmarshal(p.out.Bytes(), v)
}

// Measure asks the peer for one row at o's batch and threads (about 2 s
// of timed runs, or o.Iterations' worth of at least 20 when set).
func (p *Peer) Measure(o Options) Result {
	res := Result{Backend: p.Name, Batch: o.Batch, Threads: o.Threads}
	secs := 2.0
	if o.Iterations > 0 {
		secs = 0 // the peer then times its minimum of 20 runs
	}
	if _, err := fmt.Fprintf(p.in, "%d %d %g\n", o.Batch, o.Threads, secs); err != nil {
		res.Status, res.Detail = "error", err.Error()
		return res
	}
	if err := p.read(&res); err != nil {
		res.Status, res.Detail = "error", fmt.Sprintf("%v: %s", err, lastLine(p.err.String()))
	}
	return res
}

// Close ends the peer process.
func (p *Peer) Close() error {
	if p.in != nil {
		p.in.Close()
	}
	if p.cmd != nil && p.cmd.Process != nil {
		return p.cmd.Wait()
	}
	return nil
}
