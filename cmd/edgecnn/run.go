package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "run",
		Usage: "headless recognizer: camera frames in, digits out (JSON lines, HTTP API, GPIO, systemd)",
		Description: `Reads frames from --camera (latest frame wins, stale frames are dropped), recognises
the digit(s), smooths over --smooth frames and writes one JSON line per processed frame to stdout.
Camera failures reconnect with exponential backoff; /healthz is 503 meanwhile. SIGTERM stops
gracefully. Under systemd (Type=notify) it sends READY=1 and, with WatchdogSec=, WATCHDOG=1.

--camera: ` + camera.Specs,
		Flags: append(append(recognizerFlags(), collectFlags()...),
			&cli.StringFlag{Name: "camera", Value: "auto", Usage: "frame source (see description)"},
			&cli.StringFlag{Name: "device", Value: "/dev/video0", Usage: "V4L2 device"},
			&cli.StringFlag{Name: "size", Value: "640x480", Usage: "capture size WxH"},
			&cli.Float64Flag{Name: "fps", Value: 30, Usage: "capture frame rate"},
			&cli.StringFlag{Name: "format", Usage: "pixel format: yuyv or mjpeg (V4L2), mjpeg or yuv420 (libcamera)"},
			&cli.BoolFlag{Name: "loop", Usage: "file sources: start over at the end"},
			&cli.BoolFlag{Name: "realtime", Usage: "file and synthetic sources: deliver frames at --fps instead of as fast as possible"},
			&cli.IntFlag{Name: "smooth", Value: 1, Usage: "majority vote over the last K frames"},
			&cli.IntFlag{Name: "max-frames", Usage: "stop after N processed frames (0: run until stopped)"},
			&cli.StringFlag{Name: "http", Usage: "serve the HTTP API on this address, e.g. 127.0.0.1:8080"},
			&cli.IntFlag{Name: "http-workers", Value: 2, Usage: "concurrent /predict recognizers"},
			&cli.StringFlag{Name: "gpio-trigger", Usage: "GPIO pin name of a capture button (e.g. GPIO17), active low"},
			&cli.StringFlag{Name: "gpio-led", Usage: "GPIO pin name of an LED lit while a digit is recognized"},
			&cli.BoolFlag{Name: "wait-camera", Usage: "if the camera cannot be opened at start, keep retrying (unhealthy) instead of exiting"},
			&cli.BoolFlag{Name: "verbose", Usage: "debug logging on stderr"},
			&cli.StringFlag{Name: "config", Usage: "JSON file of flag values, e.g. {\"smooth\": 5, \"min-confidence\": 0.7}; flags on the command line win"},
		),
		Action: runAction,
	})
}

func runAction(c *cli.Context) error {
	if err := applyConfig(c, c.String("config")); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
	newRec, err := newRecognizerFactory(c)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// Open one recognizer now so a bad model fails before anything starts.
	probe, err := newRec()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	probe.Engine().Close()
	w, h, err := camera.ParseSize(c.String("size"))
	if err != nil {
		return fmt.Errorf("run: --size: %w", err)
	}
	if c.Float64("fps") <= 0 || c.Float64("fps") > 1000 {
		return fmt.Errorf("run: --fps %v out of range (0, 1000]", c.Float64("fps"))
	}
	copt := camera.Options{Device: c.String("device"), Width: w, Height: h, FPS: c.Float64("fps"),
		Format: c.String("format"), Loop: c.Bool("loop"), Rate: c.Bool("realtime"), Stdin: os.Stdin}
	spec := c.String("camera")
	// Fail fast when the camera cannot be opened at start (unless
	// --wait-camera: a service that starts before the camera appears);
	// once running, camera failures are retried with backoff.
	first, err := camera.Open(c.Context, spec, copt)
	if err != nil && (!c.Bool("wait-camera") || errors.Is(err, camera.ErrSpec)) {
		return fmt.Errorf("run: %w", err)
	}
	if err != nil {
		log.Warn("camera not available yet; retrying with backoff", "err", err)
	}
	openCam := func(ctx context.Context) (camera.Source, error) {
		if first != nil {
			s := first
			first = nil
			return s, nil
		}
		return camera.Open(ctx, spec, copt)
	}
	trig, led, err := agent.OpenGPIO(c.String("gpio-trigger"), c.String("gpio-led"))
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	notifier, err := agent.NotifierFromEnv()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	wd, err := agent.WatchdogInterval()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	col, err := newCollector(c, log)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if col != nil {
		defer col.Close()
	}
	a, err := agent.New(agent.Config{
		OpenCamera: openCam, NewRecognizer: newRec,
		Smooth: c.Int("smooth"), MaxFrames: c.Int("max-frames"), Out: c.App.Writer,
		HTTPAddr: c.String("http"), Workers: c.Int("http-workers"),
		Trigger: trig, LED: led, Notifier: notifier, Watchdog: wd, Log: log,
		Collector: col,
	})
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	log.Info("running", "camera", spec, "model", c.String("model"), "backend", c.String("backend"))
	if err := a.Run(c.Context); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}
