//go:build !board

package main

import (
	"time"

	"github.com/edgecnn/edgecnn/deploy"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func statusCommand() *cli.Command {
	var o struct {
		deploy.StatusRequest
		JSON bool `flag:"json" usage:"print the rows as JSON"`
	}
	return &cli.Command{
		Name:  "status",
		Usage: "ask every board (over SSH, in parallel) for its release, service, health, model and last reading",
		Description: `One row per board: online or OFFLINE, the release PREFIX/current points at, systemctl
is-active, /healthz (fetched through the SSH connection, as flash checks it), the model's
checksum from the release's SHA256SUMS, and the agent's last reading (GET /state).
Exits non-zero when a board is offline or unhealthy.`,
		Flags: cliflags.Flags(&o,
			cliflags.Usage("identity", "private key file (default: ssh-agent, then ~/.ssh/id_*)"),
			cliflags.Usage("accept-new-host-key", "trust and record the host key of a board seen for the first time")),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			rows, err := deploy.Status(c.Context, o.StatusRequest)
			if err != nil {
				return err
			}
			if o.JSON {
				if err := writeJSON(c.App.Writer, rows); err != nil {
					return err
				}
			} else {
				deploy.StatusTable(c.App.Writer, rows, time.Now())
			}
			return deploy.StatusErr(rows)
		}),
	}
}
