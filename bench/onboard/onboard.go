// Package onboard runs edgecnn bench on a board over SSH (edgecnn bench
// --host): it cross-builds edgecnn for the board from the source tree,
// ships it with the model and returns the board's rows. It is left out of
// board builds (it needs cross and deploy).
package onboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/edgecnn/edgecnn/bench"
	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/deploy"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm/armmodel"
)

// Run benchmarks req (Threads already resolved) on req.Host, a req.Board
// board; build progress goes to log. It fits bench.Request.Remote.
func Run(ctx context.Context, req bench.Request, log io.Writer) ([]bench.Result, error) {
	b, err := boards.Lookup(req.Board)
	if err != nil {
		return nil, err
	}
	t, err := deploy.ParseTarget(req.Host)
	if err != nil {
		return nil, err
	}
	root, err := cross.SourceTree()
	if err != nil {
		return nil, fmt.Errorf("--host builds the board binary from the edgecnn source tree: %w", err)
	}
	res, err := cross.Build(ctx, cross.Request{Board: b, ModuleRoot: root, Log: log})
	if err != nil {
		return nil, err
	}
	o := req.Options
	args := []string{"--backend", req.Backend, "--threads", strconv.Itoa(o.Threads), "--batch", strconv.Itoa(o.Batch),
		"--iterations", strconv.Itoa(o.Iterations), "--warmup", strconv.Itoa(o.Warmup)}
	ssh := deploy.SSHOptions{KnownHosts: req.SSH.KnownHosts, AcceptNewHostKey: req.SSH.AcceptNewHostKey, Identity: req.SSH.Identity}
	out, err := deploy.RemoteBenchTarget(ctx, t, ssh, res.Binary, o.Model, args)
	if err != nil {
		return nil, err
	}
	var rows []bench.Result
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, fmt.Errorf("the board's bench output is not the expected JSON: %w", err)
	}
	return rows, nil
}

// ARM64Model returns the instruction and memory counts of the arm64
// kernels for board (make bench-arm64-model's row, from the source tree's
// generated kernels), or "" for a board that runs no arm64 kernels. It
// fits bench.Request.RemoteModel.
func ARM64Model(board string) (string, error) {
	b, err := boards.Lookup(board)
	if err != nil {
		return "", err
	}
	if _, _, _, ok := armmodel.KernelsFor(b); !ok {
		return "", nil
	}
	root, err := cross.SourceTree()
	if err != nil {
		return "", err
	}
	var buf strings.Builder
	err = armmodel.WriteForBoard(&buf, root, b)
	return buf.String(), err
}
