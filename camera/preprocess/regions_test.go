package preprocess

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/camera/photoset"
)

func TestParseRegions(t *testing.T) {
	rs, err := ParseRegions([]byte(`[{"x":1,"y":2,"w":3,"h":4,"name":"d1"},{"x":10,"y":2,"w":3,"h":4}]`))
	if err != nil || len(rs) != 2 || rs[0].Rect() != image.Rect(1, 2, 4, 6) || rs[0].Name != "d1" {
		t.Fatalf("got %+v, %v", rs, err)
	}
	many := "[" + strings.Repeat(`{"x":0,"y":0,"w":1,"h":1},`, MaxRegions) + `{"x":0,"y":0,"w":1,"h":1}]`
	for name, in := range map[string]string{
		"not json": `x,y,w,h`, "empty": `[]`, "object": `{"x":1}`, "negative": `[{"x":-1,"y":0,"w":4,"h":4}]`,
		"zero size": `[{"x":0,"y":0,"w":0,"h":4}]`, "unknown field": `[{"x":0,"y":0,"w":4,"h":4,"z":1}]`,
		"trailing": `[{"x":0,"y":0,"w":4,"h":4}] []`, "too many": many, "huge": `[{"x":0,"y":0,"w":99999999,"h":4}]`,
		"string": `[{"x":"1","y":0,"w":4,"h":4}]`,
	} {
		if _, err := ParseRegions([]byte(in)); err == nil || !strings.Contains(err.Error(), "rois") {
			t.Errorf("%s: accepted or unclear error: %v", name, err)
		}
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.json")
	os.WriteFile(big, make([]byte, maxRegionsFile+10), 0o644)
	if _, err := LoadRegions(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized file: %v", err)
	}
	if _, err := LoadRegions(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
	err = CheckRegions(rs, image.Rect(0, 0, 12, 12))
	if err == nil || !strings.Contains(err.Error(), "region 1") || !strings.Contains(err.Error(), "outside the 12x12 frame") {
		t.Errorf("region outside the frame: %v", err)
	}
	if err := CheckRegions(rs, image.Rect(0, 0, 20, 20)); err != nil {
		t.Error(err)
	}
}

// TestBadFrames: extreme frames give a clear answer (no digit), never a
// panic; a 20000×20000 frame (rows sharing memory: stride 0) included.
func TestBadFrames(t *testing.T) {
	huge := &image.Gray{Pix: make([]uint8, 20000), Stride: 0, Rect: image.Rect(0, 0, 20000, 20000)}
	for i := range huge.Pix {
		huge.Pix[i] = 200
	}
	frames := map[string]image.Image{
		"1x1":         image.NewGray(image.Rect(0, 0, 1, 1)),
		"all white":   uniform(320, 240, 255),
		"all black":   uniform(320, 240, 0),
		"20000x20000": huge,
	}
	for _, multi := range []bool{false, true} {
		p, err := New(Config{Multi: multi})
		if err != nil {
			t.Fatal(err)
		}
		for name, img := range frames {
			res, err := p.Process(img)
			if err != nil || len(res.Digits) != 0 {
				t.Errorf("multi %v, %s: %v, %d digits", multi, name, err, len(res.Digits))
			}
		}
		if res, err := p.ProcessRegion(uniform(32, 32, 255), image.Rect(40, 40, 50, 50)); err != nil || len(res.Digits) != 0 {
			t.Errorf("region outside: %v %v", res, err)
		}
	}
}

// In a configured region, a narrow piece of the next digit clipped by the
// region's edge is not merged into the region's digit; a piece away from
// the edge (a broken stroke) still is.
func TestRegionDropsNeighbourPiece(t *testing.T) {
	frame := func(sliverX0 int) *image.Gray {
		img := uniform(200, 120, 230)
		fill := func(x0, y0, x1, y1 int) {
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					img.Pix[y*img.Stride+x] = 20
				}
			}
		}
		// a 0: a ring 30 wide, 60 tall, stroke 5, at x 72..102
		fill(72, 30, 102, 35)
		fill(72, 85, 102, 90)
		fill(72, 30, 77, 90)
		fill(97, 30, 102, 90)
		fill(sliverX0, 40, sliverX0+5, 80) // the piece
		return img
	}
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	region := image.Rect(62, 20, 115, 100)
	for _, tc := range []struct {
		name     string
		sliverX0 int
		merged   bool
	}{
		{"neighbour piece at the region's edge", 60, false},
		{"piece inside the region", 65, true},
	} {
		res, err := p.ProcessRegion(frame(tc.sliverX0), region)
		if err != nil || len(res.Digits) != 1 {
			t.Fatalf("%s: %v, %d digits", tc.name, err, len(res.Digits))
		}
		b := res.Digits[0].Box
		if merged := b.Min.X < 70; merged != tc.merged {
			t.Errorf("%s: digit box %v: piece merged %v, want %v", tc.name, b, merged, tc.merged)
		}
	}
}

