package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgecnn/edgecnn/agent/collect"
	"github.com/edgecnn/edgecnn/agent/publish"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/prometheus/client_golang/prometheus"
)

// Config configures an Agent.
type Config struct {
	// OpenCamera opens (and, after a failure, reopens) the frame source.
	// Nil runs the HTTP API only.
	OpenCamera func(ctx context.Context) (camera.Source, error)
	// NewRecognizer makes a recognizer with its own engine; the loop and
	// each HTTP worker get one.
	NewRecognizer func() (*Recognizer, error)

	Smooth    int       // majority vote over the last K frames (default 1: none)
	MaxFrames int       // stop after this many processed frames (0: run until ctx ends or the source ends)
	Out       io.Writer // JSON lines, one per processed frame (nil: none)
	HTTPAddr  string    // listen address of the HTTP API ("" : no HTTP)
	// HealthAddr is the listen address of the health responder, a process
	// of its own that answers GET /healthz from the agent's health state
	// in shared memory however busy the agent is ("": none; see
	// healthproc.go). HealthCommand is the program and arguments that
	// start it: a process that calls ServeHealthResponder on descriptors
	// 3, 4 and 5.
	HealthAddr    string
	HealthCommand []string
	Listener      net.Listener  // alternative to HTTPAddr (tests)
	Workers       int           // concurrent /predict recognizers (0: Limits.Workers)
	MaxUpload     int64         // /predict body limit in bytes (0: Limits.MaxUpload)
	MaxPixels     int           // /predict image limit in pixels (0: Limits.MaxPixels)
	Trigger       Trigger       // capture only when it fires (nil: continuous)
	LED           LED           // lit while a digit is recognized (nil: none)
	Notifier      *Notifier     // sd_notify (nil: none)
	Watchdog      time.Duration // WATCHDOG=1 interval (0: none)
	// Collector keeps doubtful frames for labelling and serves /label
	// (nil: no collection); the caller closes it after Run.
	Collector *collect.Collector
	// BackoffMin and BackoffMax bound the reconnect delay, which doubles
	// per failure with ±20% jitter (defaults 100 ms and 10 s).
	BackoffMin, BackoffMax time.Duration
	Log                    *slog.Logger

	// Limits bound the HTTP API's memory; zero fields are derived from
	// the memory available (LimitsFor(MemoryAvailable())). Workers,
	// MaxUpload and MaxPixels above override the fields of the same name.
	Limits Limits
	// Security: token, TLS and Host allow-list of the HTTP API.
	Security HTTPSecurity
	// OneShot marks a source that cannot be reopened (a stdin stream):
	// when it fails, Run returns the error (the process exits non-zero
	// and systemd restarts it) instead of reopening it forever, and a
	// frame cut short by the end of input counts as a bad frame before a
	// clean end.
	OneShot bool
	// StaleAfter makes the agent unhealthy when the camera delivered no
	// frame for this long (0: never).
	StaleAfter time.Duration
	// Placement is where the engines run (runtime.PlacementOf); logged at
	// start and reported on /healthz and /metrics (nil: not reported).
	Placement *runtime.Placement
	// Publish receives each processed frame's smoothed reading (nil:
	// none); it must not block (publish.Publisher.Offer).
	Publish func(publish.Reading)
	// ExtraMetrics are served on /metrics beside the agent's own metrics
	// (the publisher's queue and delivery counters).
	ExtraMetrics []prometheus.Collector
}

// Agent is a running recognizer. Create it with New, start it with Run.
type Agent struct {
	cfg  Config
	m    *metrics
	log  *slog.Logger
	pool chan *Recognizer

	hs       atomic.Pointer[healthState] // what /healthz reports (shared with the health responder)
	fatal    atomic.Value                // error: the source failed for good (OneShot)
	droppedN atomic.Uint64
	beat     atomic.Int64 // unix nanos of the last loop heartbeat

	// latest-frame slot
	mu     sync.Mutex
	latest *camera.Frame
	notify chan struct{}
	taken  chan struct{} // signalled when process takes the slot's frame
	ended  bool          // the source reached its end

	// preview state
	pmu     sync.Mutex
	pFrame  image.Image
	pSeq    uint64
	pResult Result
	pTime   time.Time
	pJPEG   []byte
	pJSeq   uint64

	addr       atomic.Value // string: the HTTP listener address once listening
	healthAddr atomic.Value // string: the health responder's address once listening

	budget *budget // decoded-image bytes of /predict requests in flight
}

