package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/agent/collect"
	"github.com/edgecnn/edgecnn/agent/publish"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// OpenModel opens a model file with a backend as `edgecnn predict`, `run`
// and `eval` do: the onnxruntime backend given a .tflite path uses its
// .onnx twin, as `edgecnn export` and `make demo` write them side by side;
// everything else is OpenEngine.
func OpenModel(backend, path string, opt runtime.Options) (runtime.Engine, error) {
	return OpenEngine(backend, enginePath(backend, path), opt)
}

// enginePath is the file OpenModel opens for path with backend.
func enginePath(backend, path string) string {
	if backend == "onnxruntime" && strings.EqualFold(filepath.Ext(path), ".tflite") {
		return strings.TrimSuffix(path, filepath.Ext(path)) + ".onnx"
	}
	return path
}

// NoJudge is the --judge value that reads --multi rows without a
// segmentation judge, even when one sits beside the model.
const NoJudge = model.NoJudge

// RecognizerSettings are the recognizer flags shared by `edgecnn predict`
// and `edgecnn run`, as given on the command line (package cliflags reads
// the tags).
type RecognizerSettings struct {
	Engine EngineSettings
	Model  string `flag:"model" required:"true" usage:"model file: .tflite (int8 or float), .onnx, or a .ckpt checkpoint (float reference engine)"`
	Multi  bool   `flag:"multi" usage:"read a row of digits left to right"`
	Digits int    `flag:"digits" usage:"--multi: the number's known length, as a meter's or counter's fixed count of digits: the row is read as exactly N digits, and a row that cannot be is answered \"no digit\" (reason \"wrong length\"); 0: any length"`
	Rescan bool   `flag:"rescan" default:"true" usage:"--multi: read a row again at 1.5 times the working size (and 2 times, unless that reading agrees with the first) when a digit is less than 0.9 sure or a '?', and answer what two readings agree on (else the most confident); --rescan=false reads every frame once"`
	// Judge is --judge: a file, NoJudge, or "" for the judge beside the
	// model (JudgeFile).
	Judge   string `flag:"judge" usage:"--multi: the segmentation judge model (same backend), which cuts touching digits better and votes on each digit (default: judge<ext> beside --model when present, e.g. models/judge.ckpt beside models/mnist.ckpt; none: no judge)"`
	ROI     string `flag:"roi" usage:"only look inside x,y,w,h (pixels)"`
	Regions string `flag:"rois" usage:"JSON file: one region per digit, [{\"x\",\"y\",\"w\",\"h\",\"name\"}...]; \"?\" marks an unread region"`
	// MinConfidence is --min-confidence; MinConfidenceSet says whether it
	// was given (unset: the model's reject threshold).
	MinConfidence    float64 `flag:"min-confidence" usage:"below this softmax confidence a digit counts as \"no digit\" (default: the model's edgecnn.reject_threshold, else 0.5)"`
	MinConfidenceSet bool    `set:"min-confidence"`
	Polarity         string  `flag:"polarity" default:"auto" usage:"auto, dark (dark ink on light paper) or light"`
	Threshold        string  `flag:"threshold" default:"otsu" usage:"binarization: otsu or adaptive"`
}