// A configured region on an odometer's dark window whose light digit
// fills most of it (the median of the region is ink, which misled the
// whole-frame rule into dark ink: the window became the ink) is read as
// light ink from its dark border. Odometer tuning photo 1 (320×240), its
// "8" in its true box as cambench -oracle draws it.
func TestRegionPolarityFromBorder(t *testing.T) {
	num, img := tunePhoto(t, mnistDigits(t), photoset.Odometer, 1, 320, 240)
	if num.Text[2] != '8' {
		t.Fatalf("photo 1 reads %q: the generator changed, pick the case again", num.Text)
	}
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.ProcessRegion(img, num.Boxes[2].Inset(-3).Intersect(img.Bounds()))
	if err != nil || len(res.Digits) != 1 {
		t.Fatalf("%v, %d digits", err, len(res.Digits))
	}
	if res.DarkInk {
		t.Fatal("the light 8 on the dark window was read as dark ink")
	}
	// the ink is the 8's strokes, not the window: well under half the crop
	var ink float32
	for _, v := range res.Digits[0].Ink {
		ink += v
	}
	if ink > 0.35*float32(len(res.Digits[0].Ink)) {
		t.Fatalf("ink %.0f of %d pixels: the window came out as ink", ink, len(res.Digits[0].Ink))
	}
}

// TestRegionsSevenSegment: the digits of a display's --rois regions carry
// their seven-segment readings, and DisplayRow keeps them when the
// regions together are a display (6 of the first 20 seven-segment tuning
// photos: the others lose a cell in the region crop; each
// kept reading right) and never for handwritten or odometer digits.
func TestRegionsSevenSegment(t *testing.T) {
	d := mnistDigits(t)
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	for _, kind := range []photoset.Kind{photoset.SevenSegment, photoset.Handwritten, photoset.Odometer} {
		kept := 0
		for i := 0; i < n; i++ {
			num, img := tunePhoto(t, d, kind, i, 320, 240)
			var ds []Digit
			for _, b := range num.Boxes {
				res, err := p.ProcessRegion(img, b.Inset(-4).Intersect(img.Bounds()))
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Digits) == 1 {
					ds = append(ds, Digit{Box: res.Digits[0].Box, Seg: res.Digits[0].Seg})
				}
			}
			if len(ds) != len(num.Boxes) || !DisplayRow(ds) {
				continue
			}
			kept++
			for j, dg := range ds {
				if int(dg.Seg.Digit) != int(num.Text[j]-'0') {
					t.Errorf("%v photo %d (%q): region %d decoded as %d", kind, i, num.Text, j, dg.Seg.Digit)
				}
			}
		}
		t.Logf("%v: %d of %d photos read as displays", kind, kept, n)
		if kind == photoset.SevenSegment && kept < n/4 || kind != photoset.SevenSegment && kept > 0 {
			t.Errorf("%v: %d of %d photos read as displays", kind, kept, n)
		}
	}
}
