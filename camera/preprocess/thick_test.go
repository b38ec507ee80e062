package preprocess

import (
	"image"
	"testing"
)

// thickSeven draws a "7" of strokes sw pixels wide (ink level ink) on a
// 320×240 frame of paper level paper, lit from the left (a gradient of
// 15%), and returns it with the area of its strokes.
func thickSeven(sw, ink, paper int) (*image.Gray, int) {
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	area := 0
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			v := paper - paper*15*x/(100*320)
			bar := x >= 190-sw && x < 190 && y >= 30 && y < 210
			top := x >= 80 && x < 190 && y >= 30 && y < 30+sw
			if bar || top {
				v = ink
				area++
			}
			img.Pix[y*img.Stride+x] = uint8(v)
		}
	}
	return img, area
}

// TestThickStrokesNotHollow: strokes much wider than the paper filter's
// radius (a thick marker, a digit filling much of the frame) stay ink
// inside, dark on light and light on dark (also mid-grey strokes on a
// black display, which are far from white). Without the wide paper
// estimate (thickStrokes) the inside of the 50-pixel strokes reads as
// paper and the digit as its outline.
func TestThickStrokesNotHollow(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		sw, ink, paper   int
		invert, light    bool
		minFill, maxFill float64
	}{
		{"thick dark", 50, 30, 210, false, false, 0.8, 1.3},
		{"thick light", 50, 30, 210, true, true, 0.8, 1.3},
		{"thick grey on black", 50, 125, 8, false, true, 0.8, 1.3},
	} {
		img, area := thickSeven(tc.sw, tc.ink, tc.paper)
		if tc.invert {
			for i, v := range img.Pix {
				img.Pix[i] = 255 - v
			}
		}
		res, err := p.Process(img)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Digits) != 1 || res.DarkInk == tc.light {
			t.Fatalf("%s: %d digits, dark ink %v", tc.name, len(res.Digits), res.DarkInk)
		}
		// The longer side (180 px) becomes 20 px: the strokes' area
		// scales by (20/180)².
		want := float64(area) * (20.0 / 180) * (20.0 / 180)
		var got float64
		for _, v := range res.Digits[0].Ink {
			got += float64(v)
		}
		// A hollow stroke leaves paper between ink in a row.
		gaps := 0
		for y := 0; y < 28; y++ {
			row := res.Digits[0].Ink[y*28 : (y+1)*28]
			x0, x1 := 28, -1
			for x, v := range row {
				if v >= 0.5 {
					x0, x1 = min(x0, x), x
				}
			}
			for x := x0 + 1; x < x1; x++ {
				if row[x] < 0.5 {
					gaps++
				}
			}
		}
		if gaps > 2 {
			t.Errorf("%s: %d paper pixels between ink in a row (a hollow stroke)", tc.name, gaps)
		}
		if got < tc.minFill*want || got > tc.maxFill*want {
			t.Errorf("%s: ink %.1f of the strokes' %.1f pixels (want %.0f%%–%.0f%%)", tc.name, got, want, 100*tc.minFill, 100*tc.maxFill)
		}
	}
}

// TestWideShadowNotInk: a deep shadow patch as wide as the thick strokes
// above (45% darker: its ink, 0.45, would pass the peak-ink rule) is
// not ink: only a region darker than inkPaper of its surroundings counts
// as a thick stroke (with inkPaper 0.7 the patch reads as a digit).
func TestWideShadowNotInk(t *testing.T) {
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			v := 210 - 210*15*x/(100*320)
			if x >= 140 && x < 190 && y >= 60 && y < 180 {
				v = v * 55 / 100
			}
			img.Pix[y*img.Stride+x] = uint8(v)
		}
	}
	res, err := p.Process(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Digits) != 0 {
		t.Fatalf("a shadow patch read as %d digit(s) (box %v)", len(res.Digits), res.Digits[0].Box)
	}
}
