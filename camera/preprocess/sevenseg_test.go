package preprocess

import (
	"fmt"
	"image"
	"math/rand/v2"
	"testing"
)

// segLit are the lit segments a..g (bits 0..6) of the digits.
var segLit = [10]uint8{
	SegA | SegB | SegC | SegD | SegE | SegF, SegB | SegC, SegA | SegB | SegG | SegE | SegD,
	SegA | SegB | SegG | SegC | SegD, SegF | SegG | SegB | SegC, SegA | SegF | SegG | SegC | SegD,
	SegA | SegF | SegG | SegE | SegD | SegC, SegA | SegB | SegC, 0x7f, SegA | SegB | SegC | SegD | SegF | SegG,
}

// segFrame draws text (digits, '.' a decimal point, ':' a colon) as a
// seven-segment display in a w×h frame: digit height dh, the top
// leaning right by slant·dh, segments separated by gap strokes; dark
// segments on a light panel, or light on dark.
func segFrame(w, h int, text string, dh, slant, gap float64, light bool, seed uint64) *image.Gray {
	rng := rand.New(rand.NewPCG(seed, 3))
	bg, fg := 200.0, 40.0
	if light {
		bg, fg = 25, 215
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(bg + 4*rng.NormFloat64())
	}
	dw, th := 0.55*dh, 0.12*dh
	g := gap * th
	y0 := (float64(h) - dh) / 2
	x := 0.1 * float64(w)
	fill := func(ox, x0, y0s, x1, y1 float64) { // a box in digit units, slanted
		for y := int(y0 + y0s); y < int(y0+y1); y++ {
			ly := float64(y) + 0.5 - y0
			sh := slant * (dh - ly)
			for xx := int(ox + x0 + sh); xx < int(ox+x1+sh); xx++ {
				if xx >= 0 && xx < w && y >= 0 && y < h {
					img.Pix[y*img.Stride+xx] = uint8(fg + 4*rng.NormFloat64())
				}
			}
		}
	}
	hh := dh / 2
	for _, c := range text {
		switch {
		case c == '.':
			fill(x-0.3*dw, 0, dh-th, th, dh)
			continue
		case c == ':':
			fill(x, 0, 0.3*dh-th/2, th, 0.3*dh+th/2)
			fill(x, 0, 0.7*dh-th/2, th, 0.7*dh+th/2)
			x += 0.6 * dw
			continue
		}
		m := segLit[c-'0']
		type box struct{ x0, y0, x1, y1 float64 }
		segs := [7]box{
			{th/2 + g, 0, dw - th/2 - g, th},                // a
			{dw - th, th/2 + g, dw, hh - g},                 // b
			{dw - th, hh + g, dw, dh - th/2 - g},            // c
			{th/2 + g, dh - th, dw - th/2 - g, dh},          // d
			{0, hh + g, th, dh - th/2 - g},                  // e
			{0, th/2 + g, th, hh - g},                       // f
			{th/2 + g, hh - th/2, dw - th/2 - g, hh + th/2}, // g
		}
		for i, s := range segs {
			if m&(1<<i) != 0 {
				fill(x, s.x0, s.y0, s.x1, s.y1)
			}
		}
		x += 1.35 * dw
	}
	return img
}

// segText is the row's seven-segment reading ('n': not decoded, '.': a
// speck).
func segText(res *Result) string {
	s := ""
	for _, d := range res.Digits {
		switch {
		case !d.Seg.Valid:
			s += "n"
		case d.Seg.Digit < 0:
			s += "."
		default:
			s += fmt.Sprint(d.Seg.Digit)
		}
	}
	return s
}

func TestSevenSegDigits(t *testing.T) {
	p, _ := New(Config{Multi: true})
	for _, light := range []bool{false, true} {
		for _, slant := range []float64{0, 0.12} {
			for _, gap := range []float64{0.25, 0.45} {
				for _, want := range []string{"01234", "56789", "1141", "9806"} {
					img := segFrame(640, 240, want, 110, slant, gap, light, 1)
					res, err := p.Process(img)
					if err != nil {
						t.Fatal(err)
					}
					if got := segText(res); got != want {
						t.Errorf("light %v slant %v gap %v: read %q, want %q", light, slant, gap, got, want)
					}
					for _, d := range res.Digits {
						if d.Seg.Valid && d.Seg.Confidence < 0.9 {
							t.Errorf("light %v slant %v gap %v %q: digit %d confidence %v", light, slant, gap, want, d.Seg.Digit, d.Seg.Confidence)
						}
					}
				}
			}
		}
	}
}

