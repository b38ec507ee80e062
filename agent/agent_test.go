package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
)

func TestRecognizePhotos(t *testing.T) {
	rec, err := realRecognizer(t, RecognizerConfig{})()
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	ps := photos(t)
	for _, p := range ps {
		img, err := camera.DecodeFile(p)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rec.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(p[strings.LastIndex(p, "-d")+2:], ".jpg")
		if res.Text == want {
			correct++
		}
	}
	t.Logf("committed photos: %d/%d correct", correct, len(ps))
	if correct*10 < len(ps)*9 {
		t.Fatalf("only %d/%d photos recognized (want ≥ 90%%)", correct, len(ps))
	}
}

func TestRecognizeBlankAndConfidence(t *testing.T) {
	rec, err := realRecognizer(t, RecognizerConfig{})()
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []image.Image{image.NewGray(image.Rect(0, 0, 1, 1)), image.NewRGBA(image.Rect(0, 0, 640, 480))} {
		res, err := rec.Recognize(context.Background(), img)
		if err != nil || res.OK() || res.Confidence != 0 {
			t.Fatalf("blank frame: %+v %v", res, err)
		}
	}
	img, err := camera.DecodeFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	strict, _ := realRecognizer(t, RecognizerConfig{MinConfidence: 1})()
	res, _ := strict.Recognize(context.Background(), img)
	if res.OK() || res.Rejected != 1 {
		t.Fatalf("min confidence 1: %+v", res)
	}
	if _, err := NewRecognizer(&fakeEngine{answer: []int{0}}, RecognizerConfig{MinConfidence: 2}); err == nil {
		t.Fatal("min confidence 2 accepted")
	}
}

func TestSoftmaxAndMajority(t *testing.T) {
	if i, p := Softmax([]float32{0, 0, 10}); i != 2 || p < 0.99 {
		t.Fatalf("logits: %d %v", i, p)
	}
	if i, p := Confidence([]float32{0.2, 0.7, 0.1}, true); i != 1 || p != 0.7 {
		t.Fatalf("probabilities: %d %v", i, p)
	}
	// Logits that happen to look like a distribution are still logits.
	if i, p := Confidence([]float32{0.2, 0.7, 0.1}, false); i != 1 || p > 0.5 {
		t.Fatalf("logits in [0, 1]: %d %v", i, p)
	}
	if i, p := Softmax([]float32{1, 1}); i != 0 || p != 0.5 {
		t.Fatalf("tie: %d %v", i, p)
	}
	w := []vote{{"3", 0.9, ""}, {"5", 0.8, ""}, {"3", 0.7, ""}, {"", 0, ReasonNoInk}, {"5", 0.6, ""}}
	if s, c := majority(w); s != "5" || c < 0.6999 || c > 0.7001 {
		t.Fatalf("tie should go to the most recent: %q %v", s, c)
	}
	if s, _ := majority(w[:3]); s != "3" {
		t.Fatalf("majority %q", s)
	}
}

func syntheticFrames(n, w, h int, seed uint64) []any {
	rng := rand.New(rand.NewPCG(seed, 1))
	var items []any
	for i := 0; i < n; i++ {
		img, d := camera.SyntheticFrame(w, h, rng)
		items = append(items, camera.Frame{Image: img, Seq: uint64(i + 1), Truth: fmt.Sprint(d)})
	}
	return items
}

func readLines(t *testing.T, b []byte) []Line {
	t.Helper()
	var ls []Line
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		ls = append(ls, l)
	}
	return ls
}

