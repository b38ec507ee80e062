package agent

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/agent/collect"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/runtime"
)

// BenchmarkCollectPerFrame measures what --collect adds to the recognizer
// path per frame (the target: ≤ 0.2 ms): gathering the crops and
// Collector.Observe, with the writer goroutine encoding and writing JPEG,
// PNG and sidecar files to a temporary directory meanwhile. Frames are
// 640×480 synthetic digits recognized by the real model, 30 fps apart.
//
//	stable       confident, stable answers with the defaults (--collect-below
//	             0.9, --collect-rate 0.01, --collect-min-gap 1s): the usual frame
//	doubtful     every frame flickers (outvoted in the window), defaults
//	every-frame  every frame is kept (no gap, rate 1): the copy and the queue
//	             hand-off on each frame; a full queue drops and counts
//
// The benchmark's clock advances 33 ms per frame but the writer works in
// real time, so with every-frame most frames find the queue full.
func BenchmarkCollectPerFrame(b *testing.B) {
	path := realModel(b)
	eng, err := runtime.Open("native", path, runtime.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	rec, err := NewRecognizer(eng, RecognizerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	rng := rand.New(rand.NewPCG(5, 5))
	img, _ := camera.SyntheticFrame(640, 480, rng)
	res, err := rec.Recognize(context.Background(), img)
	if err != nil || !res.OK() {
		b.Fatalf("synthetic frame not recognized: %+v %v", res, err)
	}
	stable := []vote{{res.Text, .99, ""}, {res.Text, .99, ""}, {res.Text, .99, ""}, {res.Text, .99, ""}, {res.Text, res.Confidence, ""}}
	other := "x" + res.Text
	flicker := []vote{{other, .99, ""}, {other, .99, ""}, {other, .99, ""}, {res.Text, .99, ""}, {res.Text, res.Confidence, ""}}
	for _, bc := range []struct {
		name     string
		cfg      collect.Config
		window   []vote
		smoothed string
	}{
		{"stable", collect.Config{}, stable, res.Text},
		{"doubtful", collect.Config{}, flicker, other},
		{"every-frame", collect.Config{Rate: 1, MinGap: -1}, stable, res.Text},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := bc.cfg
			cfg.Dir = b.TempDir()
			cfg.MaxBytes = 20 << 20
			col, err := collect.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			a := &Agent{cfg: Config{Collector: col, Smooth: 5}}
			f := camera.Frame{Image: img}
			t0 := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.Seq = uint64(i)
				a.collect(rec, f, res, bc.window, bc.smoothed, t0.Add(time.Duration(i)*33*time.Millisecond))
			}
			b.StopTimer()
			col.Close()
			s := col.Status()
			if s.State != "collecting" {
				b.Fatalf("collection paused: %s", s.Reason)
			}
			b.ReportMetric(float64(s.Saved)/float64(b.N), "saved/frame")
			b.ReportMetric(float64(s.Dropped)/float64(b.N), "dropped/frame")
		})
	}
}
