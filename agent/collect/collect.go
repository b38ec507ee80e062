// Package collect keeps the camera frames a user would want to label: the
// ones the recognizer doubted (a digit below a confidence threshold), the
// ones where the smoothed answer flickers, and a small random sample.
//
// Observe runs on the recognizer's path and only decides and copies the
// 28×28 crops (the frame itself is never reused by camera sources, so it
// is passed by reference); a writer goroutine encodes and writes the files
// behind a bounded queue (full queue: the frame is dropped and counted).
//
// # Layout
//
//	DIR/inbox/ID.json      sidecar (written last: a frame without it is incomplete)
//	DIR/inbox/ID.jpg       the full frame
//	DIR/inbox/ID-K.png     crop K, 28×28 gray, white ink on black (MNIST polarity)
//	DIR/skipped/ID-K.png   crops skipped in the labelling view
//	LABELDIR/<label>/ID-K.png  labelled crops: an image folder for `train --data`
//
// ID is the UTC capture time and a counter, e.g. 20261204T203012.123456Z-000042,
// so names sort by age. Every file is written atomically (temporary file and
// fsync in DIR/.staging, rename into the inbox); leftovers of a crash are
// removed by New. The disk quota
// (Config.MaxBytes) covers inbox and skipped; the oldest frames are deleted
// first. Labelled crops are the user's work and are never deleted.
//
// Config.MinFree stays free on the filesystem whatever the quota says (the
// oldest frames make room first). When a write fails (disk full, read-only
// filesystem), the reserve cannot be kept or the quota cannot hold one
// frame, collection pauses — recognition goes on — and Status
// says why; it is retried every Config.RetryEvery and resumes once a
// write succeeds.
package collect

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of Config.
const (
	DefaultBelow      = 0.9
	DefaultRate       = 0.01
	DefaultMaxBytes   = 200 << 20
	DefaultMinFree    = 64 << 20
	DefaultMinGap     = time.Second
	DefaultQueue      = 8
	DefaultRetryEvery = 30 * time.Second
)

// Reasons a frame is kept (in the sidecar's "reasons" and the metrics).
const (
	ReasonLowConfidence = "low-confidence"
	ReasonFlicker       = "flicker"
	ReasonSample        = "sample"
)

// Config configures a Collector.
type Config struct {
	Dir      string // collection directory (created)
	LabelDir string // labelled crops go to LABELDIR/<label>/ (default DIR/labelled)
	// Below keeps frames with a located digit whose confidence is below it
	// (including digits the recognizer rejected). Default DefaultBelow;
	// negative: never.
	Below float32
	// Rate is the fraction of other frames kept as a random sample
	// (default DefaultRate; negative: none).
	Rate float64
	// MaxBytes is the disk quota of inbox and skipped (default DefaultMaxBytes).
	MaxBytes int64
	// MinFree is the space left free on the directory's filesystem for the
	// system: when the disk is fuller than the quota assumed, the oldest
	// frames go first, and collection pauses when even that cannot keep
	// MinFree free (default DefaultMinFree; negative: none).
	MinFree int64
	// MinGap is the least time between two kept frames, so a camera staring
	// at one doubtful digit does not fill the quota with copies (default
	// DefaultMinGap; negative: no gap).
	MinGap time.Duration
	// Queue is the number of frames waiting for the writer (default DefaultQueue).
	Queue int
	// RetryEvery is how often a paused collection tries again (default DefaultRetryEvery).
	RetryEvery   time.Duration
	ModelVersion string // recorded in each sidecar
	JPEGQuality  int    // default 85
	Seed         uint64 // random sample seed (0: random)
	Log          *slog.Logger
}

// Crop is one located digit of an observed frame.
type Crop struct {
	Box        image.Rectangle // in frame coordinates
	Ink        []float32       // W×H ink, 0 (paper) … 1 (ink); only read during Observe
	W, H       int
	Label      string  // the model's answer for this crop
	Confidence float32 // its softmax probability
}

// Observation is one recognized frame, as Observe sees it.
type Observation struct {
	Time       time.Time
	Seq        uint64
	Frame      image.Image // never modified afterwards (camera sources do not reuse frames)
	Crops      []Crop      // read only during Observe
	Text       string      // this frame's answer ("" : no digit)
	Confidence float32
	Smoothed   string // the smoothed answer reported for this frame
	Flicker    bool   // the smoothing window disagreed and this frame was outvoted
}

