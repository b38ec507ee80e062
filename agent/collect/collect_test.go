package collect

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

var frames = sync.OnceValue(func() []*image.Gray {
	var f []*image.Gray
	for seed := range uint64(4) {
		img := image.NewGray(image.Rect(0, 0, 640, 480))
		r := rand.New(rand.NewPCG(seed, 1))
		for i := range img.Pix {
			img.Pix[i] = uint8(r.IntN(256))
		}
		f = append(f, img)
	}
	return f
})

// frame is one of four noisy 640×480 gray frames (noise keeps their JPEG
// realistically large, ~250 KiB); frames are never modified.
func frame(seed uint64) *image.Gray { return frames()[seed%4] }

// crop is a 28×28 ink crop with a vertical bar, confidence conf.
func crop(label string, conf float32) Crop {
	ink := make([]float32, 28*28)
	for y := 4; y < 24; y++ {
		for x := 12; x < 16; x++ {
			ink[y*28+x] = 1
		}
	}
	ink[0] = 0.5
	return Crop{Box: image.Rect(100, 50, 160, 170), Ink: ink, W: 28, H: 28, Label: label, Confidence: conf}
}

func obs(t time.Time, seq uint64, conf float32) Observation {
	return Observation{Time: t, Seq: seq, Frame: frame(seq), Crops: []Crop{crop("7", conf)}, Text: "7",
		Confidence: conf, Smoothed: "7"}
}

func newCollector(t *testing.T, cfg Config) *Collector {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.Rate == 0 {
		cfg.Rate = -1
	}
	if cfg.MinGap == 0 {
		cfg.MinGap = -1
	}
	if cfg.MinFree == 0 {
		cfg.MinFree = -1 // tests of the free-space reserve set it
	}
	cfg.ModelVersion = "test-model sha256:0123456789ab"
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func inboxNames(t *testing.T, c *Collector, suffix string) []string {
	t.Helper()
	ents, err := os.ReadDir(c.inbox())
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), suffix) {
			n = append(n, e.Name())
		}
	}
	return n
}

// wait polls cond until it holds (fails the test after 10 s).
func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeepsDoubtfulFrames: a low confidence, a flicker and a sample are
// kept, each with the right reason; a confident, stable frame is not. The
// files are complete: a decodable JPEG, the crop as 28×28 gray PNG in MNIST
// polarity, and the sidecar.
func TestKeepsDoubtfulFrames(t *testing.T) {
	c := newCollector(t, Config{Below: 0.9})
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	if c.Observe(obs(t0, 1, 0.99)) {
		t.Fatal("a confident, stable frame was kept")
	}
	if !c.Observe(obs(t0.Add(time.Second), 2, 0.6)) {
		t.Fatal("a frame at confidence 0.6 was not kept")
	}
	o := obs(t0.Add(2*time.Second), 3, 0.99)
	o.Flicker, o.Smoothed = true, "1"
	if !c.Observe(o) {
		t.Fatal("a flickering frame was not kept")
	}
	if c.Observe(Observation{Time: t0.Add(3 * time.Second), Frame: frame(4)}) {
		t.Fatal("a frame without a located digit was kept")
	}
	c.Close()

	sidecars := inboxNames(t, c, ".json")
	if len(sidecars) != 2 {
		t.Fatalf("%d sidecars, want 2: %v", len(sidecars), sidecars)
	}
	var got [][]string
	for _, n := range sidecars {
		b, err := os.ReadFile(filepath.Join(c.inbox(), n))
		if err != nil {
			t.Fatal(err)
		}
		var sc Sidecar
		if err := json.Unmarshal(b, &sc); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		got = append(got, sc.Reasons)
		if sc.Model != "test-model sha256:0123456789ab" || sc.Width != 640 || sc.Height != 480 || len(sc.Crops) != 1 ||
			sc.Crops[0].Box != [4]int{100, 50, 60, 120} || sc.Crops[0].Label != "7" || sc.ID+".json" != n {
			t.Fatalf("sidecar %s: %+v", n, sc)
		}
		f, err := os.Open(filepath.Join(c.inbox(), sc.Frame))
		if err != nil {
			t.Fatal(err)
		}
		img, format, err := image.Decode(f)
		f.Close()
		if err != nil || format != "jpeg" || img.Bounds().Dx() != 640 {
			t.Fatalf("frame %s: %v %s", sc.Frame, err, format)
		}
		f, err = os.Open(filepath.Join(c.inbox(), sc.Crops[0].File))
		if err != nil {
			t.Fatal(err)
		}
		ci, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		g, ok := ci.(*image.Gray)
		if !ok || g.Bounds() != image.Rect(0, 0, 28, 28) {
			t.Fatalf("crop is %T %v, want 28×28 *image.Gray", ci, ci.Bounds())
		}
		if g.GrayAt(13, 10).Y != 255 || g.GrayAt(2, 2).Y != 0 || g.GrayAt(0, 0).Y != 128 {
			t.Fatalf("crop pixels: ink %d paper %d half %d, want 255, 0, 128", g.GrayAt(13, 10).Y, g.GrayAt(2, 2).Y, g.GrayAt(0, 0).Y)
		}
	}
	want := [][]string{{ReasonLowConfidence}, {ReasonFlicker}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("reasons %v, want %v", got, want)
	}
	if s := c.Status(); s.State != "collecting" || s.Saved != 2 || s.Frames != 2 || s.Bytes <= 0 {
		t.Fatalf("status %+v", s)
	}
	if v := value(t, c.mSaved.WithLabelValues(ReasonFlicker)); v != 1 {
		t.Fatalf("edgecnn_collect_frames_saved_total{reason=flicker} = %v", v)
	}
}