// Line is one JSON line written per processed frame.
type Line struct {
	Time          time.Time    `json:"time"`
	Seq           uint64       `json:"seq"`
	Digits        string       `json:"digits"`              // smoothed answer; "" means no digit
	Reason        string       `json:"reason,omitempty"`    // why Digits is "" (Result.Reason of the latest such frame)
	Rejection     string       `json:"rejection,omitempty"` // NoteConfidenceOnly for a model without the reject class
	Confidence    float32      `json:"confidence"`          // mean confidence of the smoothed answer's votes
	LatencyMS     float64      `json:"latency_ms"`          // capture → result
	RecognizeMS   float64      `json:"recognize_ms"`
	Raw           string       `json:"raw_digits"` // this frame's own answer
	RawConfidence float32      `json:"raw_confidence"`
	Boxes         []Prediction `json:"boxes,omitempty"`
	Dropped       uint64       `json:"dropped"` // stale frames dropped so far
	Truth         string       `json:"truth,omitempty"`
	File          string       `json:"file,omitempty"` // file sources: the image's path
}

// New validates cfg and prepares an agent.
func New(cfg Config) (*Agent, error) {
	if cfg.NewRecognizer == nil {
		return nil, errors.New("agent: no recognizer factory")
	}
	if cfg.OpenCamera == nil && cfg.HTTPAddr == "" && cfg.Listener == nil {
		return nil, errors.New("agent: nothing to do: no camera and no HTTP address")
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 100 * time.Millisecond
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = max(10*time.Second, cfg.BackoffMin)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, m: newMetrics(), log: cfg.Log, notify: make(chan struct{}, 1), taken: make(chan struct{}, 1),
		budget: newBudget(cfg.Limits.DecodeBudget)}
	if cfg.Collector != nil {
		a.m.reg.MustRegister(cfg.Collector.Metrics()...)
	}
	for _, c := range cfg.ExtraMetrics {
		if err := a.m.reg.Register(c); err != nil {
			return nil, fmt.Errorf("agent: metrics: %w", err)
		}
	}
	static := healthStatic{AllowHosts: append(DefaultAllowHosts(), cfg.Security.AllowHosts...)}
	if cfg.Placement != nil {
		js, err := json.Marshal(cfg.Placement)
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		static.Engine = js
	}
	hs, err := newHealthState(nil, cfg.OpenCamera != nil, cfg.StaleAfter, static)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.hs.Store(hs)
	a.reportPlacement()
	if cfg.OpenCamera != nil {
		a.m.healthy.Set(0)
	} else {
		a.m.healthy.Set(1)
	}
	return a, nil
}

// Healthy reports whether the camera is delivering frames (always true
// without a camera).
func (a *Agent) Healthy() bool { ok, _ := a.health(); return ok }

// Addr is the HTTP listener's address once Run listens ("" before).
func (a *Agent) Addr() string {
	s, _ := a.addr.Load().(string)
	return s
}

// HealthAddr is the health responder's address once Run started it ("" before
// or without one).
func (a *Agent) HealthAddr() string {
	s, _ := a.healthAddr.Load().(string)
	return s
}

func (a *Agent) setHealthy(ok bool) {
	a.hs.Load().setHealthy(ok)
	if ok {
		a.m.healthy.Set(1)
	} else {
		a.m.healthy.Set(0)
	}
}

