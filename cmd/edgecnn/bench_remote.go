//go:build !board

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/edgecnn/edgecnn/bench"
	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/deploy"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm/armmodel"
	"github.com/urfave/cli/v2"
)

func init() {
	benchRemote = benchOnBoard
	benchBoardModel = arm64ModelFor
}

// arm64ModelFor prints the instruction and memory counts of the arm64
// kernels for --board (make bench-arm64-model's row), or nothing for a
// board that runs no arm64 kernels.
func arm64ModelFor(c *cli.Context) (string, error) {
	b, err := boards.Lookup(c.String("board"))
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

// benchOnBoard cross-builds edgecnn for --board, ships it with the model to
// --host over SSH, runs the same benchmark there and returns its rows.
func benchOnBoard(c *cli.Context, o bench.Options) ([]bench.Result, error) {
	b, err := boards.Lookup(c.String("board"))
	if err != nil {
		return nil, err
	}
	t, err := deploy.ParseTarget(c.String("host"))
	if err != nil {
		return nil, err
	}
	root, err := cross.SourceTree()
	if err != nil {
		return nil, fmt.Errorf("--host builds the board binary from the edgecnn source tree: %w", err)
	}
	res, err := cross.Build(c.Context, cross.Request{Board: b, ModuleRoot: root, Log: c.App.ErrWriter})
	if err != nil {
		return nil, err
	}
	args := []string{"--backend", c.String("backend"), "--threads", strconv.Itoa(o.Threads), "--batch", strconv.Itoa(o.Batch),
		"--iterations", strconv.Itoa(o.Iterations), "--warmup", strconv.Itoa(o.Warmup)}
	ssh := deploy.SSHOptions{KnownHosts: c.String("known-hosts"), AcceptNewHostKey: c.Bool("accept-new-host-key"), Identity: c.String("identity")}
	out, err := deploy.RemoteBenchTarget(c.Context, t, ssh, res.Binary, o.Model, args)
	if err != nil {
		return nil, err
	}
	var rows []bench.Result
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, fmt.Errorf("the board's bench output is not the expected JSON: %w", err)
	}
	return rows, nil
}