// TestSampleRateAndGap: --collect-rate keeps about that fraction of
// confident frames; --collect-min-gap keeps at most one per gap.
func TestSampleRateAndGap(t *testing.T) {
	c := newCollector(t, Config{Below: -1, Rate: 0.1, Seed: 7, Queue: 1000})
	t0 := time.Now()
	kept := 0
	small := image.NewGray(image.Rect(0, 0, 32, 32))
	c.writeFile = os.WriteFile // decisions only: no fsync
	for i := 0; i < 2000; i++ {
		o := obs(t0.Add(time.Duration(i)*time.Millisecond), uint64(i), 0.99)
		o.Frame = small
		if c.Observe(o) {
			kept++
		}
	}
	if kept < 150 || kept > 250 {
		t.Fatalf("kept %d of 2000 at rate 0.1", kept)
	}
	g := newCollector(t, Config{Below: 0.9, MinGap: time.Second})
	kept = 0
	for i := 0; i < 100; i++ { // 100 doubtful frames in 3.3 s
		if g.Observe(obs(t0.Add(time.Duration(i)*33*time.Millisecond), uint64(i), 0.5)) {
			kept++
		}
	}
	if kept != 4 {
		t.Fatalf("kept %d doubtful frames in 3.3 s with a 1 s gap, want 4", kept)
	}
}

// TestQueueFullDrops: Observe never blocks; when the writer is behind, the
// frame is dropped and counted.
func TestQueueFullDrops(t *testing.T) {
	c := newCollector(t, Config{Below: 0.9, Queue: 1})
	block := make(chan struct{})
	c.writeFile = func(p string, d []byte, m os.FileMode) error { <-block; return os.WriteFile(p, d, m) }
	t0 := time.Now()
	queued := 0
	for i := 0; i < 20; i++ {
		if c.Observe(obs(t0.Add(time.Duration(i)*time.Second), uint64(i), 0.5)) {
			queued++
		}
	}
	close(block)
	c.Close()
	// One frame in the writer, one in the queue.
	if queued > 2 || queued < 1 {
		t.Fatalf("%d frames queued with a queue of 1 and a stuck writer", queued)
	}
	if s := c.Status(); s.Dropped != uint64(20-queued) || s.Saved != uint64(queued) {
		t.Fatalf("status %+v, want %d dropped", s, 20-queued)
	}
	if v := value(t, c.mDropped.WithLabelValues("queue_full")); v != float64(20-queued) {
		t.Fatalf("queue_full drops %v", v)
	}
}

