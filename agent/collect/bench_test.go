package collect

import (
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
