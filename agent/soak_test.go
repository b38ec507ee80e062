package agent

import (
	"context"
	"image"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
	dto "github.com/prometheus/client_model/go"
)

func rssKB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			v, _ := strconv.Atoi(strings.Fields(l)[1])
			return v
		}
	}
	return -1
}

// TestSoak pushes 100,000 small frames through the real loop (real
// preprocessing and the real native engine; one frame in 50 shows a digit,
// the rest are blank or noise, as a camera mostly sees) and checks that
// the heap and RSS stay flat.
func TestSoak(t *testing.T) {
	const total = 100_000
	rng := rand.New(rand.NewPCG(9, 9))
	var pool []image.Image
	for i := 0; i < 8; i++ {
		img, _ := camera.SyntheticFrame(48, 36, rng)
		pool = append(pool, img)
	}
	blank := image.NewGray(image.Rect(0, 0, 48, 36))
	for i := range blank.Pix {
		blank.Pix[i] = uint8(200 + rng.IntN(8))
	}
	var n atomic.Int64
	lines := make(chan struct{}, 1)
	out := signalWriter{lines}
	var heap0, heap1 uint64
	var rss0, rss1 int
	src := &funcSource{next: func() (camera.Frame, error) {
		i := n.Add(1)
		switch i {
		case 2000: // warmed up
			heap0, rss0 = heapNow(), rssKB()
		case total:
			heap1, rss1 = heapNow(), rssKB()
		}
		if i > total {
			return camera.Frame{}, errEOF
		}
		// Fresh frame memory each time, like a real source.
		var img image.Image
		if i%50 == 0 {
			g := pool[i%8].(*image.Gray)
			img = &image.Gray{Pix: append([]byte(nil), g.Pix...), Stride: g.Stride, Rect: g.Rect}
		} else {
			img = &image.Gray{Pix: append([]byte(nil), blank.Pix...), Stride: blank.Stride, Rect: blank.Rect}
		}
		// Lock step: every frame is processed (one JSON line each).
		if i > 1 {
			<-lines
		}
		return camera.Frame{Image: img, Seq: uint64(i), Time: time.Now()}, nil
	}}
	a, _ := New(Config{
		OpenCamera:    func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: realRecognizer(t, RecognizerConfig{}),
		Out:           out,
		Smooth:        5,
	})
	t0 := time.Now()
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := counterOf(a); p != total {
		t.Fatalf("%d frames processed, want all %d", p, total)
	}
	t.Logf("%d frames in %v; heap %d → %d KiB, RSS %d → %d KiB", total, time.Since(t0), heap0>>10, heap1>>10, rss0, rss1)
	if heap1 > heap0+8<<20 {
		t.Fatalf("heap grew from %d to %d KiB over %d frames", heap0>>10, heap1>>10, total)
	}
	if rss1 > rss0+32<<10 {
		t.Fatalf("RSS grew from %d to %d KiB over %d frames", rss0, rss1, total)
	}
}

func counterOf(a *Agent) int {
	var m dto.Metric
	a.m.processed.Write(&m)
	return int(m.GetCounter().GetValue())
}

func heapNow() uint64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// signalWriter discards output and signals each JSON line.
type signalWriter struct{ c chan struct{} }

func (w signalWriter) Write(p []byte) (int, error) {
	w.c <- struct{}{}
	return len(p), nil
}