// Sidecar is the JSON file written with each kept frame.
type Sidecar struct {
	ID         string        `json:"id"`
	Time       time.Time     `json:"time"`
	Seq        uint64        `json:"seq"`
	Model      string        `json:"model"`
	Reasons    []string      `json:"reasons"`
	Digits     string        `json:"digits"`
	Confidence float32       `json:"confidence"`
	Smoothed   string        `json:"smoothed"`
	Frame      string        `json:"frame"`
	Width      int           `json:"width"`
	Height     int           `json:"height"`
	Crops      []SidecarCrop `json:"crops"`
}

// SidecarCrop describes one crop file of a kept frame.
type SidecarCrop struct {
	File       string  `json:"file"`
	Label      string  `json:"label"` // the model's answer
	Confidence float32 `json:"confidence"`
	Box        [4]int  `json:"box"` // x, y, width, height in the frame
}

// Status says whether collection runs, and if not why.
type Status struct {
	State    string    `json:"state"` // "collecting" or "paused"
	Reason   string    `json:"reason,omitempty"`
	Since    time.Time `json:"since,omitzero"` // paused since
	Dir      string    `json:"dir"`
	Frames   int       `json:"frames"` // frames on disk (inbox)
	Bytes    int64     `json:"bytes"`
	MaxBytes int64     `json:"max_bytes"`
	Saved    uint64    `json:"saved"`
	Dropped  uint64    `json:"dropped"` // queue full, paused or failed
}

// Pause causes (the "cause" label of edgecnn_collect_paused).
const (
	causeDiskFull   = "disk_full"
	causeQuota      = "quota"
	causeWriteError = "write_error"
)

type cropData struct {
	box   image.Rectangle
	w, h  int
	pix   []uint8
	label string
	conf  float32
}

type job struct {
	id      string
	obs     Observation // Crops cleared
	reasons []string
	crops   []cropData
}

type entry struct {
	id    string
	bytes int64
}

// Collector keeps frames. Observe must be called from one goroutine at a
// time (the recognizer loop); everything else is safe for concurrent use.
type Collector struct {
	cfg  Config
	log  *slog.Logger
	q    chan *job
	done chan struct{}
	stop context.CancelFunc
	once sync.Once
	// writeFile is atomicfile.WriteFile; tests that cannot mount a small
	// filesystem inject a full disk through it.
	writeFile func(path string, data []byte, perm os.FileMode) error

	// Observe's own state (one goroutine).
	rng      *rand.Rand
	lastKept time.Time
	counter  uint64

	paused  atomic.Bool
	retryAt atomic.Int64 // unix nanos: a paused collector lets one frame through after it

	mu       sync.Mutex // guards the fields below
	index    []entry    // frames in inbox, oldest first
	used     int64
	reason   string
	cause    string
	since    time.Time
	saved    uint64
	dropped  atomic.Uint64
	sinceRsc int // writes since the last rescan

	mSaved   *prometheus.CounterVec
	mDropped *prometheus.CounterVec
	// children of mDropped used on the hot path
	mDropFull, mDropPaused prometheus.Counter
	mPaused                *prometheus.GaugeVec
	mBytes                 prometheus.GaugeFunc
	mEvicted               prometheus.Counter
}

