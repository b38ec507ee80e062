package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/agent/publish"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/runtime"
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
--mqtt and --webhook also publish the readings (--publish, Home Assistant discovery), through a
durable on-disk queue that keeps them while the broker or server is away (docs/publish.md).
With --collect DIR it keeps the frames it doubted for labelling at /label (docs/collect.md).

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
			&cli.IntFlag{Name: "http-workers", Usage: "concurrent /predict recognizers (0: from the memory, see docs/security.md)"},
			&cli.IntFlag{Name: "http-max-conns", Usage: "open HTTP connections served; more are answered 503 (0: from the memory)"},
			&cli.IntFlag{Name: "http-decode-budget", Usage: "MiB of decoded images in flight at once (0: a quarter of the memory)"},
			&cli.IntFlag{Name: "http-max-pixels", Usage: "largest /predict image in pixels (0: from the decode budget, at most 16 Mpixel)"},
			&cli.IntFlag{Name: "http-max-upload", Usage: "/predict body limit in KiB (0: from the memory)"},
			&cli.DurationFlag{Name: "http-queue-wait", Usage: "how long a request waits for a worker and decode budget before 503 (0: 2s)"},
			&cli.IntFlag{Name: "memory", Usage: "MiB of memory the limits are derived from (0: the smaller of RAM and the cgroup limit)"},
			&cli.StringFlag{Name: "http-token-file", Usage: "file holding a bearer token every HTTP path but /healthz requires"},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate (PEM; with --tls-key)"},
			&cli.StringFlag{Name: "tls-key", Usage: "private key of --tls-cert (PEM)"},
			&cli.StringSliceFlag{Name: "http-allow-host", Usage: "host name accepted in the Host header besides localhost, the host name, NAME.local and IP addresses (\"*\": any)"},
			&cli.DurationFlag{Name: "stale-after", Usage: "unhealthy when the camera delivered no frame for this long (0: the longer of 5 s and 10 frame intervals at --fps)"},
			&cli.StringFlag{Name: "model-sha256", Usage: "refuse to start unless the model file has this SHA-256 (default: MODEL.sha256, else SHA256SUMS beside the model, when present)"},
			&cli.StringFlag{Name: "gpio-trigger", Usage: "GPIO pin name of a capture button (e.g. GPIO17), active low"},
			&cli.StringFlag{Name: "gpio-led", Usage: "GPIO pin name of an LED lit while a digit is recognized"},
			&cli.BoolFlag{Name: "wait-camera", Usage: "if the camera cannot be opened at start, keep retrying (unhealthy) instead of exiting"},
			&cli.BoolFlag{Name: "verbose", Usage: "debug logging on stderr"},
			&cli.StringFlag{Name: "mqtt", EnvVars: []string{"EDGECNN_MQTT"}, Usage: "publish readings to this MQTT broker: mqtt://[user:pass@]host[:port] or mqtts://… (see docs/publish.md)"},
			&cli.StringFlag{Name: "mqtt-ca", Usage: "mqtts: PEM file of the CA(s) that sign the broker's certificate (default: system roots)"},
			&cli.StringFlag{Name: "mqtt-cert", Usage: "mqtts: client certificate (PEM)"},
			&cli.StringFlag{Name: "mqtt-key", Usage: "mqtts: client key (PEM)"},
			&cli.StringFlag{Name: "mqtt-topic", Usage: "topic prefix: state on PREFIX/state, online/offline on PREFIX/availability (default edgecnn/<hostname>)"},
			&cli.StringFlag{Name: "mqtt-id", Usage: "device id for the MQTT client and Home Assistant (default: the host name)"},
			&cli.StringFlag{Name: "ha-discovery", Value: "homeassistant", Usage: "Home Assistant MQTT discovery prefix (\"\": no discovery messages)"},
			&cli.StringFlag{Name: "webhook", Usage: "POST each published reading's JSON to this http(s) URL"},
			&cli.DurationFlag{Name: "webhook-timeout", Value: 10 * time.Second, Usage: "give up on a webhook request after this long (then retry)"},
			&cli.StringFlag{Name: "publish", Value: "change", Usage: "which readings --mqtt/--webhook send: change, every or interval=DURATION"},
			&cli.BoolFlag{Name: "monotonic", Usage: "meters: hold back a reading lower than the last accepted one"},
			&cli.Uint64Flag{Name: "max-delta", Usage: "meters: hold back a reading that differs from the last accepted one by more than N (0: no limit)"},
			&cli.IntFlag{Name: "agree", Value: 1, Usage: "publish a reading only when K consecutive frames agree"},
			&cli.StringFlag{Name: "queue-dir", Usage: "durable queue of unsent readings (default $STATE_DIRECTORY/publish or ~/.local/state/edgecnn/publish)"},
			&cli.Int64Flag{Name: "queue-max-bytes", Value: 8 << 20, Usage: "queue bound per sink; beyond it the oldest readings are dropped (counted)"},
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
	nums := agent.Numbers{FPS: c.Float64("fps"), Threads: c.Int("threads"), MinConfidence: c.Float64("min-confidence"),
		MemoryMiB: c.Int("memory"), EngineMemoryMiB: c.Int("engine-memory")}
	if err := nums.Check(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	mem, memSrc := agent.MemoryAvailable()
	if nums.MemoryMiB > 0 {
		mem, memSrc = int64(nums.MemoryMiB)<<20, "--memory"
	}
	limits := agent.LimitsFor(mem)
	if nums.MemoryMiB > 0 && !c.IsSet("engine-memory") {
		// The engine limit follows --memory too (a quarter, 64 MiB to 1 GiB).
		c.Set("engine-memory", strconv.Itoa(min(max(nums.MemoryMiB/4, 64), 1024)))
	}
	for _, o := range []struct {
		flag string
		dst  any
		unit int64
	}{{"http-max-conns", &limits.MaxConns, 1}, {"http-decode-budget", &limits.DecodeBudget, 1 << 20},
		{"http-max-pixels", &limits.MaxPixels, 1}, {"http-max-upload", &limits.MaxUpload, 1 << 10}} {
		if !c.IsSet(o.flag) {
			continue
		}
		v := int64(c.Int(o.flag))
		if v <= 0 {
			return fmt.Errorf("run: --%s %d must be positive", o.flag, v)
		}
		switch d := o.dst.(type) {
		case *int:
			*d = int(v)
		case *int64:
			*d = min(v, 1<<40) * o.unit
		}
	}
	if c.IsSet("http-workers") {
		if err := agent.CheckInt("http-workers", c.Int("http-workers"), agent.MinWorkers, agent.MaxWorkers); err != nil {
			return fmt.Errorf("run: %w", err)
		}
		limits.Workers = c.Int("http-workers")
	}
	if c.IsSet("http-queue-wait") {
		limits.QueueWait = c.Duration("http-queue-wait")
	}
	if err := limits.Check(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(agent.GoMemoryLimit(mem))
	}
	sec := agent.HTTPSecurity{CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), AllowHosts: c.StringSlice("http-allow-host")}
	if f := c.String("http-token-file"); f != "" {
		tok, err := agent.ReadTokenFile(f)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		sec.Token = tok
	}
	if err := sec.Check(); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if how, err := agent.VerifyModel(c.String("model"), c.String("model-sha256")); err != nil {
		return fmt.Errorf("run: %w", err)
	} else if how != "" {
		log.Info("model verified", "model", c.String("model"), "sha256", how)
	} else {
		log.Info("model not verified: no --model-sha256, sidecar or SHA256SUMS entry", "sidecar", agent.SumFile(c.String("model")))
	}
	newRec, err := newRecognizerFactory(c)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// Open one recognizer now so a bad model fails before anything starts.
	probe, err := newRec()
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	place := runtime.PlacementOf(probe.Engine(), engineOptions(c))
	probe.Engine().Close()
	w, h, err := camera.ParseSize(c.String("size"))
	if err != nil {
		return fmt.Errorf("run: --size: %w", err)
	}
	copt := camera.Options{Device: c.String("device"), Width: w, Height: h, FPS: c.Float64("fps"),
		Format: c.String("format"), Loop: c.Bool("loop"), Rate: c.Bool("realtime"), Stdin: os.Stdin}
	spec := c.String("camera")
	stale := c.Duration("stale-after")
	if stale == 0 {
		stale = max(5*time.Second, time.Duration(10/nums.FPS*float64(time.Second)))
	}
	if stale < 0 || stale > 24*time.Hour {
		return fmt.Errorf("run: --stale-after %v out of range [0, 24h]", stale)
	}
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
	pub, err := openPublisher(c, log)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	cfg := agent.Config{
		OpenCamera: openCam, NewRecognizer: newRec,
		Smooth: c.Int("smooth"), MaxFrames: c.Int("max-frames"), Out: c.App.Writer,
		HTTPAddr: c.String("http"), Limits: limits, Security: sec,
		OneShot: strings.HasPrefix(spec, "stdin:"), StaleAfter: stale, Placement: &place,
		Trigger: trig, LED: led, Notifier: notifier, Watchdog: wd, Log: log,
		Collector: col,
	}
	if pub != nil {
		version, err := publish.ModelVersion(c.String("model"))
		if err != nil {
			pub.Close()
			return fmt.Errorf("run: %w", err)
		}
		cfg.Publish = func(r publish.Reading) { r.Model = version; pub.Offer(r) }
		cfg.ExtraMetrics = pub.Collectors()
	}
	a, err := agent.New(cfg)
	if err != nil {
		if pub != nil {
			pub.Close()
		}
		return fmt.Errorf("run: %w", err)
	}
	if pub != nil {
		stop := pub.Start(3 * time.Second)
		defer func() {
			if left := stop(); left > 0 {
				log.Warn("publish: readings left queued on disk for the next start", "queued", left)
			}
		}()
	}
	log.Info("running", "camera", spec, "model", c.String("model"), "backend", c.String("backend"),
		"memory_mib", mem>>20, "memory_from", memSrc)
	if err := a.Run(c.Context); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// openPublisher reads the publishing flags (nil: none given).