// TestQuotaDeletesOldestFirst: the inbox never exceeds --collect-max-mb;
// the oldest frames go first, labelled crops are never deleted.
func TestQuotaDeletesOldestFirst(t *testing.T) {
	dir := t.TempDir()
	c := newCollector(t, Config{Dir: dir, Below: 0.9})
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	c.Observe(obs(t0, 1, 0.5))
	c.Close()
	one := c.Status().Bytes
	if one < 100<<10 {
		t.Fatalf("one frame is only %d bytes: noise frame not realistic", one)
	}
	// Label the first crop: it must survive the quota.
	items, _, err := c.List(0)
	if err != nil || len(items) != 1 {
		t.Fatalf("list: %v %v", items, err)
	}
	if _, err := c.Label(items[0].ID, "7"); err != nil {
		t.Fatal(err)
	}

	quota := 3*one + one/2
	q := newCollector(t, Config{Dir: dir, Below: 0.9, MaxBytes: quota})
	for i := 2; i <= 10; i++ {
		if !q.Observe(obs(t0.Add(time.Duration(i)*time.Second), uint64(i), 0.5)) {
			t.Fatalf("frame %d not queued", i)
		}
		wait(t, "frame written", func() bool { return q.Status().Saved == uint64(i-1) })
		if s := q.Status(); s.Bytes > quota || s.Frames > 3 {
			t.Fatalf("after frame %d: %+v exceeds the quota of %d", i, s, quota)
		}
	}
	q.Close()
	var seqs []uint64
	var total int64
	for _, n := range inboxNames(t, q, "") {
		info, _ := os.Stat(filepath.Join(q.inbox(), n))
		total += info.Size()
		if strings.HasSuffix(n, ".json") {
			var sc Sidecar
			b, _ := os.ReadFile(filepath.Join(q.inbox(), n))
			json.Unmarshal(b, &sc)
			seqs = append(seqs, sc.Seq)
		}
	}
	slices.Sort(seqs)
	if fmt.Sprint(seqs) != "[8 9 10]" {
		t.Fatalf("frames left %v, want the newest three [8 9 10]", seqs)
	}
	if total > quota {
		t.Fatalf("%d bytes on disk, quota %d", total, quota)
	}
	if v := value(t, q.mEvicted); v != 7 {
		t.Fatalf("evicted %v frames, want 7 (the first one's crop was labelled, its frame evicted)", v)
	}
	if _, err := os.Stat(filepath.Join(dir, "labelled", "7", items[0].ID+".png")); err != nil {
		t.Fatalf("labelled crop deleted by the quota: %v", err)
	}

	// A quota too small for one frame pauses with a clear reason.
	tiny := newCollector(t, Config{Below: 0.9, MaxBytes: 1000})
	tiny.Observe(obs(t0, 1, 0.5))
	tiny.Close()
	if s := tiny.Status(); s.State != "paused" || !strings.Contains(s.Reason, "cannot hold one frame") {
		t.Fatalf("tiny quota: %+v", s)
	}
	if v := value(t, tiny.mPaused.WithLabelValues("quota")); v != 1 {
		t.Fatalf("edgecnn_collect_paused{cause=quota} = %v", v)
	}
}