// New prepares the collection directory (removing what a crash left
// half-written), enforces the quota and starts the writer. Close stops it.
func New(cfg Config) (*Collector, error) {
	if cfg.Dir == "" {
		return nil, errors.New("collect: no directory")
	}
	if cfg.LabelDir == "" {
		cfg.LabelDir = filepath.Join(cfg.Dir, "labelled")
	}
	if cfg.Below == 0 {
		cfg.Below = DefaultBelow
	}
	if cfg.Below > 1 {
		return nil, fmt.Errorf("collect: confidence threshold %v above 1", cfg.Below)
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Rate > 1 {
		return nil, fmt.Errorf("collect: sample rate %v above 1", cfg.Rate)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxBytes < 0 {
		return nil, fmt.Errorf("collect: negative quota %d", cfg.MaxBytes)
	}
	if cfg.MinGap == 0 {
		cfg.MinGap = DefaultMinGap
	}
	if cfg.MinFree == 0 {
		cfg.MinFree = DefaultMinFree
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.RetryEvery <= 0 {
		cfg.RetryEvery = DefaultRetryEvery
	}
	if cfg.JPEGQuality <= 0 || cfg.JPEGQuality > 100 {
		cfg.JPEGQuality = 85
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	c := &Collector{cfg: cfg, log: cfg.Log, q: make(chan *job, cfg.Queue), done: make(chan struct{}),
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), writeFile: atomicfile.WriteFile}
	if err := os.RemoveAll(c.staging()); err != nil { // what a crash left
		return nil, fmt.Errorf("collect: %w", err)
	}
	for _, d := range []string{c.inbox(), c.skippedDir(), c.staging(), cfg.LabelDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("collect: %w", err)
		}
	}
	if err := c.cleanup(); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	if err := c.rescan(); err != nil {
		return nil, fmt.Errorf("collect: %w", err)
	}
	c.evict(0, cfg.MaxBytes)
	c.initMetrics()
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go c.writer(ctx)
	return c, nil
}

// Dir is the collection directory; LabelDir the labelled image folder.
func (c *Collector) Dir() string      { return c.cfg.Dir }
func (c *Collector) LabelDir() string { return c.cfg.LabelDir }

func (c *Collector) inbox() string      { return filepath.Join(c.cfg.Dir, "inbox") }
func (c *Collector) skippedDir() string { return filepath.Join(c.cfg.Dir, "skipped") }
func (c *Collector) staging() string    { return filepath.Join(c.cfg.Dir, ".staging") }

// Close writes what is queued and stops the writer. It is idempotent.
func (c *Collector) Close() error {
	c.once.Do(func() {
		close(c.q)
		<-c.done
		c.stop()
	})
	return nil
}

// Observe decides whether to keep a frame and, if so, queues it for the
// writer; it reports whether the frame was queued. It never blocks and
// never touches the disk.
func (c *Collector) Observe(o Observation) bool {
	if len(o.Crops) == 0 || o.Frame == nil {
		return false
	}
	var reasons [3]string
	n := 0
	if c.cfg.Below > 0 {
		for i := range o.Crops {
			if o.Crops[i].Confidence < c.cfg.Below {
				reasons[n] = ReasonLowConfidence
				n++
				break
			}
		}
	}
	if o.Flicker {
		reasons[n] = ReasonFlicker
		n++
	}
	if c.cfg.Rate > 0 && c.rng.Float64() < c.cfg.Rate {
		reasons[n] = ReasonSample
		n++
	}
	if n == 0 {
		return false
	}
	if c.cfg.MinGap > 0 && !c.lastKept.IsZero() && o.Time.Sub(c.lastKept) < c.cfg.MinGap {
		return false
	}
	c.lastKept = o.Time // the gap counts from every attempt, kept or dropped
	if c.paused.Load() {
		if time.Now().UnixNano() < c.retryAt.Load() {
			c.drop(c.mDropPaused)
			return false
		}
		// Let one frame through to try again; the next try waits.
		c.retryAt.Store(time.Now().Add(c.cfg.RetryEvery).UnixNano())
	}
	if len(c.q) == cap(c.q) {
		c.drop(c.mDropFull) // the writer is behind: do not even copy
		return false
	}
	j := &job{obs: o, reasons: append([]string(nil), reasons[:n]...), crops: make([]cropData, len(o.Crops))}
	j.obs.Crops = nil
	for i, cr := range o.Crops {
		pix := make([]uint8, len(cr.Ink))
		for k, v := range cr.Ink {
			pix[k] = uint8(min(max(v, 0), 1)*255 + 0.5)
		}
		j.crops[i] = cropData{box: cr.Box, w: cr.W, h: cr.H, pix: pix, label: cr.Label, conf: cr.Confidence}
	}
	c.counter++
	j.id = o.Time.UTC().Format(idTime) + fmt.Sprintf("-%06d", c.counter%1000000)
	select {
	case c.q <- j:
		return true
	default:
		c.drop(c.mDropFull)
		return false
	}
}

func (c *Collector) drop(m prometheus.Counter) {
	m.Inc()
	c.dropped.Add(1)
}

// Status reports the collection state.
func (c *Collector) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{State: "collecting", Dir: c.cfg.Dir, Frames: len(c.index), Bytes: c.used, MaxBytes: c.cfg.MaxBytes,
		Saved: c.saved, Dropped: c.dropped.Load()}
	if c.reason != "" {
		s.State, s.Reason, s.Since = "paused", c.reason, c.since
	}
	return s
}

// Metrics are the collector's Prometheus metrics, for the agent's registry.
func (c *Collector) Metrics() []prometheus.Collector {
	return []prometheus.Collector{c.mSaved, c.mDropped, c.mPaused, c.mBytes, c.mEvicted}
}

func (c *Collector) initMetrics() {
	c.mSaved = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_collect_frames_saved_total",
		Help: "Frames kept for labelling, by reason (a frame kept for two reasons counts under both)."}, []string{"reason"})
	c.mDropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_collect_frames_dropped_total",
		Help: "Frames that should have been kept but were not: queue_full, paused or error."}, []string{"cause"})
	c.mPaused = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edgecnn_collect_paused",
		Help: "1 while collection is paused, by cause (disk_full, quota, write_error); see /healthz for the message."}, []string{"cause"})
	for _, r := range []string{ReasonLowConfidence, ReasonFlicker, ReasonSample} {
		c.mSaved.WithLabelValues(r)
	}
	c.mDropFull, c.mDropPaused = c.mDropped.WithLabelValues("queue_full"), c.mDropped.WithLabelValues("paused")
	c.mDropped.WithLabelValues("error")
	for _, k := range []string{causeDiskFull, causeQuota, causeWriteError} {
		c.mPaused.WithLabelValues(k).Set(0)
	}
	c.mBytes = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgecnn_collect_bytes",
		Help: "Bytes of collected frames on disk (inbox and skipped; the quota covers them)."},
		func() float64 { return float64(c.Status().Bytes) })
	c.mEvicted = prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_collect_frames_evicted_total",
		Help: "Collected frames deleted, oldest first, to stay within the disk quota."})
}

