package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

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
			&cli.StringFlag{Name: "health-http", Usage: "answer GET /healthz on this address (e.g. 127.0.0.1:8081) from a small process of its own, at once however busy the API is (docs/security.md)"},
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
	setInt := func(name string) *int {
		if !c.IsSet(name) {
			return nil
		}
		v := c.Int(name)
		return &v
	}
	var queueWait *time.Duration
	if c.IsSet("http-queue-wait") {
		d := c.Duration("http-queue-wait")
		queueWait = &d
	}
	s := agent.Settings{
		Recognizer: recognizerSettings(c),
		Numbers: agent.Numbers{FPS: c.Float64("fps"), Threads: c.Int("threads"), MinConfidence: c.Float64("min-confidence"),
			MemoryMiB: c.Int("memory"), EngineMemoryMiB: c.Int("engine-memory")},
		EngineMemorySet: c.IsSet("engine-memory"),
		Limits: agent.LimitSettings{MaxConns: setInt("http-max-conns"), DecodeBudgetMiB: setInt("http-decode-budget"),
			MaxPixels: setInt("http-max-pixels"), MaxUploadKiB: setInt("http-max-upload"), Workers: setInt("http-workers"), QueueWait: queueWait},
		Security:    agent.HTTPSecurity{CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), AllowHosts: c.StringSlice("http-allow-host")},
		TokenFile:   c.String("http-token-file"),
		ModelSHA256: c.String("model-sha256"),
		Camera:      c.String("camera"),
		CameraOptions: camera.Options{Device: c.String("device"), FPS: c.Float64("fps"),
			Format: c.String("format"), Loop: c.Bool("loop"), Rate: c.Bool("realtime"), Stdin: os.Stdin},
		Size:        c.String("size"),
		StaleAfter:  c.Duration("stale-after"),
		WaitCamera:  c.Bool("wait-camera"),
		GPIOTrigger: c.String("gpio-trigger"),
		GPIOLED:     c.String("gpio-led"),
		Collect:     collectSettings(c),
		Publish: agent.PublishSettings{Policy: c.String("publish"), Agree: c.Int("agree"), QueueDir: c.String("queue-dir"),
			QueueMaxBytes: c.Int64("queue-max-bytes"), Monotonic: c.Bool("monotonic"), MaxDelta: c.Uint64("max-delta"),
			MQTT: c.String("mqtt"), MQTTCA: c.String("mqtt-ca"), MQTTCert: c.String("mqtt-cert"), MQTTKey: c.String("mqtt-key"),
			MQTTTopic: c.String("mqtt-topic"), MQTTID: c.String("mqtt-id"),
			MQTTOnlyFlagsSet: c.IsSet("mqtt-ca") || c.IsSet("mqtt-cert") || c.IsSet("mqtt-topic") || c.IsSet("mqtt-id"),
			Discovery:        c.String("ha-discovery"), Webhook: c.String("webhook"), WebhookTimeout: c.Duration("webhook-timeout"),
			SWVersion: version},
		Smooth:     c.Int("smooth"),
		MaxFrames:  c.Int("max-frames"),
		HTTPAddr:   c.String("http"),
		HealthAddr: c.String("health-http"),
		Out:        c.App.Writer,
		Log:        slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level})),
	}
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
}

func init() {
	register(&cli.Command{
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
	})
}