// NewRecognizerFactory checks s and returns a function that opens a fresh
// engine and recognizer per call. Errors name the flags.
func NewRecognizerFactory(s RecognizerSettings) (func() (*Recognizer, error), error) {
	roi, err := preprocess.ParseROI(s.ROI)
	if err != nil {
		return nil, err
	}
	pol, err := preprocess.ParsePolarity(s.Polarity)
	if err != nil {
		return nil, err
	}
	th, err := preprocess.ParseThreshold(s.Threshold)
	if err != nil {
		return nil, err
	}
	judge, err := s.JudgeFile()
	if err != nil {
		return nil, err
	}
	var regions []preprocess.Region
	if s.Regions != "" {
		if s.Multi || s.ROI != "" {
			return nil, fmt.Errorf("--rois sets every digit's region: drop --multi and --roi")
		}
		if regions, err = preprocess.LoadRegions(s.Regions); err != nil {
			return nil, err
		}
	}
	switch {
	case s.Digits < 0 || s.Digits > preprocess.MaxRowDigits:
		return nil, fmt.Errorf("--digits %d out of range [0, %d]", s.Digits, preprocess.MaxRowDigits)
	case s.Digits > 0 && !s.Multi:
		return nil, fmt.Errorf("--digits %d is the length of a --multi number: add --multi", s.Digits)
	}
	mc := s.MinConfidence
	if !(mc >= 0 && mc <= 1) {
		return nil, fmt.Errorf("--min-confidence %v out of range [0, 1]", mc)
	}
	switch {
	case !s.MinConfidenceSet:
		mc = 0 // the model's reject threshold, else DefaultMinConfidence
	case mc == 0:
		mc = 1e-9 // 0 means "accept everything", not "default"
	}
	cfg := RecognizerConfig{
		Preprocess:    preprocess.Config{ROI: roi, Multi: s.Multi, Digits: s.Digits, Polarity: pol, Threshold: th},
		MinConfidence: float32(mc),
		Regions:       regions,
		Rescan:        s.Rescan,
	}
	return func() (*Recognizer, error) {
		eng, err := OpenModel(s.Engine.Backend, s.Model, s.Engine.Options())
		if err != nil {
			return nil, err
		}
		c := cfg
		if judge != "" {
			if c.Judge, err = OpenModel(s.Engine.Backend, judge, s.Engine.Options()); err != nil {
				eng.Close()
				return nil, s.judgeErr(judge, err)
			}
		}
		r, err := NewRecognizer(eng, c)
		if err != nil {
			eng.Close()
			if c.Judge != nil {
				c.Judge.Close()
				if _, ok := errors.AsType[*judgeError](err); ok && s.Judge == "" {
					return nil, s.judgeErr(judge, err)
				}
			}
			return nil, err
		}
		return r, nil
	}, nil
}

// JudgeFile returns the segmentation judge the recognizer reads with (""
// for none): --judge FILE, which needs --multi; none for no judge; and
// without --judge, with --multi, the judge beside the model
// (model.FindJudgeBeside: models/judge.ckpt beside models/mnist.ckpt) when
// present, and for the onnxruntime backend when its .onnx twin is too.
func (s RecognizerSettings) JudgeFile() (string, error) {
	switch {
	case s.Judge == NoJudge:
		return "", nil
	case s.Judge != "" && !s.Multi:
		return "", fmt.Errorf("--judge judges the segmentation of --multi: add --multi (or --judge %s)", NoJudge)
	case s.Judge != "":
		return s.Judge, nil
	case !s.Multi || s.Model == "":
		return "", nil
	}
	j := model.FindJudgeBeside(s.Model)
	if j == "" {
		return "", nil
	}
	if p := enginePath(s.Engine.Backend, j); p != j && model.CheckJudge(p, s.Model) != nil {
		return "", nil
	}
	return j, nil
}

// judgeErr names the judge in an error from opening it (or, for the
// default judge, from the recognizer refusing it): the flag, or the file
// beside the model that --judge none leaves out.
func (s RecognizerSettings) judgeErr(judge string, err error) error {
	if s.Judge != "" {
		return fmt.Errorf("--judge: %w", err)
	}
	return fmt.Errorf("with the segmentation judge %s found beside the model (--judge %s reads without it): %w", judge, NoJudge, err)
}