func (c *Collector) pause(cause, reason string) {
	c.mu.Lock()
	was := c.reason
	if was == "" {
		c.since = time.Now()
	}
	c.reason, c.cause = reason, cause
	c.mu.Unlock()
	for _, k := range []string{causeDiskFull, causeQuota, causeWriteError} {
		v := 0.0
		if k == cause {
			v = 1
		}
		c.mPaused.WithLabelValues(k).Set(v)
	}
	c.retryAt.Store(time.Now().Add(c.cfg.RetryEvery).UnixNano())
	c.paused.Store(true)
	if was == "" {
		c.log.Warn("collection paused; recognition goes on", "reason", reason, "retry_every", c.cfg.RetryEvery)
	}
}

func (c *Collector) resume() {
	if !c.paused.Load() {
		return
	}
	c.mu.Lock()
	was := c.reason
	c.reason, c.cause = "", ""
	c.mu.Unlock()
	for _, k := range []string{causeDiskFull, causeQuota, causeWriteError} {
		c.mPaused.WithLabelValues(k).Set(0)
	}
	c.paused.Store(false)
	c.log.Info("collection resumed", "was", was)
}

func (c *Collector) writer(ctx context.Context) {
	defer close(c.done)
	for j := range c.q {
		if err := c.write(j); err != nil {
			c.drop(c.mDropped.WithLabelValues("error"))
		}
	}
}

