package main

import (
	"fmt"
	"log/slog"
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