// LimitSettings are the HTTP limit flags of `edgecnn run`; nil means the
// flag was not given (the value derived from the memory applies).
type LimitSettings struct {
	Workers         *int           `flag:"http-workers" usage:"concurrent /predict recognizers (0: from the memory, see docs/security.md)"`
	MaxConns        *int           `flag:"http-max-conns" usage:"open HTTP connections served; more are answered 503 (0: from the memory)"`
	DecodeBudgetMiB *int           `flag:"http-decode-budget" usage:"MiB of decoded images in flight at once (0: a quarter of the memory)"`
	MaxPixels       *int           `flag:"http-max-pixels" usage:"largest /predict image in pixels (0: from the decode budget, at most 16 Mpixel)"`
	MaxUploadKiB    *int           `flag:"http-max-upload" usage:"/predict body limit in KiB (0: from the memory)"`
	QueueWait       *time.Duration `flag:"http-queue-wait" usage:"how long a request waits for a worker and decode budget before 503 (0: 2s)"`
}

// CollectSettings are the --collect flags of `edgecnn run`, as given on
// the command line: 0 turns a feature off (collect.Config's zero value
// means its default). DefaultCollectSettings has the flags' defaults.
type CollectSettings struct {
	Dir        string        `flag:"collect" usage:"keep doubtful frames in DIR for labelling (full JPEG, 28×28 crops, JSON sidecar; label them at /label)"`
	Below      float64       `flag:"collect-below" usage:"--collect: keep frames with a digit below this confidence"`
	Rate       float64       `flag:"collect-rate" usage:"--collect: also keep this fraction of other frames as a random sample (0: none)"`
	MaxMiB     int           `flag:"collect-max-mb" usage:"--collect: disk quota in MiB; the oldest frames are deleted first"`
	MinFreeMiB int           `flag:"collect-min-free-mb" usage:"--collect: keep this much space free on the disk for the system (0: no reserve)"`
	MinGap     time.Duration `flag:"collect-min-gap" usage:"--collect: least time between two kept frames (0: none)"`
	LabelDir   string        `flag:"label-dir" usage:"--collect: image folder the labelling view files crops into (default DIR/labelled)"`
	// WithoutDir names a --collect-* flag given without --collect ("":
	// none); open refuses it.
	WithoutDir string `set:"collect-below,collect-rate,collect-max-mb,collect-min-free-mb,collect-min-gap,label-dir"`
}

// DefaultCollectSettings are the defaults of the --collect flags.
func DefaultCollectSettings() CollectSettings {
	return CollectSettings{Below: collect.DefaultBelow, Rate: collect.DefaultRate, MaxMiB: collect.DefaultMaxBytes >> 20,
		MinFreeMiB: collect.DefaultMinFree >> 20, MinGap: collect.DefaultMinGap}
}

// PublishSettings are the publishing flags of `edgecnn run`.
type PublishSettings struct {
	MQTT      string `flag:"mqtt" env:"EDGECNN_MQTT" usage:"publish readings to this MQTT broker: mqtt://[user:pass@]host[:port] or mqtts://… (see docs/publish.md)"`
	MQTTCA    string `flag:"mqtt-ca" usage:"mqtts: PEM file of the CA(s) that sign the broker's certificate (default: system roots)"`
	MQTTCert  string `flag:"mqtt-cert" usage:"mqtts: client certificate (PEM)"`
	MQTTKey   string `flag:"mqtt-key" usage:"mqtts: client key (PEM)"`
	MQTTTopic string `flag:"mqtt-topic" usage:"topic prefix: state on PREFIX/state, online/offline on PREFIX/availability (default edgecnn/<hostname>)"`
	MQTTID    string `flag:"mqtt-id" usage:"device id for the MQTT client and Home Assistant (default: the host name)"`
	// MQTTOnlyFlagsSet says one of --mqtt-ca, --mqtt-cert, --mqtt-topic,
	// --mqtt-id was given.
	MQTTOnlyFlagsSet bool          `set:"mqtt-ca,mqtt-cert,mqtt-topic,mqtt-id"`
	Discovery        string        `flag:"ha-discovery" default:"homeassistant" usage:"Home Assistant MQTT discovery prefix (\"\": no discovery messages)"`
	Webhook          string        `flag:"webhook" usage:"POST each published reading's JSON to this http(s) URL"`
	WebhookTimeout   time.Duration `flag:"webhook-timeout" default:"10s" usage:"give up on a webhook request after this long (then retry)"`
	Policy           string        `flag:"publish" default:"change" usage:"which readings --mqtt/--webhook send: change, every or interval=DURATION"`
	Monotonic        bool          `flag:"monotonic" usage:"meters: hold back a reading lower than the last accepted one"`
	MaxDelta         uint64        `flag:"max-delta" usage:"meters: hold back a reading that differs from the last accepted one by more than N (0: no limit)"`
	Agree            int           `flag:"agree" default:"1" usage:"publish a reading only when K consecutive frames agree"`
	QueueDir         string        `flag:"queue-dir" usage:"durable queue of unsent readings (default $STATE_DIRECTORY/publish or ~/.local/state/edgecnn/publish)"`
	QueueMaxBytes    int64         `flag:"queue-max-bytes" default:"8388608" usage:"queue bound per sink; beyond it the oldest readings are dropped (counted)"`
	SWVersion        string        // edgecnn's version, announced to Home Assistant
}

