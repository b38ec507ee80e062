package preprocess

import (
	"image"
	"math"
	"testing"
)

// shadowedDigit draws a dark ring (a "0", stroke sw pixels) on the lit
// strip of a 320×240 frame whose left part lies in a shadow: the shadow
// covers most of the frame, so its median is dark.
func shadowedDigit(sw float64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	const cx, cy, rx, ry = 262.0, 120.0, 16.0, 26.0
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			// shadow edge around x = 220, 6 pixels soft
			lit := min(1, max(0, (float64(x)-217)/6))
			v := 60 + 150*lit
			dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
			if d := math.Hypot(dx, dy); math.Abs(d-1)*min(rx, ry) < sw/2 {
				v = 25
			}
			img.Pix[y*img.Stride+x] = uint8(v)
		}
	}
	return img
}

// TestLoneDigitInShadowIsDarkInk: the paper filters call such a frame
// light ink, because the paper inside the ring is a light shape narrower
// than they are; the thin strokes (thinStrokes) make it dark ink. Before
// them, the rings of 6 and 8 pixels were read as light ink.
func TestLoneDigitInShadowIsDarkInk(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sw := range []float64{4, 6, 8} {
		res, err := p.Process(shadowedDigit(sw))
		if err != nil {
			t.Fatal(err)
		}
		if !res.DarkInk || len(res.Digits) != 1 {
			t.Errorf("stroke %.0f: dark ink %v, %d digits; want dark ink, 1 digit", sw, res.DarkInk, len(res.Digits))
		}
	}
}