// diskFull reports whether err means there is no space (or no quota) left.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// write encodes and stores one frame; the sidecar goes last.
func (c *Collector) write(j *job) error {
	type file struct {
		name string
		data []byte
	}
	var files []file
	sc := Sidecar{ID: j.id, Time: j.obs.Time.UTC(), Seq: j.obs.Seq, Model: c.cfg.ModelVersion, Reasons: j.reasons,
		Digits: j.obs.Text, Confidence: j.obs.Confidence, Smoothed: j.obs.Smoothed, Frame: j.id + ".jpg"}
	b := j.obs.Frame.Bounds()
	sc.Width, sc.Height = b.Dx(), b.Dy()
	for k, cr := range j.crops {
		var buf bytes.Buffer
		img := &image.Gray{Pix: cr.pix, Stride: cr.w, Rect: image.Rect(0, 0, cr.w, cr.h)}
		if err := png.Encode(&buf, img); err != nil {
			return c.fail(causeWriteError, fmt.Errorf("collect: encoding crop: %w", err))
		}
		name := fmt.Sprintf("%s-%d.png", j.id, k)
		files = append(files, file{name, buf.Bytes()})
		sc.Crops = append(sc.Crops, SidecarCrop{File: name, Label: cr.label, Confidence: cr.conf,
			Box: [4]int{cr.box.Min.X, cr.box.Min.Y, cr.box.Dx(), cr.box.Dy()}})
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, j.obs.Frame, &jpeg.Options{Quality: c.cfg.JPEGQuality}); err != nil {
		return c.fail(causeWriteError, fmt.Errorf("collect: encoding frame: %w", err))
	}
	files = append(files, file{sc.Frame, buf.Bytes()})
	js, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return c.fail(causeWriteError, fmt.Errorf("collect: %w", err))
	}
	files = append(files, file{j.id + ".json", append(js, '\n')})
	var size int64
	for _, f := range files {
		size += int64(len(f.data))
	}
	if size > c.cfg.MaxBytes {
		return c.fail(causeQuota, fmt.Errorf("collect: the quota of %s cannot hold one frame of %s; raise --collect-max-mb",
			human(c.cfg.MaxBytes), human(size)))
	}
	limit := c.cfg.MaxBytes
	if c.cfg.MinFree > 0 {
		if free, ok := freeBytes(c.inbox()); ok {
			c.mu.Lock()
			limit = min(limit, c.used+free-c.cfg.MinFree)
			c.mu.Unlock()
			if limit < size {
				return c.fail(causeDiskFull, fmt.Errorf("collect: disk almost full: %s free on the filesystem of %s, %s of it kept free for the system (--collect-min-free-mb)",
					human(free), c.cfg.Dir, human(c.cfg.MinFree)))
			}
		}
	}
	c.evict(size, limit)
	// Each file is written atomically in the small staging directory (so
	// atomicfile's scan for stale temporary files stays cheap however full
	// the inbox is), then renamed into the inbox; the sidecar goes last.
	for i, f := range files {
		staged := filepath.Join(c.staging(), f.name)
		err := c.writeFile(staged, f.data, 0o644)
		if err == nil {
			if err = os.Rename(staged, filepath.Join(c.inbox(), f.name)); err != nil {
				os.Remove(staged)
			}
		}
		if err != nil {
			for _, g := range files[:i] {
				os.Remove(filepath.Join(c.inbox(), g.name))
			}
			if diskFull(err) {
				return c.fail(causeDiskFull, fmt.Errorf("collect: disk full: %w", err))
			}
			return c.fail(causeWriteError, fmt.Errorf("collect: %w", err))
		}
	}
	syncDir(c.inbox())
	c.mu.Lock()
	c.index = append(c.index, entry{j.id, size})
	c.used += size
	c.saved++
	c.sinceRsc++
	rescan := c.sinceRsc >= 256
	c.mu.Unlock()
	for _, r := range j.reasons {
		c.mSaved.WithLabelValues(r).Inc()
	}
	c.resume()
	if rescan {
		// Labelled crops leave the inbox behind the index's back: correct it.
		if err := c.rescan(); err != nil {
			c.log.Warn("collect: rescan", "err", err)
		}
	}
	return nil
}

func (c *Collector) fail(cause string, err error) error {
	c.pause(cause, err.Error())
	return err
}

// evict deletes the oldest frames until size more bytes fit in limit.
func (c *Collector) evict(size, limit int64) {
	for {
		c.mu.Lock()
		if c.used+size <= limit || len(c.index) == 0 {
			c.mu.Unlock()
			return
		}
		e := c.index[0]
		c.index = c.index[1:]
		c.used -= e.bytes
		c.mu.Unlock()
		c.removeFrame(e.id)
		if c.mEvicted != nil {
			c.mEvicted.Inc()
		}
	}
}

// removeFrame deletes the files of frame id in inbox and skipped (the
// sidecar last, so a crash leaves an orphan that New removes).
func (c *Collector) removeFrame(id string) {
	for _, dir := range []string{c.inbox(), c.skippedDir()} {
		m, _ := filepath.Glob(filepath.Join(dir, id+"-*.png"))
		for _, p := range m {
			os.Remove(p)
		}
	}
	os.Remove(filepath.Join(c.inbox(), id+".jpg"))
	os.Remove(filepath.Join(c.inbox(), id+".json"))
}

func human(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ModelVersion describes a model file for the sidecars: its base name and
// the first 12 hex digits of its SHA-256.
func ModelVersion(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("collect: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("collect: %w", err)
	}
	return filepath.Base(path) + " sha256:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}