// Run runs the agent until ctx ends (graceful stop: SIGTERM), the source
// ends, or MaxFrames frames were processed. It returns nil on those, or
// the error that prevented it from running.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := 0
	if a.cfg.HTTPAddr != "" || a.cfg.Listener != nil {
		n = a.cfg.Workers
	}
	rec, err := a.openRecognizers(n)
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	errc := make(chan error, 3)
	var respErr atomic.Value // error: the health responder exited on its own
	if a.cfg.HealthAddr != "" {
		resp, addr, err := a.startHealthResponder()
		if err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		a.healthAddr.Store(addr)
		a.log.Info("health responder listening", "addr", addr, "pid", resp.cmd.Process.Pid)
		defer resp.close()
		go func() {
			select {
			case err := <-resp.done:
				resp.done <- err // for close
				if ctx.Err() == nil {
					err = fmt.Errorf("agent: health responder exited: %v", err)
					respErr.Store(err)
					a.log.Error("health responder exited; stopping", "err", err)
					errc <- err
					cancel()
				}
			case <-ctx.Done():
			}
		}()
	}
	var srv *http.Server
	if n > 0 {
		if srv, err = a.serveHTTP(&wg, errc); err != nil {
			return err
		}
	}
	if err := a.cfg.Notifier.Notify("READY=1"); err != nil {
		a.log.Warn("sd_notify", "err", err)
	}
	if a.cfg.StaleAfter > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); a.watchStale(ctx) }()
	}
	if a.cfg.Watchdog > 0 && a.cfg.Notifier != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.watchdog(ctx) }()
	}
	var loopErr error
	if a.cfg.OpenCamera != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.capture(ctx) }()
		loopErr = a.process(ctx, rec)
		if err, ok := a.fatal.Load().(error); ok && loopErr == nil {
			loopErr = fmt.Errorf("agent: %w", err)
		}
		if err, ok := respErr.Load().(error); ok && loopErr == nil {
			loopErr = err
		}
		cancel()
	} else {
		select {
		case <-ctx.Done():
		case loopErr = <-errc:
		}
	}
	a.cfg.Notifier.Notify("STOPPING=1")
	if srv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		scancel()
	}
	cancel()
	wg.Wait()
	if a.cfg.LED != nil {
		a.cfg.LED.Set(false)
	}
	if rec != nil {
		rec.Close()
	}
	// Close the idle recognizers' engines. The pool is not closed: a
	// handler that outlived the shutdown timeout can still return its
	// recognizer without panicking.
	for drained := false; !drained; {
		select {
		case r := <-a.pool:
			r.Close()
		default:
			drained = true
		}
	}
	if loopErr == nil {
		select {
		case loopErr = <-errc:
		default:
		}
	}
	return loopErr
}

// openRecognizers makes the pool of n recognizers the HTTP handlers
// share and, with a camera, the capture loop's own recognizer (returned),
// and logs how non-digits are rejected.
func (a *Agent) openRecognizers(n int) (*Recognizer, error) {
	a.pool = make(chan *Recognizer, n)
	var rec *Recognizer
	if a.cfg.OpenCamera != nil {
		r, err := a.cfg.NewRecognizer()
		if err != nil {
			return nil, err
		}
		rec = r
	}
	for i := 0; i < n; i++ {
		r, err := a.cfg.NewRecognizer()
		if err != nil {
			return nil, err
		}
		a.pool <- r
	}
	if r := rec; r != nil || n > 0 {
		if r == nil {
			r = <-a.pool
			a.pool <- r
		}
		rj := r.Rejection()
		if note := r.Note(); note != "" {
			a.log.Warn("rejection of non-digits is by confidence only: the model has no \"x\" (not a digit) class", "min_confidence", rj.Threshold, "source", rj.Source)
		} else {
			a.log.Info("rejection", "class", true, "min_confidence", rj.Threshold, "source", rj.Source)
		}
	}
	return rec, nil
}

// serveHTTP starts the HTTP(S) server on the configured listener or
// address, behind the connection guard; it runs on wg and reports a
// failure to serve on errc.
func (a *Agent) serveHTTP(wg *sync.WaitGroup, errc chan<- error) (*http.Server, error) {
	tlsCfg, err := a.cfg.Security.tlsConfig()
	if err != nil {
		return nil, fmt.Errorf("agent: http: %w", err)
	}
	ln := a.cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", a.cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("agent: http: %w", err)
		}
	}
	guard := newGuardListener(ln, a.cfg.Limits.MaxConns, a.m.shed.Inc)
	guard.tls = tlsCfg != nil
	a.m.watchConns(guard)
	a.addr.Store(ln.Addr().String())
	srv := a.server(tlsCfg)
	guard.serveOne = func(c net.Conn) {
		if err := srv.Serve(&oneConnListener{c: c, addr: ln.Addr()}); errors.Is(err, http.ErrServerClosed) {
			c.Close()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		if tlsCfg != nil {
			err = srv.ServeTLS(guard, "", "")
		} else {
			err = srv.Serve(guard)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("agent: http: %w", err)
		}
	}()
	a.logListening(ln.Addr().String(), tlsCfg != nil)
	return srv, nil
}

