package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/agent/collect"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/internal/headless"
)

func photoFrames(t *testing.T, n int) []any {
	var items []any
	for i, p := range photos(t)[:n] {
		img, err := camera.DecodeFile(p)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, camera.Frame{Image: img, Seq: uint64(i + 1)})
	}
	return items
}

// stepSource hands out its frames one at a time: each after the previous
// one's JSON line was written (lockstep, so no frame is dropped as stale).
type stepSource struct {
	items []any
	i     int
	ack   chan struct{}
}

func newStepSource(items []any) *stepSource {
	return &stepSource{items: items, ack: make(chan struct{}, len(items)+1)}
}

func (s *stepSource) Next(ctx context.Context) (camera.Frame, error) {
	if s.i > 0 {
		select {
		case <-s.ack:
		case <-ctx.Done():
			return camera.Frame{}, ctx.Err()
		}
	}
	if s.i >= len(s.items) {
		return camera.Frame{}, io.EOF
	}
	f := s.items[s.i].(camera.Frame)
	s.i++
	f.Time = time.Now()
	return f, nil
}
func (s *stepSource) Close() error   { return nil }
func (s *stepSource) String() string { return "step" }

// Write acknowledges one JSON line.
func (s *stepSource) Write(p []byte) (int, error) {
	s.ack <- struct{}{}
	return len(p), nil
}

func sidecars(t *testing.T, dir string) map[uint64]collect.Sidecar {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "inbox", "*.json"))
	out := map[uint64]collect.Sidecar{}
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var sc collect.Sidecar
		if err := json.Unmarshal(b, &sc); err != nil {
			t.Fatal(err)
		}
		out[sc.Seq] = sc
	}
	return out
}

