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
	"github.com/edgecnn/edgecnn/runtime"
)

// OpenModel opens a model file with a backend as `edgecnn predict`, `run`
// and `eval` do: the onnxruntime backend given a .tflite path uses its
// .onnx twin, as `edgecnn export` and `make demo` write them side by side;
// everything else is OpenEngine.
func OpenModel(backend, path string, opt runtime.Options) (runtime.Engine, error) {
	if backend == "onnxruntime" && strings.EqualFold(filepath.Ext(path), ".tflite") {
		path = strings.TrimSuffix(path, filepath.Ext(path)) + ".onnx"
	}
	return OpenEngine(backend, path, opt)
}

// RecognizerSettings are the recognizer flags shared by `edgecnn predict`
// and `edgecnn run`, as given on the command line.
type RecognizerSettings struct {
	Model   string          // model file (--model)
	Backend string          // runtime backend (--backend)
	Engine  runtime.Options // engine options (--threads, --xnnpack, …)
	ROI     string          // --roi x,y,w,h
	Regions string          // --rois JSON file
	Multi   bool            // --multi
	// MinConfidence is --min-confidence; MinConfidenceSet says whether it
	// was given (unset: the model's reject threshold).
	MinConfidence    float64
	MinConfidenceSet bool
	Polarity         string // --polarity
	Threshold        string // --threshold
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
	var regions []preprocess.Region
	if s.Regions != "" {
		if s.Multi || s.ROI != "" {
			return nil, fmt.Errorf("--rois sets every digit's region: drop --multi and --roi")
		}
		if regions, err = preprocess.LoadRegions(s.Regions); err != nil {
			return nil, err
		}
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
		Preprocess:    preprocess.Config{ROI: roi, Multi: s.Multi, Polarity: pol, Threshold: th},
		MinConfidence: float32(mc),
		Regions:       regions,
	}
	return func() (*Recognizer, error) {
		eng, err := OpenModel(s.Backend, s.Model, s.Engine)
		if err != nil {
			return nil, err
		}
		r, err := NewRecognizer(eng, cfg)
		if err != nil {
			eng.Close()
			return nil, err
		}
		return r, nil
	}, nil
}

// LimitSettings are the HTTP limit flags of `edgecnn run`; nil means the
// flag was not given (the value derived from the memory applies).
type LimitSettings struct {
	MaxConns        *int           // --http-max-conns
	DecodeBudgetMiB *int           // --http-decode-budget
	MaxPixels       *int           // --http-max-pixels
	MaxUploadKiB    *int           // --http-max-upload
	Workers         *int           // --http-workers
	QueueWait       *time.Duration // --http-queue-wait
}

// CollectSettings are the --collect flags of `edgecnn run`, as given on
// the command line: 0 turns a feature off (collect.Config's zero value
// means its default).
type CollectSettings struct {
	Dir, LabelDir      string
	Below, Rate        float64
	MaxMiB, MinFreeMiB int
	MinGap             time.Duration
	// WithoutDir names a --collect-* flag given without --collect ("":
	// none); open refuses it.
	WithoutDir string
}

// PublishSettings are the publishing flags of `edgecnn run`.
type PublishSettings struct {
	Policy            string // --publish
	Agree             int    // --agree
	QueueDir          string
	QueueMaxBytes     int64
	Monotonic         bool
	MaxDelta          uint64
	MQTT              string // broker URL ("": none)
	MQTTCA, MQTTCert  string
	MQTTKey           string
	MQTTTopic, MQTTID string
	MQTTOnlyFlagsSet  bool // one of --mqtt-ca, --mqtt-cert, --mqtt-topic, --mqtt-id given
	Discovery         string
	Webhook           string
	WebhookTimeout    time.Duration
	SWVersion         string // edgecnn's version, announced to Home Assistant
}

// Settings are the values of `edgecnn run`'s flags; Build turns them into
// an Agent.
type Settings struct {
	Recognizer RecognizerSettings
	Numbers    Numbers
	// EngineMemorySet says whether --engine-memory was given; without it
	// a --memory budget sets the engine limit too (a quarter, 64 MiB to
	// 1 GiB).
	EngineMemorySet bool
	Limits          LimitSettings
	Security        HTTPSecurity // Token is read from TokenFile
	TokenFile       string
	ModelSHA256     string
	Camera          string // --camera spec
	CameraOptions   camera.Options
	Size            string // --size WxH (sets CameraOptions' Width and Height)
	StaleAfter      time.Duration
	WaitCamera      bool
	GPIOTrigger     string
	GPIOLED         string
	Collect         CollectSettings
	Publish         PublishSettings
	Smooth          int
	MaxFrames       int
	HTTPAddr        string
	HealthAddr      string   // --health-http: the health responder's address ("": none)
	HealthCommand   []string // starts the health responder (see Config.HealthCommand)
	Out             io.Writer
	Log             *slog.Logger
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
	// Open one recognizer now so a bad model fails before anything starts.
	probe, err := newRec()
	if err != nil {
		return nil, nil, err
	}
	place := runtime.PlacementOf(probe.Engine(), s.Recognizer.Engine)
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
	log.Info("running", "camera", s.Camera, "model", model, "backend", s.Recognizer.Backend,
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
		s.Recognizer.Engine.MaxMemory = int64(min(max(nums.MemoryMiB/4, 64), 1024)) << 20
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
