package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func runCommand() *cli.Command {
	var o struct {
		agent.Settings
		Verbose bool   `flag:"verbose" usage:"debug logging on stderr"`
		Config  string `flag:"config" usage:"JSON file of flag values, e.g. {\"smooth\": 5, \"min-confidence\": 0.7}; flags on the command line win"`
	}
	o.Collect = agent.DefaultCollectSettings()
	return &cli.Command{
		Name:  "run",
		Usage: "headless recognizer: camera frames in, digits out (JSON lines, HTTP API, GPIO, systemd)",
		Description: `Reads frames from --camera (latest frame wins, stale frames are dropped), recognises
the digit(s), smooths over --smooth frames and writes one JSON line per processed frame to stdout.
Camera failures reconnect with exponential backoff; /healthz is 503 meanwhile. SIGTERM stops
gracefully. Under systemd (Type=notify) it sends READY=1 and, with WatchdogSec=, WATCHDOG=1.
--mqtt and --webhook also publish the readings (--publish, Home Assistant discovery), through a
durable on-disk queue that keeps them while the broker or server is away (docs/publish.md).
With --collect DIR it keeps the frames it doubted for labelling at /label (docs/collect.md).

--camera: ` + camera.Specs,
		Flags: cliflags.Flags(&o, cliflags.With(threadsFlag())),
		Action: func(c *cli.Context) error {
			if err := applyConfig(c, c.String("config")); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			cliflags.Load(c, &o)
			level := slog.LevelInfo
			if o.Verbose {
				level = slog.LevelDebug
			}
			s := o.Settings
			s.CameraOptions.Stdin = os.Stdin
			s.Publish.SWVersion = version
			s.Out, s.Log = c.App.Writer, slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
			if s.HealthAddr != "" {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("run: health responder: %w", err)
				}
				s.HealthCommand = []string{exe, "health-responder"}
			}
			a, cleanup, err := agent.Build(c.Context, s)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			defer cleanup()
			if err := a.Run(c.Context); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			return nil
		},
	}
}

// healthResponderCommand is the process `run --health-http` starts (an
// internal command: descriptors 3, 4 and 5 come from the agent).
func healthResponderCommand() *cli.Command {
	return &cli.Command{
		Name:   "health-responder",
		Hidden: true,
		Usage:  "internal: the health responder that `run --health-http` starts (descriptors 3, 4, 5)",
		Action: func(c *cli.Context) error {
			ln, err := net.FileListener(os.NewFile(3, "health-listener"))
			if err != nil {
				return fmt.Errorf("health-responder: descriptor 3 is not a listening socket (started by `edgecnn run --health-http` only): %w", err)
			}
			return agent.ServeHealthResponder(c.Context, ln, os.NewFile(4, "health-state"), os.NewFile(5, "agent-pipe"))
		},
	}
}
