package collect

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkObserveKept measures Observe when a frame is kept: copying the
// crop to bytes and handing the job to the writer's queue. The benchmark
// empties the queue itself (timer stopped) whenever it fills, so that every
// frame takes this path; the real writer still writes the few it gets.
// BenchmarkCollectPerFrame in package agent measures the whole hook with
// the real writer.
func BenchmarkObserveKept(b *testing.B) {
	c, err := New(Config{Dir: b.TempDir(), Rate: 1, MinGap: -1, Queue: 1024, MaxBytes: 20 << 20})
	if err != nil {
		b.Fatal(err)
	}
	o := obs(time.Now(), 1, 0.99)
	kept := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(c.q) == cap(c.q) {
			b.StopTimer()
			drain(c)
			b.StartTimer()
		}
		o.Time = o.Time.Add(33 * time.Millisecond)
		if c.Observe(o) {
			kept++
		}
	}
	b.StopTimer()
	drain(c)
	c.Close()
	b.ReportMetric(float64(kept)/float64(b.N), "kept/frame")
	if kept*10 < b.N*9 {
		b.Fatalf("only %d of %d frames took the kept path", kept, b.N)
	}
}

func drain(c *Collector) {
	for len(c.q) > 0 {
		select {
		case <-c.q:
		default:
		}
	}
}

// BenchmarkWriteFrameFullInbox measures the writer (off the hot path) on
// an inbox of 20,000 files, a full 200 MiB quota: encoding a 160×120 frame
// and one crop, writing the three files atomically with fsync. Files are
// staged in a small directory, so the inbox's size does not slow it down.
func BenchmarkWriteFrameFullInbox(b *testing.B) {
	dir := b.TempDir()
	c, err := New(Config{Dir: dir, Rate: 1, MinGap: -1, MinFree: -1, MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 20000; i++ {
		name := time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC).Format(idTime) + "-000001.jpg"
		if err := os.WriteFile(filepath.Join(c.inbox(), name), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	o := obs(time.Now(), 1, 0.5)
	o.Frame = image.NewGray(image.Rect(0, 0, 160, 120))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := &job{id: fmt.Sprintf("20270101T000000.%06dZ-000001", i), obs: o, reasons: []string{ReasonSample},
			crops: []cropData{{w: 28, h: 28, pix: make([]uint8, 28*28), label: "7", conf: 0.5}}}
		if err := c.write(j); err != nil {
			b.Fatal(err)
		}
	}
}
