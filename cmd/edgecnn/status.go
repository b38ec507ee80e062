//go:build !board

package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/edgecnn/edgecnn/deploy"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "status",
		Usage: "ask every board (over SSH, in parallel) for its release, service, health, model and last reading",
		Description: `One row per board: online or OFFLINE, the release PREFIX/current points at, systemctl
is-active, /healthz (fetched through the SSH connection, as flash checks it), the model's
checksum from the release's SHA256SUMS, and the agent's last reading (GET /state).
Exits non-zero when a board is offline or unhealthy.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "inventory", Usage: "Ansible inventory, INI or YAML"},
			&cli.StringFlag{Name: "group", Usage: "inventory group (default: all)"},
			&cli.StringSliceFlag{Name: "host", Usage: "user@address[:port] of a board (repeatable)"},
			&cli.BoolFlag{Name: "json", Usage: "print the rows as JSON"},
			&cli.DurationFlag{Name: "timeout", Value: 10 * time.Second, Usage: "per board: longer and it counts as offline"},
			&cli.IntFlag{Name: "parallel", Value: 32, Usage: "boards asked at once"},
			&cli.StringFlag{Name: "prefix", Value: deploy.DefaultPrefix, Usage: "install prefix on the boards"},
			&cli.StringFlag{Name: "http", Value: "127.0.0.1:8080", Usage: "the agent's HTTP address on the boards"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "private key file (default: ssh-agent, then ~/.ssh/id_*)"},
			&cli.StringFlag{Name: "known-hosts", Usage: "known_hosts file (default ~/.ssh/known_hosts)"},
			&cli.BoolFlag{Name: "accept-new-host-key", Usage: "trust and record the host key of a board seen for the first time"},
			&cli.StringFlag{Name: "systemctl", Value: "systemctl", Usage: "systemctl command on the board", Hidden: true},
		},
		Action: statusAction,
	})
}

func statusAction(c *cli.Context) error {
	targets, err := deploy.Targets("status", c.StringSlice("host"), 0, c.String("inventory"), c.String("group"))
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return errors.New("status: no board: give --inventory FILE or --host user@address")
	}
	ssh := deploy.SSHOptions{KnownHosts: c.String("known-hosts"), AcceptNewHostKey: c.Bool("accept-new-host-key"), Identity: c.String("identity")}
	rows := deploy.FleetStatus(c.Context, targets, ssh, deploy.StatusOptions{
		Prefix: c.String("prefix"), HTTP: c.String("http"), Systemctl: c.String("systemctl"),
		Timeout: c.Duration("timeout"), Parallel: c.Int("parallel"),
	})
	if c.Bool("json") {
		if err := writeJSON(c.App.Writer, rows); err != nil {
			return err
		}
	} else {
		deploy.StatusTable(c.App.Writer, rows, time.Now())
	}
	bad := 0
	for _, r := range rows {
		if !r.Online || !r.Healthy {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("status: %d of %d boards offline, not installed or unhealthy", bad, len(rows))
	}
	return nil
}
