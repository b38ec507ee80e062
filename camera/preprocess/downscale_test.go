package preprocess

import (
	"image"
	"math/rand/v2"
	"testing"
)

// TestDownscaleEqualsAreaMean: every path of downscale (by 4 with widths
// a multiple of 8: eight pixels a load; other factors and widths: the
// byte loop) equals the rounded mean of each f×f block (cut blocks at the
// right and bottom edges average the pixels they hold), and the histogram
// counts the working image. Extreme bytes (all 255) are over-represented:
// the 16-bit lanes of the fast path must not carry.
func TestDownscaleEqualsAreaMean(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ w, h, f int }{
		{64, 37, 4}, {640, 480, 4}, {8, 4, 4}, {8, 1, 4}, {72, 9, 4}, // fast path
		{60, 37, 4}, {63, 22, 3}, {50, 50, 2}, {17, 5, 1}, // byte loop
	} {
		for _, fill := range []string{"random", "white"} {
			lum := image.NewGray(image.Rect(0, 0, c.w, c.h))
			lum.Stride = c.w + 5 // rows apart by more than their width
			lum.Pix = make([]byte, lum.Stride*c.h)
			for i := range lum.Pix {
				lum.Pix[i] = 255
				if fill == "random" {
					lum.Pix[i] = byte(r.IntN(256))
				}
			}
			hist := *p.downscale(lum, c.f)
			ww, wh := (c.w+c.f-1)/c.f, (c.h+c.f-1)/c.f
			var want [256]int
			for j := 0; j < wh; j++ {
				for i := 0; i < ww; i++ {
					s, n := 0, 0
					for y := j * c.f; y < min((j+1)*c.f, c.h); y++ {
						for x := i * c.f; x < min((i+1)*c.f, c.w); x++ {
							s += int(lum.Pix[y*lum.Stride+x])
							n++
						}
					}
					v := uint8((s + n/2) / n)
					if got := p.small[j*ww+i]; got != v {
						t.Fatalf("%dx%d by %d (%s): block (%d, %d) = %d, want %d", c.w, c.h, c.f, fill, i, j, got, v)
					}
					want[v]++
				}
			}
			if hist != want {
				t.Fatalf("%dx%d by %d (%s): histogram differs", c.w, c.h, c.f, fill)
			}
		}
	}
}