// TestCrashLeftovers: a kill -9 can leave temporary files of atomic writes
// and a frame without its sidecar (written last); New removes them and
// keeps complete frames.
func TestCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	c := newCollector(t, Config{Dir: dir, Below: 0.9})
	c.Observe(obs(time.Now(), 1, 0.5))
	c.Close()
	complete := inboxNames(t, c, "")
	in := filepath.Join(dir, "inbox")
	half := "20261204T200000.000000Z-000099"
	for _, n := range []string{half + "-0.png", half + ".jpg", "." + half + ".json.tmp-12345"} {
		if err := os.WriteFile(filepath.Join(in, n), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "labelled", ".x.png.tmp-1"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, ".staging", half+".json"), []byte("staged, not renamed"), 0o644)
	d := newCollector(t, Config{Dir: dir, Below: 0.9})
	if got := inboxNames(t, d, ""); fmt.Sprint(got) != fmt.Sprint(complete) {
		t.Fatalf("after restart inbox holds %v, want only the complete frame %v", got, complete)
	}
	if _, err := os.Stat(filepath.Join(dir, "labelled", ".x.png.tmp-1")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file in labelled survived: %v", err)
	}
	if s := d.Status(); s.Frames != 1 {
		t.Fatalf("status after restart %+v", s)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, ".staging")); err != nil || len(ents) != 0 {
		t.Fatalf("staging after restart: %v %v", ents, err)
	}
}

