//go:build !board

package main

import (
	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/cross/oci"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func buildCommand() *cli.Command {
	var req oci.BuildRequest
	return &cli.Command{
		Name:  "build",
		Usage: "cross-compile edgecnn for a board (pure Go, or with the cgo tflite/onnxruntime backends and their libraries in lib/), optionally as an OCI container image",
		Description: `With --image oci:DIR[:TAG] and/or --push REGISTRY/REPO:TAG, the build is also packed into a
base-less OCI image (binary, model, bundled libraries, labels, entrypoint "edgecnn run", a
healthcheck) in pure Go, no Docker daemon; several --board give one multi-arch index.
Layers are reproducible (SOURCE_DATE_EPOCH sets their time; default the Unix epoch).`,
		Flags: cliflags.Flags(&req),
		Action: cliflags.Action(&req, func(c *cli.Context) error {
			req.Log = c.App.ErrWriter
			if !req.JSON {
				req.OnBuild = func(b boards.Board, res *cross.Result) { oci.WriteBuild(c.App.Writer, b, res) }
			}
			builds, m, err := oci.BuildBoards(c.Context, req)
			switch {
			case err != nil:
				return err
			case req.JSON && m == nil:
				return writeJSON(c.App.Writer, builds[0])
			case req.JSON:
				return writeJSON(c.App.Writer, m.Summary())
			case m != nil:
				m.WriteText(c.App.Writer)
			}
			return nil
		}),
	}
}
