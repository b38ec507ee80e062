//go:build board

package main

import (
	"context"
	"io"

	"github.com/edgecnn/edgecnn/bench"
	"github.com/urfave/cli/v2"
)

// Board builds (make build-board) leave out the host-side commands; the
// command list in app.go skips these nils.
func buildCommand() *cli.Command    { return nil }
func bundleCommand() *cli.Command   { return nil }
func dataCommand() *cli.Command     { return nil }
func evalCommand() *cli.Command     { return nil }
func exportCommand() *cli.Command   { return nil }
func flashCommand() *cli.Command    { return nil }
func inspectCommand() *cli.Command  { return nil }
func judgesetCommand() *cli.Command { return nil }
func photosetCommand() *cli.Command { return nil }
func pullCommand() *cli.Command     { return nil }
func quantizeCommand() *cli.Command { return nil }
func statusCommand() *cli.Command   { return nil }
func trainCommand() *cli.Command    { return nil }

// benchOnBoard is nil: bench --host needs cross and deploy.
var benchOnBoard func(context.Context, bench.Request, io.Writer) ([]bench.Result, error)

// benchBoardModel is nil too.
var benchBoardModel func(board string) (string, error)