// Settings are the values of `edgecnn run`'s flags; Build turns them into
// an Agent. Out and Log are set by the caller.
type Settings struct {
	Recognizer RecognizerSettings
	Numbers    Numbers
	// EngineMemorySet says whether --engine-memory was given; without it
	// a --memory budget sets the engine limit too (a quarter, 64 MiB to
	// 1 GiB).
	EngineMemorySet bool `set:"engine-memory"`
	Limits          LimitSettings
	Security        HTTPSecurity // Token is read from TokenFile
	TokenFile       string       `flag:"http-token-file" usage:"file holding a bearer token every HTTP path but /healthz requires"`
	ModelSHA256     string       `flag:"model-sha256" usage:"refuse to start unless the model file has this SHA-256 (default: MODEL.sha256, else SHA256SUMS beside the model, when present)"`
	Camera          string       `flag:"camera" default:"auto" usage:"frame source (see description)"`
	CameraOptions   camera.Options
	Size            string        `flag:"size" default:"640x480" usage:"capture size WxH"` // sets CameraOptions' Width and Height
	StaleAfter      time.Duration `flag:"stale-after" usage:"unhealthy when the camera delivered no frame for this long (0: the longer of 5 s and 10 frame intervals at --fps)"`
	WaitCamera      bool          `flag:"wait-camera" usage:"if the camera cannot be opened at start, keep retrying (unhealthy) instead of exiting"`
	GPIOTrigger     string        `flag:"gpio-trigger" usage:"GPIO pin name of a capture button (e.g. GPIO17), active low"`
	GPIOLED         string        `flag:"gpio-led" usage:"GPIO pin name of an LED lit while a digit is recognized"`
	Collect         CollectSettings
	Publish         PublishSettings
	Smooth          int    `flag:"smooth" default:"1" usage:"majority vote over the last K frames"`
	MaxFrames       int    `flag:"max-frames" usage:"stop after N processed frames (0: run until stopped)"`
	HTTPAddr        string `flag:"http" usage:"serve the HTTP API on this address, e.g. 127.0.0.1:8080"`
	HealthAddr      string `flag:"health-http" usage:"answer GET /healthz on this address (e.g. 127.0.0.1:8081) from a small process of its own, at once however busy the API is (docs/security.md)"`
	// HealthCommand starts the health responder (see Config.HealthCommand).
	HealthCommand []string
	Out           io.Writer
	Log           *slog.Logger
}