// TestDiskFullPausesAndResumes fills a real 512 KiB tmpfs: collection
// pauses with "disk full" (nothing partial left behind), and resumes once
// space returns. Without mount rights it injects ENOSPC instead.
func TestDiskFullPausesAndResumes(t *testing.T) {
	dir := t.TempDir()
	mounted := os.Getenv("EDGECNN_TEST_NO_MOUNT") == "" &&
		exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "edgecnn-collect-test", dir).Run() == nil
	if mounted {
		t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	} else {
		t.Logf("cannot mount a tmpfs here; injecting ENOSPC into the writer instead")
	}
	c := newCollector(t, Config{Dir: dir, Below: 0.9, RetryEvery: 50 * time.Millisecond})
	var full atomic.Bool
	full.Store(true)
	if !mounted {
		c.writeFile = func(p string, d []byte, m os.FileMode) error {
			if full.Load() {
				return &os.PathError{Op: "write", Path: p, Err: syscall.ENOSPC}
			}
			return os.WriteFile(p, d, m)
		}
	}
	filler := filepath.Join(dir, "filler")
	if mounted {
		// Leave ~100 KiB: less than one frame.
		if err := os.WriteFile(filler, make([]byte, 412<<10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	c.Observe(obs(t0, 1, 0.5))
	wait(t, "pause", func() bool { return c.Status().State == "paused" })
	s := c.Status()
	if !strings.Contains(s.Reason, "disk full") || !strings.Contains(s.Reason, "no space left on device") {
		t.Fatalf("paused for %q, want disk full", s.Reason)
	}
	if v := value(t, c.mPaused.WithLabelValues("disk_full")); v != 1 {
		t.Fatalf("edgecnn_collect_paused{cause=disk_full} = %v", v)
	}
	if n := inboxNames(t, c, ""); len(n) != 0 {
		t.Fatalf("a failed frame left files: %v", n)
	}
	// While paused (before the retry time) frames are dropped, not queued.
	c.retryAt.Store(time.Now().Add(time.Hour).UnixNano())
	if c.Observe(obs(t0.Add(time.Second), 2, 0.5)) {
		t.Fatal("a paused collector queued a frame")
	}
	if v := value(t, c.mDropped.WithLabelValues("paused")); v != 1 {
		t.Fatalf("paused drops %v", v)
	}
	// Space returns: the next try after the retry interval resumes.
	if mounted {
		os.Remove(filler)
	}
	full.Store(false)
	c.retryAt.Store(time.Now().UnixNano())
	for i := 3; c.Status().State != "collecting"; i++ {
		if i > 1000 {
			t.Fatalf("did not resume: %+v", c.Status())
		}
		c.Observe(obs(t0.Add(time.Duration(i)*time.Second), uint64(i), 0.5))
		time.Sleep(10 * time.Millisecond)
	}
	if v := value(t, c.mPaused.WithLabelValues("disk_full")); v != 0 {
		t.Fatalf("edgecnn_collect_paused{cause=disk_full} = %v after resuming", v)
	}
	if len(inboxNames(t, c, ".json")) == 0 {
		t.Fatal("resumed, but no frame on disk")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, cfg := range []Config{{}, {Dir: t.TempDir(), Below: 1.5}, {Dir: t.TempDir(), Rate: 2}, {Dir: t.TempDir(), MaxBytes: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{Dir: "/proc/edgecnn-collect-test"}); err == nil {
		t.Error("a directory that cannot be created was accepted")
	}
	if _, err := ModelVersion(filepath.Join(t.TempDir(), "missing.tflite")); err == nil {
		t.Error("ModelVersion of a missing file")
	}
}

// metricsText gathers the collector's metrics.
func metricsText(t *testing.T, c *Collector) string {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c.Metrics()...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		fmt.Fprintln(&b, mf.GetName())
	}
	return b.String()
}

func TestMetricsRegister(t *testing.T) {
	c := newCollector(t, Config{})
	m := metricsText(t, c)
	for _, n := range []string{"edgecnn_collect_frames_saved_total", "edgecnn_collect_frames_dropped_total",
		"edgecnn_collect_paused", "edgecnn_collect_bytes", "edgecnn_collect_frames_evicted_total"} {
		if !strings.Contains(m, n+"\n") {
			t.Errorf("metric %s missing in\n%s", n, m)
		}
	}
}

// value reads a counter or gauge.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	switch {
	case d.Counter != nil:
		return d.Counter.GetValue()
	case d.Gauge != nil:
		return d.Gauge.GetValue()
	}
	t.Fatalf("metric %v is neither counter nor gauge", m.Desc())
	return 0
}

// TestMinFreeKeepsTheDiskUsable: on a real 1 MiB tmpfs with 600 KiB kept
// free, the oldest frames make room and the filesystem never gets fuller;
// when other files take the space, collection pauses saying so.
func TestMinFreeKeepsTheDiskUsable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "edgecnn-minfree-test", dir).Run(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	const minFree = 600 << 10
	c := newCollector(t, Config{Dir: dir, Below: 0.9, MinFree: minFree, RetryEvery: time.Hour})
	t0 := time.Now()
	for i := 1; i <= 6; i++ {
		if !c.Observe(obs(t0.Add(time.Duration(i)*time.Second), uint64(i), 0.5)) {
			t.Fatalf("frame %d not queued: %+v", i, c.Status())
		}
		wait(t, "frame written", func() bool { s := c.Status(); return s.Saved == uint64(i) || s.State == "paused" })
		if s := c.Status(); s.State != "collecting" {
			t.Fatalf("frame %d: %+v", i, s)
		}
		free, ok := freeBytes(dir)
		if !ok || free < minFree-32<<10 { // tmpfs counts whole pages
			t.Fatalf("after frame %d only %d bytes free, %d to be kept free", i, free, minFree)
		}
	}
	if n := len(inboxNames(t, c, ".json")); n < 1 || n > 2 {
		t.Fatalf("%d frames on a 1 MiB disk keeping 600 KiB free", n)
	}
	if v := value(t, c.mEvicted); v < 4 {
		t.Fatalf("only %v frames evicted to keep the disk free", v)
	}
	// Someone else fills the disk: collection pauses and says why.
	os.WriteFile(filepath.Join(dir, "other"), make([]byte, 300<<10), 0o644)
	c.retryAt.Store(0)
	for _, n := range inboxNames(t, c, "") {
		os.Remove(filepath.Join(c.inbox(), n)) // and our frames are gone too
	}
	c.rescan()
	c.Observe(obs(t0.Add(10*time.Second), 10, 0.5))
	wait(t, "pause", func() bool { return c.Status().State == "paused" })
	if s := c.Status(); !strings.Contains(s.Reason, "disk almost full") || !strings.Contains(s.Reason, "--collect-min-free-mb") {
		t.Fatalf("paused for %q", s.Reason)
	}
}
