package preprocess

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
)

func benchFrames(w, h int) []image.Image {
	rng := rand.New(rand.NewPCG(1, 2))
	var fs []image.Image
	for i := 0; i < 8; i++ {
		f, _ := camera.SyntheticFrame(w, h, rng)
		fs = append(fs, f)
	}
	return fs
}

// BenchmarkProcess640x480 measures preprocessing one 640×480 gray frame
// (the target: ≤ 1 ms, no allocations).
func BenchmarkProcess640x480(b *testing.B) {
	fs := benchFrames(640, 480)
	p, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	p.Process(fs[0])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Process(fs[i%len(fs)]); err != nil {
			b.Fatal(err)
		}
	}
}