func TestSevenSegSpecks(t *testing.T) {
	p, _ := New(Config{Multi: true})
	for _, tc := range []struct{ text, want string }{
		{"12.5", "125"},
		{"45.6", "456"},
		{"12:34", "1234"},
	} {
		res, err := p.Process(segFrame(640, 240, tc.text, 100, 0.08, 0.4, false, 2))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, d := range res.Digits {
			if !d.Seg.Valid {
				t.Fatalf("%q: digit not decoded (row read as %q)", tc.text, segText(res))
			}
			if d.Seg.Digit >= 0 {
				got += fmt.Sprint(d.Seg.Digit)
			}
		}
		if got != tc.want {
			t.Errorf("%q: digits %q (row %q), want %q", tc.text, got, segText(res), tc.want)
		}
	}
}

// A row of handwritten digits, and a single display digit, are never
// decoded from segments.
func TestSevenSegNotHandwriting(t *testing.T) {
	p, _ := New(Config{Multi: true})
	for i, row := range [][]int{{0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}, {1, 1, 7, 1}, {0, 0, 0}, {4, 1, 7}, {2, 5, 8, 6}} {
		for seed := uint64(1); seed <= 4; seed++ {
			img, _ := digitFrame(640, 240, row, 60, 60, 110, seed+uint64(10*i))
			res, err := p.Process(img)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Digits) < 3 {
				t.Fatalf("row %v: %d digits located", row, len(res.Digits))
			}
			for _, d := range res.Digits {
				if d.Seg.Valid {
					t.Errorf("handwritten row %v (seed %d) read from segments: %q", row, seed, segText(res))
					break
				}
			}
		}
	}
	single, _ := New(Config{})
	res, err := single.Process(segFrame(320, 240, "8", 120, 0, 0.4, false, 3))
	if err != nil || len(res.Digits) != 1 {
		t.Fatalf("single display digit: %v, %d digits", err, len(res.Digits))
	}
	if res.Digits[0].Seg.Valid {
		t.Errorf("a single digit was read from segments")
	}
}

func TestSevenSegNoAllocations(t *testing.T) {
	img := segFrame(640, 480, "90:13.7", 150, 0.1, 0.4, true, 4)
	p, _ := New(Config{Multi: true})
	p.Process(img)
	if n := testing.AllocsPerRun(20, func() { p.Process(img) }); n > 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

// TestSevenSegNotMergedRow: a handwritten row whose middle digits all
// touch makes one component wider than the row is high; with a 1 and a
// 7 whose bar and stem are apart the row is mostly bars, lying and
// standing, but it is not a display (a segment, or a display digit whose
// segments touch, is narrower than the row is high), so the wide
// component goes to the recognition-based segmentation, which cuts it.
func TestSevenSegNotMergedRow(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 640, 240))
	for i := range img.Pix {
		img.Pix[i] = 220
	}
	ink := func(x0, y0, x1, y1 int) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.Pix[y*img.Stride+x] = 30
			}
		}
	}
	ink(60, 60, 74, 170) // 1
	// touching digits: an outline 3.5 row heights wide, with inner walls
	ink(110, 60, 500, 72)
	ink(110, 158, 500, 170)
	for x := 110; x < 500; x += 95 {
		ink(x, 60, x+12, 170)
	}
	ink(488, 60, 500, 170)
	ink(540, 60, 610, 72)  // 7: bar
	ink(590, 80, 604, 170) // and stem, apart
	p, _ := New(Config{Multi: true})
	p.SetScorer(func(in []float32, n int, conf []float32) error {
		for i := range conf {
			conf[i] = 0.9
		}
		return nil
	})
	res, err := p.Process(img)
	if err != nil {
		t.Fatal(err)
	}
	if p.sevenSeg || len(res.Digits) <= 3 {
		t.Fatalf("row read as a display %v, %d digits (%q); want no display and the wide component cut", p.sevenSeg, len(res.Digits), segText(res))
	}
}
