//go:build !board

package main

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/deploy"
	"github.com/urfave/cli/v2"
)

// defaultModels are tried, in order, when flash gets no --model.
var defaultModels = []string{"out/demo/model.int8.tflite", "models/mnist.int8.tflite", "model.int8.tflite", "out/demo/model.tflite"}

func init() {
	register(&cli.Command{
		Name:  "flash",
		Usage: "deploy edgecnn as a self-starting, health-checked systemd service to boards over SSH (or to an SD card with --dest)",
		Description: `Builds (or takes --binary) edgecnn for --board, bundles it with the model, config,
systemd unit and SHA256SUMS, uploads only what the board lacks into PREFIX/releases/<version>-<hash>,
switches PREFIX/current atomically, restarts the service, checks it is active and /healthz answers,
and rolls back to the previous release if not.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "board", Usage: "board name (edgecnn boards); an inventory's edgecnn_board= overrides it per host"},
			&cli.StringSliceFlag{Name: "host", Usage: "user@address[:port] of a board (repeatable)"},
			&cli.StringFlag{Name: "inventory", Usage: "Ansible inventory, INI or YAML (.yml/.yaml): hosts, groups and children, ansible_host, ansible_user, ansible_port, ansible_ssh_private_key_file, edgecnn_board"},
			&cli.StringFlag{Name: "group", Usage: "inventory group to flash (default: all)"},
			&cli.IntFlag{Name: "port", Usage: "SSH port for hosts without one (default 22)"},
			&cli.StringFlag{Name: "identity", Aliases: []string{"i"}, Usage: "private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)"},
			&cli.StringFlag{Name: "known-hosts", Usage: "known_hosts file (default ~/.ssh/known_hosts)"},
			&cli.BoolFlag{Name: "accept-new-host-key", Usage: "trust and record the host key of a board seen for the first time (a changed key is always refused)"},
			&cli.StringFlag{Name: "model", Usage: "model file to deploy (.tflite or .onnx; default: the first of " + strings.Join(defaultModels, ", ") + ")"},
			&cli.StringFlag{Name: "config", Usage: "config file to deploy (passed to edgecnn run --config)"},
			&cli.StringFlag{Name: "binary", Usage: "edgecnn binary built for the board (default: edgecnn build for --board from this source tree)"},
			&cli.StringSliceFlag{Name: "backend", Usage: "backend(s) to build in and run: native, tflite, onnxruntime (default: the board's)"},
			&cli.StringFlag{Name: "release-version", Usage: "release version (default: git describe)"},
			&cli.StringFlag{Name: "prefix", Value: deploy.DefaultPrefix, Usage: "install prefix on the board"},
			&cli.StringFlag{Name: "dest", Usage: "write into this mounted root filesystem (SD card) instead of SSH; the unit is enabled for first boot"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan and change nothing"},
			&cli.StringFlag{Name: "camera", Value: "auto", Usage: "camera source for the service"},
			&cli.StringFlag{Name: "http", Value: "127.0.0.1:8080", Usage: "the service's HTTP listen address (its /healthz is checked)"},
			&cli.StringFlag{Name: "health-cmd", Usage: "health command run on the board (default: systemctl is-active --quiet edgecnn.service)"},
			&cli.StringFlag{Name: "health-url", Usage: "URL fetched from the board's side through SSH (default http://HTTP/healthz; - to skip)"},
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
	ctx := c.Context
	out, errw := c.App.Writer, c.App.ErrWriter
	if c.NArg() > 0 {
		return fmt.Errorf("flash: unexpected argument %q (boards are given with --host or --inventory)", c.Args().First())
	}
	var board boards.Board
	if name := c.String("board"); name != "" {
		b, err := boards.Target(name)
		if err != nil {
			return err
		}
		board = b
	}

	// Targets.
	var targets []deploy.Target
	for _, h := range c.StringSlice("host") {
		t, err := deploy.ParseTarget(h)
		if err != nil {
			return fmt.Errorf("flash: --host: %w", err)
		}
		if t.Port == 0 {
			t.Port = c.Int("port")
		}
		targets = append(targets, t)
	}
	if inv := c.String("inventory"); inv != "" {
		ts, err := deploy.ReadInventory(inv, c.String("group"))
		if err != nil {
			return err
		}
		targets = append(targets, ts...)
	}
	dest := c.String("dest")
	if dest == "" && len(targets) == 0 {
		return errors.New("flash: no board to flash: give --host user@address (repeatable), --inventory FILE or --dest ROOTFS")
	}
	if dest != "" && len(targets) > 0 {
		return errors.New("flash: --dest writes an SD card; it cannot be combined with --host/--inventory")
	}
	// Every target needs a board.
	boardOf := map[string]boards.Board{}
	for i, t := range targets {
		if t.Board == "" {
			if board.Name == "" {
				return fmt.Errorf("flash: no --board for %s; known boards: %s", t, strings.Join(boards.Names(), ", "))
			}
			targets[i].Board = board.Name
			continue
		}
		b, err := boards.Target(t.Board)
		if err != nil {
			return fmt.Errorf("flash: %s: %w", t, err)
		}
		boardOf[b.Name] = b
	}
	if board.Name != "" {
		boardOf[board.Name] = board
	}
	if len(boardOf) == 0 {
		return fmt.Errorf("flash: --board is required; known boards: %s", strings.Join(boards.Names(), ", "))
	}

	model := c.String("model")
	if model == "" {
		for _, m := range defaultModels {
			if _, err := os.Stat(m); err == nil {
				model = m
				break
			}
		}
		if model == "" {
			return fmt.Errorf("flash: no --model given and none of %s exists (make demo or edgecnn quantize writes one)", strings.Join(defaultModels, ", "))
		}
	}
	if _, err := os.Stat(model); err != nil {
		return fmt.Errorf("flash: model: %w", err)
	}

	// One bundle per board.
	bundles := map[string]*deploy.Bundle{}
	for name, b := range boardOf {
		backends := c.StringSlice("backend")
		if len(backends) == 0 {
			backends = []string{b.Backend}
		}
		bin, libs, version, err := flashBinary(c, b, backends)
		if err != nil {
			return err
		}
		runBackend := "native"
		for _, be := range backends {
			if be != "native" && !strings.Contains(be, ",") {
				runBackend = be
			}
		}
		bu, err := deploy.NewBundle(deploy.Spec{Board: b, Binary: bin, Libs: libs, Model: model, Config: c.String("config"), Version: version,
			Service: deploy.Service{Prefix: c.String("prefix"), Backend: runBackend, Camera: c.String("camera"), HTTP: c.String("http"),
				RollbackAfter: c.Int("rollback-after"), MemoryMax: c.String("memory-max"), HealthTimeout: c.Duration("health-timeout")}})
		if err != nil {
			return err
		}
		bundles[name] = bu
	}

	opts := deploy.Options{
		UnitDir: c.String("unit-dir"), SysusersDir: c.String("sysusers-dir"),
		Systemctl: c.String("systemctl"), Sysusers: c.String("sysusers"),
		HealthCommand: c.String("health-cmd"), HealthURL: c.String("health-url"), HealthTimeout: c.Duration("health-timeout"),
		Keep: c.Int("keep"), LockWait: c.Duration("wait"), Log: errw,
	}

	if dest != "" {
		bu := bundles[board.Name]
		if c.Bool("dry-run") {
			fmt.Fprint(out, deploy.Plan(bu, "rootfs "+dest, opts))
			return nil
		}
		r, err := deploy.InstallRoot(ctx, dest, bu, "", "", func(f string, a ...any) { fmt.Fprintf(errw, f+"\n", a...) })
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: release %s written (%d files, %d hard-linked), %s enabled for first boot\n", dest, r.Release, r.Uploaded, r.Linked, bu.Service.UnitName())
		return nil
	}

	sshOpts := deploy.SSHOptions{KnownHosts: c.String("known-hosts"), AcceptNewHostKey: c.Bool("accept-new-host-key"), Identity: c.String("identity")}
	var jobs []deploy.Job
	for _, t := range targets {
		o := opts
		switch c.String("sudo") {
		case "yes":
			o.Sudo = true
		case "no":
		case "auto":
			o.Sudo = t.User != "root"
		default:
			return fmt.Errorf("flash: --sudo must be auto, yes or no, not %q", c.String("sudo"))
		}
		jobs = append(jobs, deploy.Job{Target: t, Bundle: bundles[t.Board], SSH: sshOpts, Opts: o})
	}
	if c.Bool("dry-run") {
		for _, j := range jobs {
			fmt.Fprint(out, deploy.Plan(j.Bundle, j.Target.String(), j.Opts))
		}
		return nil
	}
	results := deploy.FlashAll(ctx, jobs, c.Int("parallel"))
	deploy.Summary(out, results)
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	if failed > 0 {
		if len(results) == 1 {
			return fmt.Errorf("flash %s: %w", results[0].Target, results[0].Err)
		}
		return fmt.Errorf("flash: %d of %d boards failed", failed, len(results))
	}
	return nil
}

// flashBinary returns the binary (and libraries) to ship for b: --binary,
// else a cross build from the source tree, else this very binary when it
// already suits the board.
func flashBinary(c *cli.Context, b boards.Board, backends []string) (bin string, libs []string, version string, err error) {
	version = c.String("release-version")
	if p := c.String("binary"); p != "" {
		if version == "" {
			version = "custom"
		}
		return p, nil, version, nil
	}
	if root, rerr := cross.SourceTree(); rerr == nil {
		res, err := cross.Build(c.Context, cross.Request{Board: b, Backends: backends, ModuleRoot: root, Version: version, Log: c.App.ErrWriter})
		if err != nil {
			return "", nil, "", err
		}
		if res.CacheHit {
			fmt.Fprintf(c.App.ErrWriter, "build: cache hit %s\n", res.Key[:12])
		}
		return res.Binary, res.Libs, res.Version, nil
	}
	native := len(backends) == 0 || (len(backends) == 1 && backends[0] == "native")
	if native && b.GOOS == goruntime.GOOS && b.GOARCH == goruntime.GOARCH {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, "", err
		}
		if version == "" {
			version = programVersion()
		}
		return exe, nil, version, nil
	}
	return "", nil, "", fmt.Errorf("flash: not in the edgecnn source tree, so cannot build for %s: run it there or pass --binary FILE", b.Name)
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