func (a *Agent) watchdog(ctx context.Context) {
	t := time.NewTicker(a.cfg.Watchdog)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Only a live loop pets the watchdog: a hung one gets restarted.
			if a.cfg.OpenCamera == nil || time.Since(time.Unix(0, a.beat.Load())) < 2*a.cfg.Watchdog+time.Second {
				a.cfg.Notifier.Notify("WATCHDOG=1")
			}
		}
	}
}

// capture reads frames into the latest-frame slot, reconnecting with
// exponential backoff when the source fails.
func (a *Agent) capture(ctx context.Context) {
	defer func() {
		a.mu.Lock()
		a.ended = true
		a.mu.Unlock()
		a.signal()
	}()
	backoff := a.cfg.BackoffMin
	failures := 0
	for ctx.Err() == nil {
		src, err := a.cfg.OpenCamera(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.setHealthy(false)
			a.m.cameraErrors.Inc()
			failures++
			a.log.Warn("camera open failed; retrying", "err", err, "in", backoff)
			if !sleep(ctx, jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, a.cfg.BackoffMax)
			continue
		}
		if failures > 0 {
			a.m.reconnects.Inc()
			a.log.Info("camera reconnected", "source", src.String())
		}
		end, err := a.read(ctx, src)
		src.Close()
		if end || ctx.Err() != nil {
			return
		}
		a.setHealthy(false)
		a.m.cameraErrors.Inc()
		if a.cfg.OneShot {
			a.log.Error("camera failed and cannot be reopened; exiting", "source", src.String(), "err", err)
			ferr := fmt.Errorf("camera %s failed and cannot be reopened: %w", src.String(), err)
			a.fatal.Store(ferr)
			a.hs.Load().setFatal(ferr.Error())
			return
		}
		failures++
		a.log.Warn("camera failed; reconnecting", "err", err, "in", backoff)
		if !sleep(ctx, jitter(backoff)) {
			return
		}
		if failures > 1 {
			backoff = min(2*backoff, a.cfg.BackoffMax)
		}
	}
}

// read pulls frames until the source fails (end=false) or ends (end=true).
func (a *Agent) read(ctx context.Context, src camera.Source) (end bool, err error) {
	lossless := false
	if l, ok := src.(camera.Lossless); ok {
		lossless = l.Lossless()
	}
	for {
		if lossless && !a.waitTaken(ctx) {
			return false, ctx.Err()
		}
		f, err := src.Next(ctx)
		a.beat.Store(time.Now().UnixNano())
		switch {
		case err == nil:
		case errors.Is(err, camera.ErrBadFrame):
			a.m.badFrames.Inc()
			a.hs.Load().badFrame()
			a.log.Debug("bad frame skipped", "err", err)
			continue
		case errors.Is(err, io.EOF):
			return true, nil
		case a.cfg.OneShot && errors.Is(err, io.ErrUnexpectedEOF):
			a.m.badFrames.Inc()
			a.hs.Load().badFrame()
			a.log.Warn("input ended inside a frame; frame skipped", "err", err)
			return true, nil
		default:
			return false, err
		}
		a.hs.Load().frameOK()
		if !a.hs.Load().healthy() {
			a.setHealthy(true)
		}
		a.m.frames.Inc()
		a.mu.Lock()
		if a.latest != nil {
			a.m.dropped.Inc()
			a.droppedN.Add(1)
		}
		a.latest = &f
		a.mu.Unlock()
		a.signal()
	}
}

// waitTaken blocks until the latest-frame slot is empty (the previous
// frame was taken), so a lossless source drops nothing; false when ctx
// ends first.
func (a *Agent) waitTaken(ctx context.Context) bool {
	for {
		a.mu.Lock()
		empty := a.latest == nil
		a.mu.Unlock()
		if empty {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-a.taken:
		}
	}
}

func (a *Agent) signal() {
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

// take waits for the newest frame; ok is false when the source ended and
// no frame is left, or ctx is done.
func (a *Agent) take(ctx context.Context) (camera.Frame, bool) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		a.mu.Lock()
		f, ended := a.latest, a.ended
		a.latest = nil
		a.mu.Unlock()
		if f != nil {
			select {
			case a.taken <- struct{}{}:
			default:
			}
			return *f, true
		}
		if ended {
			return camera.Frame{}, false
		}
		select {
		case <-ctx.Done():
			return camera.Frame{}, false
		case <-a.notify:
		case <-t.C:
			a.beat.Store(time.Now().UnixNano())
		}
	}
}

