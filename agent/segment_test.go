package agent

import (
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// inked is one MNIST digit drawn on a composed page: its 28×28 image
// scaled by s with its top-left corner at (x, y), and an optional band
// erased across its strokes (a broken stroke): the pixels within half
// of the line through (bx, by) with normal (nx, ny), in source pixels.
type inked struct {
	idx     int
	x, y, s float64
	broken  bool
	bx, by  float64
	nx, ny  float64
	half    float64
}

// composePage draws digits dark on light paper (w×h), bilinearly scaled.
func composePage(ds *photoset.Digits, w, h int, parts []inked) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 225
	}
	for _, q := range parts {
		src := ds.Images[q.idx]
		at := func(u, v int) float64 {
			if u < 0 || v < 0 || u >= 28 || v >= 28 {
				return 0
			}
			return float64(src[v*28+u]) / 255
		}
		for y := int(q.y); y < int(q.y+28*q.s)+1 && y < h; y++ {
			for x := int(q.x); x < int(q.x+28*q.s)+1 && x < w; x++ {
				u, v := (float64(x)+0.5-q.x)/q.s-0.5, (float64(y)+0.5-q.y)/q.s-0.5
				if q.broken && math.Abs((u-q.bx)*q.nx+(v-q.by)*q.ny) < q.half {
					continue
				}
				u0, v0 := int(math.Floor(u)), int(math.Floor(v))
				fu, fv := u-float64(u0), v-float64(v0)
				a := at(u0, v0)*(1-fu)*(1-fv) + at(u0+1, v0)*fu*(1-fv) + at(u0, v0+1)*(1-fu)*fv + at(u0+1, v0+1)*fu*fv
				if p := uint8(225 - 200*a); p < img.Pix[y*w+x] {
					img.Pix[y*w+x] = p
				}
			}
		}
	}
	return img
}

// inkCols returns the first and last ink column of MNIST image idx.
func inkCols(ds *photoset.Digits, idx int) (x0, x1 int) {
	x0, x1 = 28, -1
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			if ds.Images[idx][y*28+x] > 60 {
				x0, x1 = min(x0, x), max(x1, x)
			}
		}
	}
	return x0, x1
}

// firstOf returns the first MNIST test image of digit d at or after i.
func firstOf(ds *photoset.Digits, d byte, i int) int {
	for ; ds.Labels[i] != d; i++ {
	}
	return i
}

// TestSegmentationByRecognition reads rows that the projection-based
// splitter got wrong: touching digits (inks overlapping by a stroke), a
// 5 whose bar is broken off, a digit much smaller than its neighbours.
func TestSegmentationByRecognition(t *testing.T) {
	ds := numberDigits(t)
	rec, err := realRecognizer(t, RecognizerConfig{Preprocess: preprocess.Config{Multi: true}, MinConfidence: 0.01})()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Engine().Close()
	const s = 4.0 // MNIST pixels → page pixels
	// row lays out digits (MNIST test indices) left to right with the
	// given ink gaps (MNIST pixels; negative: the inks overlap).
	row := func(idx []int, gaps []float64, scale []float64) []inked {
		var out []inked
		x := 20.0
		for i, id := range idx {
			sc := s * scale[i]
			x0, x1 := inkCols(ds, id)
			if i > 0 {
				x += gaps[i-1] * s
			}
			q := inked{idx: id, x: x - float64(x0)*sc, y: 60 + (28*s-28*sc)/2, s: sc}
			out = append(out, q)
			x += float64(x1-x0+1) * sc
		}
		return out
	}
	type layout struct {
		name   string
		digits [3]byte
		gaps   []float64 // ink gaps, MNIST pixels (negative: overlapping)
		scale  []float64
		starts []int // one row per start: the first such digits from there
	}
	var cases []struct {
		name  string
		parts []inked
	}
	// The projection splitter misread touchingb ("84") and broken5b
	// ("2737"); the others guard against regressions of the same kinds
	// (it read these rows of unequal sizes right too).
	for _, l := range []layout{
		{"touching", [3]byte{3, 8, 4}, []float64{-1.5, 3}, []float64{1, 1, 1}, []int{3000, 3100, 3200}},
		{"broken5", [3]byte{2, 5, 7}, []float64{4, 4}, []float64{1, 1, 1}, []int{3000, 3100, 3200}},
		{"unequal", [3]byte{5, 2, 0}, []float64{0, 0.5}, []float64{1.1, 0.65, 1}, []int{3000, 3100, 3200, 3300, 3400, 3500, 3600, 3700}},
		{"unequal4", [3]byte{4, 1, 8}, []float64{1.5, 1.5}, []float64{1.1, 0.6, 0.9}, []int{3000, 3100, 3200, 3300, 3400, 3500, 3600, 3700}},
		{"unequal5", [3]byte{7, 3, 2}, []float64{1, 0.5}, []float64{0.7, 1.1, 0.8}, []int{3000, 3100, 3200, 3300, 3400, 3500, 3600, 3700}},
	} {
		for k, start := range l.starts {
			var idx []int
			for _, d := range l.digits {
				idx = append(idx, firstOf(ds, d, start))
			}
			parts := row(idx, l.gaps, l.scale)
			if l.name == "broken5" {
				// break the 5 with a vertical band where its bar meets its stem
				x0, _ := inkCols(ds, idx[1])
				q := &parts[1]
				q.broken, q.bx, q.by, q.nx, q.ny, q.half = true, float64(x0)+6, 6, 1, 0, 1.2
			}
			cases = append(cases, struct {
				name  string
				parts []inked
			}{l.name + string(rune('a'+k)), parts})
		}
	}
	for _, tc := range cases {
		want := ""
		for _, q := range tc.parts {
			want += string(rune('0' + ds.Labels[q.idx]))
		}
		img := composePage(ds, 400, 240, tc.parts)
		res, err := rec.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != want {
			t.Errorf("%s: read %q, want %q", tc.name, res.Text, want)
		}
		if testing.Verbose() {
			savePNG(t, tc.name, img)
		}
	}
}

func savePNG(t *testing.T, name string, img image.Image) {
	if dir := os.Getenv("SEGTEST_DIR"); dir != "" {
		os.WriteFile(filepath.Join(dir, name+".png"), encodePNG(t, img), 0o644)
	}
}