// Build checks s, opens what it names (one recognizer as a probe, the
// camera, GPIO, systemd notification, the collector, the publisher) and
// returns the Agent and the cleanup to call after Run. Unless GOMEMLIMIT
// is set it also sets the Go memory limit from the memory budget.
func Build(ctx context.Context, s Settings) (*Agent, func(), error) {
	log := s.Log
	limits, sec, mem, memSrc, err := s.limits()
	if err != nil {
		return nil, nil, err
	}
	model := s.Recognizer.Model
	if how, err := VerifyModel(model, s.ModelSHA256); err != nil {
		return nil, nil, err
	} else if how != "" {
		log.Info("model verified", "model", model, "sha256", how)
	} else {
		log.Info("model not verified: no --model-sha256, sidecar or SHA256SUMS entry", "sidecar", SumFile(model))
	}
	newRec, err := NewRecognizerFactory(s.Recognizer)
	if err != nil {
		return nil, nil, err
	}
	judge, err := s.Recognizer.JudgeFile()
	if err != nil {
		return nil, nil, err
	}
	if judge != "" {
		// A release's SHA256SUMS lists the judge too (edgecnn flash ships
		// it beside the model).
		if how, err := VerifyModel(judge, ""); err != nil {
			return nil, nil, fmt.Errorf("judge: %w", err)
		} else if how != "" {
			log.Info("judge verified", "judge", judge, "sha256", how)
		}
	}
	// Open one recognizer now so a bad model fails before anything starts.
	probe, err := newRec()
	if err != nil {
		return nil, nil, err
	}
	place := runtime.PlacementOf(probe.Engine(), s.Recognizer.Engine.Options())
	probe.Engine().Close()
	openCam, stale, err := s.camera(ctx)
	if err != nil {
		return nil, nil, err
	}
	trig, led, err := OpenGPIO(s.GPIOTrigger, s.GPIOLED)
	if err != nil {
		return nil, nil, err
	}
	notifier, err := NotifierFromEnv()
	if err != nil {
		return nil, nil, err
	}
	wd, err := WatchdogInterval()
	if err != nil {
		return nil, nil, err
	}
	col, err := s.Collect.open(model, log)
	if err != nil {
		return nil, nil, err
	}
	closeCol := func() {
		if col != nil {
			col.Close()
		}
	}
	pub, err := s.Publish.open(log)
	if err != nil {
		closeCol()
		return nil, nil, err
	}
	cfg := Config{
		OpenCamera: openCam, NewRecognizer: newRec,
		Smooth: s.Smooth, MaxFrames: s.MaxFrames, Out: s.Out,
		HTTPAddr: s.HTTPAddr, HealthAddr: s.HealthAddr, HealthCommand: s.HealthCommand, Limits: limits, Security: sec,
		OneShot: strings.HasPrefix(s.Camera, "stdin:"), StaleAfter: stale, Placement: &place,
		Trigger: trig, LED: led, Notifier: notifier, Watchdog: wd, Log: log,
		Collector: col,
	}
	if pub != nil {
		version, err := publish.ModelVersion(model)
		if err != nil {
			pub.Close()
			closeCol()
			return nil, nil, err
		}
		cfg.Publish = func(r publish.Reading) { r.Model = version; pub.Offer(r) }
		cfg.ExtraMetrics = pub.Collectors()
	}
	a, err := New(cfg)
	if err != nil {
		if pub != nil {
			pub.Close()
		}
		closeCol()
		return nil, nil, err
	}
	cleanup := closeCol
	if pub != nil {
		stop := pub.Start(3 * time.Second)
		cleanup = func() {
			if left := stop(); left > 0 {
				log.Warn("publish: readings left queued on disk for the next start", "queued", left)
			}
			closeCol()
		}
	}
	if judge == "" {
		judge = NoJudge
	}
	log.Info("running", "camera", s.Camera, "model", model, "judge", judge, "backend", s.Recognizer.Engine.Backend,
		"memory_mib", mem>>20, "memory_from", memSrc)
	return a, cleanup, nil
}