// Loop mechanics with a fake engine: latest frame wins and smoothing.
func TestLoopDropsStaleAndSmooths(t *testing.T) {
	eng := &fakeEngine{delay: 5 * time.Millisecond, answer: []int{3, 3, 5, 3, 3, 8}}
	src := &scriptedSource{items: syntheticFrames(400, 64, 48, 1), delay: time.Millisecond}
	var out bytes.Buffer
	a, err := New(Config{
		OpenCamera:    func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: func() (*Recognizer, error) { return NewRecognizer(eng, RecognizerConfig{}) },
		Smooth:        5, MaxFrames: 20, Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ls := readLines(t, out.Bytes())
	if len(ls) != 20 {
		t.Fatalf("%d lines, want 20 (max frames)", len(ls))
	}
	raw5 := 0
	for i, l := range ls {
		if l.Raw == "5" || l.Raw == "8" {
			raw5++
		}
		if i >= 4 && l.Digits != "3" {
			t.Fatalf("line %d: smoothed %q (raw %q), want 3", i, l.Digits, l.Raw)
		}
		if l.LatencyMS <= 0 || l.Time.IsZero() {
			t.Fatalf("line %d: latency %v time %v", i, l.LatencyMS, l.Time)
		}
		if i > 0 && l.Seq <= ls[i-1].Seq {
			t.Fatalf("sequence not increasing: %d after %d", l.Seq, ls[i-1].Seq)
		}
	}
	if raw5 == 0 {
		t.Fatal("raw answers never differed: smoothing untested")
	}
	// Frames arrive much faster than the 5 ms engine: stale ones dropped.
	if last := ls[len(ls)-1]; last.Dropped == 0 || last.Seq <= 20 {
		t.Fatalf("no frames dropped (last seq %d, dropped %d)", last.Seq, last.Dropped)
	}
}

type chanTrigger chan struct{}

func (c chanTrigger) Wait(ctx context.Context) error {
	select {
	case <-c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type recLED struct {
	mu     sync.Mutex
	states []bool
}

func (l *recLED) Set(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, on)
	return nil
}

func TestTriggerAndLED(t *testing.T) {
	trig := make(chanTrigger)
	led := &recLED{}
	rng := rand.New(rand.NewPCG(2, 2))
	var seq atomic.Uint64
	src := &funcSource{next: func() (camera.Frame, error) {
		time.Sleep(2 * time.Millisecond)
		img, d := camera.SyntheticFrame(96, 72, rng)
		return camera.Frame{Image: img, Seq: seq.Add(1), Time: time.Now(), Truth: fmt.Sprint(d)}, nil
	}}
	var out syncBuffer
	a, _ := New(Config{
		OpenCamera:    func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: realRecognizer(t, RecognizerConfig{MinConfidence: 0.01}),
		MaxFrames:     2, Out: &out, Trigger: trig, LED: led,
	})
	done := make(chan error)
	go func() { done <- a.Run(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	if out.Len() != 0 {
		t.Fatal("processed a frame without a trigger")
	}
	trig <- struct{}{}
	trig <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ls := readLines(t, out.Bytes())
	if len(ls) != 2 {
		t.Fatalf("%d lines after 2 presses", len(ls))
	}
	led.mu.Lock()
	defer led.mu.Unlock()
	if len(led.states) < 2 || !led.states[0] || led.states[len(led.states)-1] {
		t.Fatalf("LED states %v: want on at recognition and off at exit", led.states)
	}
}

type funcSource struct {
	next func() (camera.Frame, error)
}

func (f *funcSource) Next(ctx context.Context) (camera.Frame, error) {
	if err := ctx.Err(); err != nil {
		return camera.Frame{}, err
	}
	return f.next()
}
func (f *funcSource) Close() error   { return nil }
func (f *funcSource) String() string { return "func" }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) Len() int { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Len() }
func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w
}

// A camera that fails to open, then dies after a few frames, then works:
// the agent stays up, /healthz follows, errors and bad frames are counted.
func TestReconnectAndHealth(t *testing.T) {
	var opens atomic.Int32
	failing := make(chan struct{}, 10)
	frames := syntheticFrames(6, 64, 48, 3)
	open := func(ctx context.Context) (camera.Source, error) {
		switch opens.Add(1) {
		case 1, 2:
			failing <- struct{}{}
			return nil, errors.New("camera: v4l2: /dev/video0: no such device")
		case 3: // two frames, one undecodable, then the camera is unplugged
			return &scriptedSource{items: []any{frames[0], fmt.Errorf("x: %w", camera.ErrBadFrame), frames[1], errors.New("read: device unplugged")}, delay: 20 * time.Millisecond}, nil
		}
		return &scriptedSource{items: append([]any{fmt.Errorf("y: %w", camera.ErrBadFrame)}, frames[2:]...), hold: true, delay: 20 * time.Millisecond}, nil
	}
	var out syncBuffer
	a, _ := New(Config{
		OpenCamera:    open,
		NewRecognizer: func() (*Recognizer, error) { return NewRecognizer(&fakeEngine{answer: []int{1}}, RecognizerConfig{}) },
		Out:           &out, BackoffMin: 150 * time.Millisecond, BackoffMax: 300 * time.Millisecond,
	})
	h := a.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- a.Run(ctx) }()
	<-failing
	time.Sleep(20 * time.Millisecond)
	if w := get(t, h, "GET", "/healthz"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("healthz while the camera fails: %d %s", w.Code, w.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(readLines(t, out.Bytes())) < 3 || !a.Healthy() {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %d lines, healthy %v, opens %d", len(readLines(t, out.Bytes())), a.Healthy(), opens.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if w := get(t, h, "GET", "/healthz"); w.Code != http.StatusOK {
		t.Fatalf("healthz after reconnect: %d", w.Code)
	}
	m := get(t, h, "GET", "/metrics").Body.String()
	for _, want := range []string{"edgecnn_camera_errors_total 3", "edgecnn_camera_reconnects_total 2", "edgecnn_frames_bad_total 2", "edgecnn_camera_healthy 1"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop after cancel (graceful stop)")
	}
}

func TestEndOfInputStops(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "camera", "testdata", "photos")
	var out bytes.Buffer
	a, _ := New(Config{
		OpenCamera: func(ctx context.Context) (camera.Source, error) {
			return camera.OpenFiles(dir, camera.Options{Rate: true, FPS: 200})
		},
		NewRecognizer: realRecognizer(t, RecognizerConfig{}),
		Out:           &out,
	})
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(readLines(t, out.Bytes())); n < 10 {
		t.Fatalf("only %d frames processed from 50 photos", n)
	}
}

func newHTTPAgent(t *testing.T, cfg Config) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	if cfg.NewRecognizer == nil {
		cfg.NewRecognizer = realRecognizer(t, RecognizerConfig{})
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	base := "http://" + ln.Addr().String()
	for i := 0; ; i++ {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			break
		}
		if i > 100 {
			t.Fatal("server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func pngHeader(w, h int) []byte {
	// A PNG that claims w×h: IHDR only (see camera's test of the same).
	b := encodePNG(nil, image.NewGray(image.Rect(0, 0, 1, 1)))
	ihdr := b[8 : 8+25]
	putU32 := func(p []byte, v uint32) { p[0], p[1], p[2], p[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	putU32(ihdr[8:], uint32(w))
	putU32(ihdr[12:], uint32(h))
	putU32(ihdr[21:], crc(ihdr[4:21]))
	return b
}

func TestHTTPPredict(t *testing.T) {
	base, stop := newHTTPAgent(t, Config{MaxUpload: 1 << 20})
	defer stop()
	post := func(ctype string, body []byte) (int, string) {
		r, err := http.Post(base+"/predict", ctype, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	photo := photos(t)[3]
	want := strings.TrimSuffix(photo[strings.LastIndex(photo, "-d")+2:], ".jpg")
	jb, _ := os.ReadFile(photo)
	code, body := post("image/jpeg", jb)
	var pr PredictResponse
	if code != 200 || json.Unmarshal([]byte(body), &pr) != nil || pr.Text != want || pr.Width != 320 {
		t.Fatalf("photo: %d %s (want digit %s)", code, body, want)
	}
	// multipart/form-data upload, as a browser form sends it.
	var mp bytes.Buffer
	mw := newMultipart(&mp, "image", "photo.jpg", jb)
	code, body = post(mw, mp.Bytes())
	if code != 200 || !strings.Contains(body, `"digits":"`+want+`"`) {
		t.Fatalf("multipart: %d %s", code, body)
	}
	img, _ := camera.DecodeFile(photo)
	full := encodeJPEG(t, img)
	for name, c := range map[string]struct {
		ctype string
		body  []byte
		code  int
	}{
		"empty":           {"image/png", nil, 400},
		"text":            {"text/plain", []byte("hello, this is not an image"), 400},
		"truncated jpeg":  {"image/jpeg", full[:len(full)/2], 400},
		"zero-size pgm":   {"image/x-portable-graymap", []byte("P5 0 0 255\n"), 400},
		"20000x20000 png": {"image/png", pngHeader(20000, 20000), 413},
		"oversized body":  {"image/jpeg", bytes.Repeat([]byte{0xFF}, 2<<20), 413},
		"no file part":    {"multipart/form-data; boundary=xx", []byte("--xx--\r\n"), 400},
	} {
		t0 := time.Now()
		code, body := post(c.ctype, c.body)
		if code != c.code || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d with an error message", name, code, body, c.code)
		}
		if time.Since(t0) > 2*time.Second {
			t.Errorf("%s took %v", name, time.Since(t0))
		}
	}
	for _, c := range []struct{ method, path string }{{"GET", "/predict"}, {"PUT", "/predict"}, {"POST", "/healthz"}, {"DELETE", "/metrics"}, {"POST", "/"}} {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 405 || r.Header.Get("Allow") == "" {
			t.Errorf("%s %s: %d (Allow %q), want 405", c.method, c.path, r.StatusCode, r.Header.Get("Allow"))
		}
	}
	r, _ := http.Get(base + "/metrics")
	m, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, want := range []string{`edgecnn_http_predict_requests_total{code="200"} 2`, `edgecnn_http_predict_requests_total{code="413"} 2`, "go_goroutines"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// A row of digits, read left to right with the real model.
func TestRecognizeMulti(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	ink := camera.NewInk(640, 240)
	want := "2047"
	for i, c := range want {
		camera.DrawDigit(ink, int(c-'0'), 60+float64(i)*130, 50, 130, 13, 0, 0, 0.01, rng)
	}
	img := camera.Paper(ink, 220, 160, 0.4, 0.15, 4, rng)
	rec, err := realRecognizer(t, RecognizerConfig{Preprocess: preprocessMulti()})()
	if err != nil {
		t.Fatal(err)
	}
	res, err := rec.Recognize(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != want || len(res.Digits) != 4 {
		t.Fatalf("read %q (%d boxes), want %q", res.Text, len(res.Digits), want)
	}
}
