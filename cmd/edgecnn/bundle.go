//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/deploy"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func bundleCommand() *cli.Command {
	var req deploy.BundleRequest
	return &cli.Command{
		Name:  "bundle",
		Usage: "write the release flash would install (binary, libraries, model, unit, SHA256SUMS) into a folder, for Ansible (deploy/ansible) or other tools",
		Flags: cliflags.Flags(&req),
		Action: cliflags.Action(&req, func(c *cli.Context) error {
			req.ProgramVersion, req.Log = deploy.ProgramVersion(version), c.App.ErrWriter
			m, files, err := deploy.WriteRelease(c.Context, req)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s: release %s for %s (%d files), manifest %s\n", req.Out, m.Release, m.Board, files, deploy.ManifestFile)
			return nil
		}),
	}
}