func openPublisher(c *cli.Context, log *slog.Logger) (*publish.Publisher, error) {
	policy, err := publish.ParsePolicy(c.String("publish"))
	if err != nil {
		return nil, err
	}
	if c.Int("agree") < 1 || c.Int("agree") > 1000 {
		return nil, fmt.Errorf("--agree %d out of range [1, 1000]", c.Int("agree"))
	}
	agree := c.Int("agree")
	if agree == 1 {
		agree = 0 // one frame always agrees with itself
	}
	s := publish.Setup{Options: publish.Options{Policy: policy, QueueDir: c.String("queue-dir"),
		Queue: publish.QueueOptions{MaxBytes: c.Int64("queue-max-bytes")}, Log: log,
		Plausibility: publish.Plausibility{Monotonic: c.Bool("monotonic"), MaxDelta: c.Uint64("max-delta"), Agree: agree}}}
	if c.String("mqtt") != "" {
		s.MQTT = &publish.MQTTConfig{URL: c.String("mqtt"), CAFile: c.String("mqtt-ca"), CertFile: c.String("mqtt-cert"),
			KeyFile: c.String("mqtt-key"), Topic: c.String("mqtt-topic"), ID: c.String("mqtt-id"),
			Discovery: c.String("ha-discovery"), Model: "edgecnn digit reader", SWVersion: version, Log: log}
	} else if c.IsSet("mqtt-ca") || c.IsSet("mqtt-cert") || c.IsSet("mqtt-topic") || c.IsSet("mqtt-id") {
		return nil, errors.New("--mqtt-ca, --mqtt-cert, --mqtt-topic and --mqtt-id need --mqtt")
	}
	if c.String("webhook") != "" {
		s.Webhook = &publish.WebhookConfig{URL: c.String("webhook"), Timeout: c.Duration("webhook-timeout")}
	}
	return publish.Open(s)
}
