//go:build !board

package main

import (
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/deploy"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
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
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "board", Usage: "board name (edgecnn boards); an inventory's edgecnn_board= overrides it per host"},
			&cli.StringSliceFlag{Name: "host", Usage: "user@address[:port] of a board (repeatable)"},
			&cli.StringFlag{Name: "inventory", Usage: "Ansible inventory, INI or YAML (.yml/.yaml): hosts, groups and children, ansible_host, ansible_user, ansible_port, ansible_ssh_private_key_file, edgecnn_board"},
			&cli.StringFlag{Name: "group", Usage: "inventory group to flash (default: all)"},
			&cli.IntFlag{Name: "port", Usage: "SSH port for hosts without one (default 22)"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)"},
			&cli.StringFlag{Name: "known-hosts", Usage: "known_hosts file (default ~/.ssh/known_hosts)"},
			&cli.BoolFlag{Name: "accept-new-host-key", Usage: "trust and record the host key of a board seen for the first time (a changed key is always refused)"},
			&cli.StringFlag{Name: "model", Usage: "model file to deploy (.tflite or .onnx; default: the first of " + strings.Join(deploy.DefaultModels, ", ") + ")"},
			&cli.StringFlag{Name: "config", Usage: "config file to deploy (passed to edgecnn run --config)"},
			&cli.StringFlag{Name: "binary", Usage: "edgecnn binary built for the board (default: edgecnn build for --board from this source tree)"},
			&cli.StringSliceFlag{Name: "backend", Usage: "backend(s) to build in and run: native, tflite, onnxruntime (default: the board's)"},
			&cli.StringFlag{Name: "release-version", Usage: "release version (default: git describe)"},
			&cli.StringFlag{Name: "prefix", Value: deploy.DefaultPrefix, Usage: "install prefix on the board"},
			&cli.StringFlag{Name: "dest", Usage: "write into this mounted root filesystem (SD card) instead of SSH; the unit is enabled for first boot"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and change nothing"},
			&cli.StringFlag{Name: "camera", Value: "auto", Usage: "camera source for the service"},
			&cli.StringFlag{Name: "http", Value: "127.0.0.1:8080", Usage: "the service's HTTP listen address (its /healthz is checked)"},
			&cli.StringFlag{Name: "health-http", Usage: "the service's health responder address (run --health-http), asked by the health checks (default: loopback, the --http port + 1; - for none)"},
			&cli.StringFlag{Name: "health-cmd", Usage: "health command run on the board (default: systemctl is-active --quiet edgecnn.service)"},
			&cli.StringFlag{Name: "health-url", Usage: "URL fetched from the board's side through SSH (default: /healthz of --health-http, else of --http; - to skip)"},
			&cli.DurationFlag{Name: "health-timeout", Value: 30 * time.Second, Usage: "how long the new release has to become healthy"},
			&cli.IntFlag{Name: "keep", Value: 3, Usage: "releases to keep on the board"},
			&cli.DurationFlag{Name: "wait", Usage: "when another flash holds the board's lock, wait this long for it (default: fail at once with \"board busy\")"},
			&cli.IntFlag{Name: "rollback-after", Value: 3, Usage: "failed starts after which the board rolls back to the last good release on its own"},
			&cli.StringFlag{Name: "memory-max", Usage: "the unit's MemoryMax= (default: half the board's smallest RAM variant, or 50%)"},
			&cli.IntFlag{Name: "parallel", Value: 8, Usage: "boards flashed at once"},
			&cli.StringFlag{Name: "sudo", Value: "auto", Usage: "run privileged steps with sudo -n: auto (when the login user is not root), yes, no"},
			&cli.StringFlag{Name: "systemctl", Value: "systemctl", Usage: "systemctl command on the board", Hidden: true},
			&cli.StringFlag{Name: "sysusers", Value: "systemd-sysusers", Usage: "systemd-sysusers command on the board", Hidden: true},
			&cli.StringFlag{Name: "unit-dir", Value: "/etc/systemd/system", Usage: "unit directory on the board", Hidden: true},
			&cli.StringFlag{Name: "sysusers-dir", Value: "/etc/sysusers.d", Usage: "sysusers.d directory on the board", Hidden: true},
		},
		Action: flashAction,
	})
}

func flashAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return fmt.Errorf("flash: unexpected argument %q (boards are given with --host or --inventory)", c.Args().First())
	}
	out, errw := c.App.Writer, c.App.ErrWriter
	req := deploy.Request{
		Board: c.String("board"), Hosts: c.StringSlice("host"), Port: c.Int("port"),
		Inventory: c.String("inventory"), Group: c.String("group"), Dest: c.String("dest"),
		Model: c.String("model"), Config: c.String("config"), Binary: c.String("binary"),
		Backends: c.StringSlice("backend"), ReleaseVersion: c.String("release-version"), ProgramVersion: programVersion(),
		Service: deploy.Service{Prefix: c.String("prefix"), Camera: c.String("camera"), HTTP: c.String("http"), HealthHTTP: c.String("health-http"),
			RollbackAfter: c.Int("rollback-after"), MemoryMax: c.String("memory-max"), HealthTimeout: c.Duration("health-timeout")},
		Sudo: c.String("sudo"),
		SSH:  deploy.SSHOptions{KnownHosts: c.String("known-hosts"), AcceptNewHostKey: c.Bool("accept-new-host-key"), Identity: c.String("identity")},
		Options: deploy.Options{
			UnitDir: c.String("unit-dir"), SysusersDir: c.String("sysusers-dir"),
			Systemctl: c.String("systemctl"), Sysusers: c.String("sysusers"),
			HealthCommand: c.String("health-cmd"), HealthURL: c.String("health-url"), HealthTimeout: c.Duration("health-timeout"),
			Keep: c.Int("keep"), LockWait: c.Duration("wait"), Log: errw,
		},
		Log: errw,
	}
	plan, err := deploy.PlanFlash(c.Context, req)
	if err != nil {
		return err
	}
	if plan.Dest != "" {
		bu := plan.DestBundle
		if c.Bool("dry-run") {
			fmt.Fprint(out, deploy.Plan(bu, "rootfs "+plan.Dest, req.Options))
			return nil
		}
		r, err := deploy.InstallRoot(c.Context, plan.Dest, bu, "", "", func(f string, a ...any) { fmt.Fprintf(errw, f+"\n", a...) })
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: release %s written (%d files, %d hard-linked), %s enabled for first boot\n", plan.Dest, r.Release, r.Uploaded, r.Linked, bu.Service.UnitName())
		return nil
	}
	if c.Bool("dry-run") {
		for _, j := range plan.Jobs {
			fmt.Fprint(out, deploy.Plan(j.Bundle, j.Target.String(), j.Opts))
		}
		return nil
	}
	results := deploy.FlashAll(c.Context, plan.Jobs, c.Int("parallel"))
	deploy.Summary(out, results)
	return deploy.Failed(results)
}

func programVersion() string {
	if version != "" {
		return version
	}
	if u, err := user.Current(); err == nil {
		return "dev-" + u.Username
	}
	return "dev"
}