// limits derives the HTTP limits and security from the memory budget and
// the flags given. Unless GOMEMLIMIT is set it also sets the Go memory
// limit; a --memory budget without --engine-memory sets the engine limit.
func (s *Settings) limits() (limits Limits, sec HTTPSecurity, mem int64, memSrc string, err error) {
	nums := s.Numbers
	if err := nums.Check(); err != nil {
		return limits, sec, 0, "", err
	}
	mem, memSrc = MemoryAvailable()
	if nums.MemoryMiB > 0 {
		mem, memSrc = int64(nums.MemoryMiB)<<20, "--memory"
	}
	limits = LimitsFor(mem)
	if nums.MemoryMiB > 0 && !s.EngineMemorySet {
		// The engine limit follows --memory too (a quarter, 64 MiB to 1 GiB).
		s.Recognizer.Engine.MemoryMiB = min(max(nums.MemoryMiB/4, 64), 1024)
	}
	if err := s.Limits.apply(&limits); err != nil {
		return limits, sec, 0, "", err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(GoMemoryLimit(mem))
	}
	sec = s.Security
	if s.TokenFile != "" {
		tok, err := ReadTokenFile(s.TokenFile)
		if err != nil {
			return limits, sec, 0, "", err
		}
		sec.Token = tok
	}
	if err := sec.Check(); err != nil {
		return limits, sec, 0, "", err
	}
	return limits, sec, mem, memSrc, nil
}

// camera checks the camera settings and opens the camera once, so that a
// camera that cannot be opened fails fast (unless WaitCamera: a service
// that starts before the camera appears); once running, camera failures
// are retried with backoff. It returns the agent's OpenCamera and the
// stale-frame limit.
func (s *Settings) camera(ctx context.Context) (func(context.Context) (camera.Source, error), time.Duration, error) {
	w, h, err := camera.ParseSize(s.Size)
	if err != nil {
		return nil, 0, fmt.Errorf("--size: %w", err)
	}
	copt := s.CameraOptions
	copt.Width, copt.Height = w, h
	spec := s.Camera
	stale := s.StaleAfter
	if stale == 0 {
		stale = max(5*time.Second, time.Duration(10/s.Numbers.FPS*float64(time.Second)))
	}
	if stale < 0 || stale > 24*time.Hour {
		return nil, 0, fmt.Errorf("--stale-after %v out of range [0, 24h]", stale)
	}
	first, err := camera.Open(ctx, spec, copt)
	if err != nil && (!s.WaitCamera || errors.Is(err, camera.ErrSpec)) {
		return nil, 0, err
	}
	if err != nil {
		s.Log.Warn("camera not available yet; retrying with backoff", "err", err)
	}
	return func(ctx context.Context) (camera.Source, error) {
		if first != nil {
			src := first
			first = nil
			return src, nil
		}
		return camera.Open(ctx, spec, copt)
	}, stale, nil
}

// apply overrides the limits derived from the memory with the ones given.
func (ls LimitSettings) apply(limits *Limits) error {
	for _, o := range []struct {
		flag string
		v    *int
		dst  any
		unit int64
	}{{"http-max-conns", ls.MaxConns, &limits.MaxConns, 1}, {"http-decode-budget", ls.DecodeBudgetMiB, &limits.DecodeBudget, 1 << 20},
		{"http-max-pixels", ls.MaxPixels, &limits.MaxPixels, 1}, {"http-max-upload", ls.MaxUploadKiB, &limits.MaxUpload, 1 << 10}} {
		if o.v == nil {
			continue
		}
		v := int64(*o.v)
		if v <= 0 {
			return fmt.Errorf("--%s %d must be positive", o.flag, v)
		}
		switch d := o.dst.(type) {
		case *int:
			*d = int(v)
		case *int64:
			*d = min(v, 1<<40) * o.unit
		}
	}
	if ls.Workers != nil {
		if err := CheckInt("http-workers", *ls.Workers, MinWorkers, MaxWorkers); err != nil {
			return err
		}
		limits.Workers = *ls.Workers
	}
	if ls.QueueWait != nil {
		limits.QueueWait = *ls.QueueWait
	}
	return limits.Check()
}

