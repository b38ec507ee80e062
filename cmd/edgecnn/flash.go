//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/deploy"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func flashCommand() *cli.Command {
	var req deploy.Request
	return &cli.Command{
		Name:  "flash",
		Usage: "deploy edgecnn as a self-starting, health-checked systemd service to boards over SSH (or to an SD card with --dest)",
		Description: `Builds (or takes --binary) edgecnn for --board, bundles it with the model, config,
systemd unit and SHA256SUMS, uploads only what the board lacks into PREFIX/releases/<version>-<hash>,
switches PREFIX/current atomically, restarts the service, checks it is active and /healthz answers,
and rolls back to the previous release if not.

EXAMPLES:
   edgecnn flash --board rpi4 --host pi@raspberrypi.local --accept-new-host-key
   edgecnn flash --board rpi4 --inventory boards.ini --group kitchen --parallel 8
   edgecnn flash --board rpi4 --dest /media/$USER/rootfs
   edgecnn flash --board rpi4 --host pi@raspberrypi.local --dry-run`,
		Flags: cliflags.Flags(&req),
		Action: cliflags.Action(&req, func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("flash: unexpected argument %q (boards are given with --host or --inventory)", c.Args().First())
			}
			req.ProgramVersion = deploy.ProgramVersion(version)
			req.Log, req.Options.Log = c.App.ErrWriter, c.App.ErrWriter
			return deploy.Execute(c.Context, req, c.App.Writer)
		}),
	}
}