type vote struct {
	text   string
	conf   float32
	reason string
}

func (a *Agent) process(ctx context.Context, rec *Recognizer) error {
	window := make([]vote, 0, a.cfg.Smooth)
	var enc *json.Encoder
	if a.cfg.Out != nil {
		enc = json.NewEncoder(a.cfg.Out)
	}
	processed := 0
	ledOn := false
	for {
		if a.cfg.Trigger != nil {
			if err := a.cfg.Trigger.Wait(ctx); err != nil {
				return nil // ctx ended
			}
			// Only a frame captured after the press counts.
			a.mu.Lock()
			a.latest = nil
			a.mu.Unlock()
		}
		f, ok := a.take(ctx)
		if !ok {
			return nil
		}
		a.beat.Store(time.Now().UnixNano())
		t0 := time.Now()
		res, err := rec.Recognize(ctx, f.Image)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		done := time.Now()
		a.m.processed.Inc()
		a.m.infer.Observe(done.Sub(t0).Seconds())
		a.m.latency.Observe(done.Sub(f.Time).Seconds())
		if res.OK() {
			for _, d := range res.Digits {
				a.m.recognized.WithLabelValues(d.Label).Inc()
			}
		} else {
			a.m.noDigit.Inc()
		}
		if len(window) == a.cfg.Smooth {
			copy(window, window[1:])
			window = window[:len(window)-1]
		}
		window = append(window, vote{res.Text, res.Confidence, res.Reason})
		text, conf := majority(window)
		reason := ""
		if text == "" {
			reason = ReasonNoInk
			for i := len(window) - 1; i >= 0; i-- {
				if window[i].text == "" {
					reason = window[i].reason
					break
				}
			}
		}
		if a.cfg.Collector != nil {
			a.collect(rec, f, res, window, text, done)
		}
		if a.cfg.LED != nil && (text != "") != ledOn {
			ledOn = text != ""
			if err := a.cfg.LED.Set(ledOn); err != nil {
				a.log.Warn("led", "err", err)
			}
		}
		a.pmu.Lock()
		a.pFrame, a.pSeq, a.pResult, a.pTime = f.Image, f.Seq, res, done
		a.pmu.Unlock()
		if a.cfg.Publish != nil {
			a.cfg.Publish(reading(f, text, conf, res))
		}
		if enc != nil {
			line := Line{Time: done.UTC(), Seq: f.Seq, Digits: text, Reason: reason, Rejection: res.Rejection, Confidence: conf,
				LatencyMS:   float64(done.Sub(f.Time).Microseconds()) / 1000,
				RecognizeMS: float64(done.Sub(t0).Microseconds()) / 1000,
				Raw:         res.Text, RawConfidence: res.Confidence, Boxes: res.Digits,
				Dropped: a.droppedN.Load(), Truth: f.Truth, File: f.Name}
			if err := enc.Encode(line); err != nil {
				return fmt.Errorf("agent: writing results: %w", err)
			}
		}
		processed++
		if a.cfg.MaxFrames > 0 && processed >= a.cfg.MaxFrames {
			return nil
		}
	}
}

// reading is the published form of a processed frame's smoothed answer.
func reading(f camera.Frame, text string, conf float32, res Result) publish.Reading {
	r := publish.Reading{Time: f.Time.UTC(), Seq: f.Seq, Digits: text, Confidence: conf}
	switch {
	case text != "":
	case res.Text == "" && res.Reason != "":
		r.Reason = res.Reason // ReasonNoInk, ReasonNotDigit, ReasonLowConfidence, ReasonLength
	case res.Rejected > 0:
		r.Reason = ReasonLowConfidence
	default:
		r.Reason = ReasonNoInk
	}
	return r
}

// majority returns the most frequent text in the window (ties: the most
// recent) and the mean confidence of its votes.
func majority(w []vote) (string, float32) {
	best, bestN := "", 0
	for i := len(w) - 1; i >= 0; i-- {
		n := 0
		for _, v := range w {
			if v.text == w[i].text {
				n++
			}
		}
		if n > bestN {
			best, bestN = w[i].text, n
		}
	}
	var s float32
	for _, v := range w {
		if v.text == best {
			s += v.conf
		}
	}
	return best, s / float32(bestN)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