// TestCollectFromLoop runs the real model over photos with every frame
// sampled: each frame's sidecar agrees with its JSON line (answer,
// confidence, box) and carries the model version.
func TestCollectFromLoop(t *testing.T) {
	dir := t.TempDir()
	col, err := collect.New(collect.Config{Dir: dir, Rate: 1, MinGap: -1, Queue: 64, ModelVersion: "mnist.tflite sha256:abc"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	src := newStepSource(photoFrames(t, 12))
	a, err := New(Config{OpenCamera: func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: realRecognizer(t, RecognizerConfig{}), Out: io.MultiWriter(&out, src), Collector: col})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.Close()
	got := sidecars(t, dir)
	n := 0
	for dec := json.NewDecoder(&out); ; n++ {
		var l Line
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		sc, ok := got[l.Seq]
		if len(l.Boxes) == 0 {
			continue // rejected digits are still collected; checked below
		}
		if !ok {
			t.Fatalf("frame %d (%q) sampled at rate 1 but not collected", l.Seq, l.Raw)
		}
		if sc.Digits != l.Raw || sc.Confidence != l.RawConfidence || sc.Model != "mnist.tflite sha256:abc" ||
			len(sc.Crops) != 1 || sc.Crops[0].Label != l.Boxes[0].Label || sc.Crops[0].Box != l.Boxes[0].BoxXYWH {
			t.Fatalf("frame %d: sidecar %+v disagrees with line %+v", l.Seq, sc, l)
		}
		if _, err := os.Stat(filepath.Join(dir, "inbox", sc.Crops[0].File)); err != nil {
			t.Fatal(err)
		}
	}
	if n != 12 || len(got) < 10 {
		t.Fatalf("%d lines, %d collected frames", n, len(got))
	}
}

// TestCollectFlicker: with --smooth 3 and answers 1 1 2 1 1 2 …, exactly
// the outvoted "2" frames are kept as flicker (confidence is high, no
// sampling).
func TestCollectFlicker(t *testing.T) {
	dir := t.TempDir()
	col, err := collect.New(collect.Config{Dir: dir, Rate: -1, MinGap: -1, Queue: 64})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{answer: []int{1, 1, 2}}
	src := newStepSource(photoFrames(t, 9))
	a, err := New(Config{OpenCamera: func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: func() (*Recognizer, error) { return NewRecognizer(eng, RecognizerConfig{}) },
		Smooth:        3, Out: src, Collector: col})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.Close()
	if eng.calls.Load() != 9 {
		t.Fatalf("%d engine calls for 9 frames: a photo gave more or fewer than one digit", eng.calls.Load())
	}
	got := sidecars(t, dir)
	var seqs []string
	for seq, sc := range got {
		if sc.Digits != "2" || sc.Smoothed != "1" || fmt.Sprint(sc.Reasons) != "[flicker]" {
			t.Fatalf("frame %d: %+v", seq, sc)
		}
		seqs = append(seqs, fmt.Sprint(seq))
	}
	if len(got) != 3 {
		t.Fatalf("collected frames %v, want the three outvoted ones", seqs)
	}
}

// TestCollectHTTP: /healthz reports the collection (paused with its
// reason, still 200: recognition goes on), /metrics has its metrics, the
// preview links the labelling view, which the agent serves.
func TestCollectHTTP(t *testing.T) {
	dir := t.TempDir()
	col, err := collect.New(collect.Config{Dir: dir, Rate: 1, MinGap: -1, MaxBytes: 1000, RetryEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	src := &scriptedSource{items: photoFrames(t, 3), hold: true}
	base, stop := newHTTPAgent(t, Config{OpenCamera: func(context.Context) (camera.Source, error) { return src, nil },
		Collector: col})
	defer stop()
	var h struct {
		Status  string
		Collect collect.Status
	}
	code := 0
	for i := 0; h.Collect.State != "paused"; i++ {
		r, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		code = r.StatusCode // 503 until the camera delivers its first frame
		json.NewDecoder(r.Body).Decode(&h)
		r.Body.Close()
		if i > 500 {
			t.Fatalf("collection never paused with a 1000-byte quota: %+v", h)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("/healthz %d while collection is paused: recognition goes on, it must stay 200", code)
	}
	if h.Status != "ok" || !strings.Contains(h.Collect.Reason, "cannot hold one frame") || h.Collect.Dir != dir {
		t.Fatalf("/healthz %+v", h)
	}
	body := func(path string) (int, string) {
		r, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if _, m := body("/metrics"); !strings.Contains(m, `edgecnn_collect_paused{cause="quota"} 1`) ||
		!strings.Contains(m, "edgecnn_collect_frames_saved_total") {
		t.Fatalf("/metrics lacks the collection metrics")
	}
	if code, p := body("/"); code != 200 || !strings.Contains(p, `href="/label"`) {
		t.Fatalf("preview page does not link /label")
	}
	if code, p := body("/label"); code != 200 || !strings.Contains(p, "Label collected digits") {
		t.Fatalf("/label: %d", code)
	}
	if code, _ := body("/label/api/list"); code != 200 {
		t.Fatalf("/label/api/list: %d", code)
	}

	// Without --collect, /label says how to turn it on.
	base2, stop2 := newHTTPAgent(t, Config{})
	defer stop2()
	r, err := http.Get(base2 + "/label")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 404 || !strings.Contains(string(b), "--collect DIR") {
		t.Fatalf("/label without a collector: %d %s", r.StatusCode, b)
	}
}

// TestPreviewLinksLabelInChromium follows the preview page's link to the
// labelling view in headless Chromium: the view loads and lists the crop
// the agent collected.
func TestPreviewLinksLabelInChromium(t *testing.T) {
	dir := t.TempDir()
	col, err := collect.New(collect.Config{Dir: dir, Rate: 1, MinGap: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer col.Close()
	src := &scriptedSource{items: photoFrames(t, 1), hold: true}
	base, stop := newHTTPAgent(t, Config{OpenCamera: func(context.Context) (camera.Source, error) { return src, nil },
		Collector: col})
	defer stop()
	for i := 0; col.Status().Frames == 0; i++ {
		if i > 500 {
			t.Fatalf("no frame collected: %+v", col.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := headless.Start(ctx, filepath.Join(t.TempDir(), "profile"), base+"/")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WaitFor(ctx, `document.readyState === "complete" && document.getElementById("label-link")`); err != nil {
		t.Fatal(err)
	}
	// Click after the evaluation returns: the navigation it starts must not
	// race the answer to Runtime.evaluate.
	if err := b.Eval(ctx, `setTimeout(() => document.getElementById("label-link").click(), 0)`, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor(ctx, `location.pathname === "/label" && document.body && document.body.dataset.ready === "1"`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.Eval(ctx, `document.querySelectorAll(".tile").length`, &n); err != nil || n != 1 {
		t.Fatalf("labelling view shows %d crops, want 1 (%v)", n, err)
	}
}