// open opens the collector s asks for (nil without a Dir).
func (s CollectSettings) open(model string, log *slog.Logger) (*collect.Collector, error) {
	if s.Dir == "" {
		if s.WithoutDir != "" {
			return nil, fmt.Errorf("--%s needs --collect DIR", s.WithoutDir)
		}
		return nil, nil
	}
	if !(s.Below >= 0 && s.Below <= 1) {
		return nil, fmt.Errorf("--collect-below %v out of range [0, 1]", s.Below)
	}
	if !(s.Rate >= 0 && s.Rate <= 1) {
		return nil, fmt.Errorf("--collect-rate %v out of range [0, 1]", s.Rate)
	}
	if s.MaxMiB <= 0 {
		return nil, fmt.Errorf("--collect-max-mb %d must be positive", s.MaxMiB)
	}
	if s.MinFreeMiB < 0 {
		return nil, fmt.Errorf("--collect-min-free-mb %d is negative", s.MinFreeMiB)
	}
	if s.MinGap < 0 {
		return nil, fmt.Errorf("--collect-min-gap %v is negative", s.MinGap)
	}
	cfg := collect.Config{Dir: s.Dir, LabelDir: s.LabelDir, Below: float32(s.Below), Rate: s.Rate,
		MaxBytes: int64(s.MaxMiB) << 20, MinFree: int64(s.MinFreeMiB) << 20, MinGap: s.MinGap, Log: log}
	// 0 means "off" on the command line; the package's zero value means default.
	if s.Below == 0 {
		cfg.Below = -1
	}
	if s.Rate == 0 {
		cfg.Rate = -1
	}
	if cfg.MinGap == 0 {
		cfg.MinGap = -1
	}
	if cfg.MinFree == 0 {
		cfg.MinFree = -1
	}
	v, err := collect.ModelVersion(model)
	if err != nil {
		return nil, err
	}
	cfg.ModelVersion = v
	return collect.New(cfg)
}

// open opens the publisher s asks for (nil: no sink given).
func (s PublishSettings) open(log *slog.Logger) (*publish.Publisher, error) {
	policy, err := publish.ParsePolicy(s.Policy)
	if err != nil {
		return nil, err
	}
	if s.Agree < 1 || s.Agree > 1000 {
		return nil, fmt.Errorf("--agree %d out of range [1, 1000]", s.Agree)
	}
	agree := s.Agree
	if agree == 1 {
		agree = 0 // one frame always agrees with itself
	}
	ps := publish.Setup{Options: publish.Options{Policy: policy, QueueDir: s.QueueDir,
		Queue: publish.QueueOptions{MaxBytes: s.QueueMaxBytes}, Log: log,
		Plausibility: publish.Plausibility{Monotonic: s.Monotonic, MaxDelta: s.MaxDelta, Agree: agree}}}
	if s.MQTT != "" {
		ps.MQTT = &publish.MQTTConfig{URL: s.MQTT, CAFile: s.MQTTCA, CertFile: s.MQTTCert,
			KeyFile: s.MQTTKey, Topic: s.MQTTTopic, ID: s.MQTTID,
			Discovery: s.Discovery, Model: "edgecnn digit reader", SWVersion: s.SWVersion, Log: log}
	} else if s.MQTTOnlyFlagsSet {
		return nil, errors.New("--mqtt-ca, --mqtt-cert, --mqtt-topic and --mqtt-id need --mqtt")
	}
	if s.Webhook != "" {
		ps.Webhook = &publish.WebhookConfig{URL: s.Webhook, Timeout: s.WebhookTimeout}
	}
	return publish.Open(ps)
}
