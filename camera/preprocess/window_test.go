package preprocess

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/internal/testenv"
)

// windowFrame draws light digits 3, 5, 8 on a dark odometer window that
// fills a 320×240 frame; rim (frame pixels with the light panel showing
// around the window) is drawn light.
func windowFrame(rim func(x, y int) bool) (*image.Gray, []image.Rectangle) {
	rng := rand.New(rand.NewPCG(3, 5))
	ink := camera.NewInk(320, 240)
	var boxes []image.Rectangle
	for i, d := range []int{3, 5, 8} {
		x := 90 + float64(i)*50
		camera.DrawDigit(ink, d, x, 90, 60, 7, 0, 0, 0, rng)
		boxes = append(boxes, image.Rect(int(x), 90, int(x+0.62*60), 150))
	}
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			v := 25 + 170*float64(ink.Pix[y*320+x])
			if rim(x, y) {
				v = 210
			}
			img.Pix[y*img.Stride+x] = uint8(min(255, v))
		}
	}
	return img, boxes
}

// TestWindowFillingFrame: --multi reads the digits of an odometer window
// that fills the frame. The light rim around it is one component whose
// box holds every digit (clusterComponents must not join the digits to
// it), and a strip of rim at the frame's edge is as tall as a digit and
// thin as a 1 (it must not set the row's band).
func TestWindowFillingFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		rim  func(x, y int) bool
	}{
		{"ring", func(x, y int) bool { return x < 6 || y < 6 || x >= 314 || y >= 234 }},
		{"edge strip", func(x, y int) bool { return x < 6 && y >= 20 && y < 160 }},
	} {
		img, boxes := windowFrame(tc.rim)
		res := processFrame(t, Config{Multi: true}, img)
		if res.DarkInk || len(res.Digits) != len(boxes) {
			t.Fatalf("%s: %d digits (dark ink %v), want %d light ones", tc.name, len(res.Digits), res.DarkInk, len(boxes))
		}
		for i, d := range res.Digits {
			if c := d.Box.Min.Add(d.Box.Max).Div(2); !c.In(boxes[i].Inset(-10)) {
				t.Errorf("%s: digit %d box %v, drawn at %v", tc.name, i, d.Box, boxes[i])
			}
		}
	}
}

// TestStackedPiecesOneDigit: a seven-segment 1 is two bars, one above the
// other, farther apart than the merge margin of either; read alone (and
// in a --rois region) the digit is both bars, not the larger one.
func TestStackedPiecesOneDigit(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range img.Pix {
		img.Pix[i] = 210
	}
	bar := func(y0, y1 int) {
		for y := y0; y < y1; y++ {
			for x := 90; x < 102; x++ {
				img.Pix[y*img.Stride+x] = 30
			}
		}
	}
	bar(40, 95)
	bar(108, 163)
	p, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, region := range []image.Rectangle{{}, image.Rect(80, 30, 112, 178)} {
		var res *Result
		if region.Empty() {
			res, err = p.Process(img)
		} else {
			res, err = p.ProcessRegion(img, region)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Digits) != 1 {
			t.Fatalf("region %v: %d digits, want 1", region, len(res.Digits))
		}
		if b := res.Digits[0].Box; b.Min.Y > 44 || b.Max.Y < 159 {
			t.Errorf("region %v: digit box %v, want both bars (rows 40–163)", region, b)
		}
	}
}

// TestBoldOneIsNoWindow: a bold handwritten 1 is a solid, dark, nearly
// rectangular shape, so it passes for an odometer window; its light
// reading found a 12-pixel light sliver inside the stroke, which was
// answered (a sure "1" for the number 5891 around it). A window's light
// reading is kept only with a digit as tall as the frame's digits may be;
// else the frame's dark reading, which holds the number, answers:
// handwritten tuning photo 738.
func TestBoldOneIsNoWindow(t *testing.T) {
	num, img := tunePhoto(t, mnistDigits(t), photoset.Handwritten, 738, 640, 480)
	if num.Text != "5891" {
		t.Fatalf("photo 738 reads %q: the generator changed, pick the case again", num.Text)
	}
	for _, multi := range []bool{false, true} {
		res := processFrame(t, Config{Multi: multi}, img)
		if !res.DarkInk || len(res.Digits) == 0 {
			t.Fatalf("multi %v: dark ink %v, %d digits: want the dark digits", multi, res.DarkInk, len(res.Digits))
		}
		// every digit read is digit-sized: the boxes of 5891 are 176–184 pixels tall
		for _, dg := range res.Digits {
			if dg.Box.Dy() < 100 {
				t.Errorf("multi %v: a digit box %v, %d pixels tall", multi, dg.Box, dg.Box.Dy())
			}
		}
	}
}

// mnistDigits reads the MNIST test digits the number photos are drawn from.
func mnistDigits(t *testing.T) *photoset.Digits {
	t.Helper()
	d, err := photoset.ReadMNISTTest(testenv.MNISTDir(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tunePhoto draws photo i of kind k of the tuning number split (w×h) and
// decodes it.
func tunePhoto(t *testing.T, d *photoset.Digits, k photoset.Kind, i, w, h int) (photoset.Number, image.Image) {
	t.Helper()
	num, err := photoset.NumberSet(d, photoset.TuneSplit, k, i, w, h)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(num.JPEG))
	if err != nil {
		t.Fatal(err)
	}
	return num, img
}

// TestOdometerEdges: every digit of an odometer is read, as light ink,
// where a rule for the frame's edges used to lose it. Inside a dark
// window the digits fill its height and the first and last lie against
// its sides; they are digits, not the window's rim (odometer tuning
// photos 47, "709569", whose 7 and 9 were dropped, and 238, "7034",
// whose 4 was). A dark display that fills the frame inside a light bezel
// is called dark ink by the paper filters (its dark expanse and the
// bezel's corners leave dark residuals) and then holds no ink; its thin
// light strokes make it light ink (photos 135, "57447", and 259,
// "22461", which answered "no ink").
func TestOdometerEdges(t *testing.T) {
	d := mnistDigits(t)
	for _, c := range []struct {
		i    int
		text string
	}{{47, "709569"}, {238, "7034"}, {135, "57447"}, {259, "22461"}} {
		num, img := tunePhoto(t, d, photoset.Odometer, c.i, 640, 480)
		if num.Text != c.text {
			t.Fatalf("photo %d reads %q: the generator changed, pick the case again", c.i, num.Text)
		}
		res := processFrame(t, Config{Multi: true}, img)
		if res.DarkInk || len(res.Digits) != len(num.Text) {
			t.Errorf("photo %d: dark ink %v, %d digits; want light ink, %d", c.i, res.DarkInk, len(res.Digits), len(num.Text))
			continue
		}
		first, last := res.Digits[0].Box, res.Digits[len(res.Digits)-1].Box
		if !first.Overlaps(num.Boxes[0]) || !last.Overlaps(num.Boxes[len(num.Boxes)-1]) {
			t.Errorf("photo %d: first and last digit boxes %v, %v; want them over %v, %v", c.i, first, last, num.Boxes[0], num.Boxes[len(num.Boxes)-1])
		}
	}
}

// ringsFrame draws dark rings (stroke 6 pixels; centre x, y, radii rx,
// ry each) and dark rectangles on a light 320×240 frame.
func ringsFrame(rings [][4]float64, bars []image.Rectangle) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			v := uint8(200)
			for _, r := range rings {
				dx, dy := (float64(x)-r[0])/r[2], (float64(y)-r[1])/r[3]
				if d := math.Hypot(dx, dy); math.Abs(d-1)*min(r[2], r[3]) < 3 {
					v = 30
				}
			}
			for _, b := range bars {
				if image.Pt(x, y).In(b) {
					v = 30
				}
			}
			img.Pix[y*img.Stride+x] = v
		}
	}
	return img
}

// TestStripAlongEdge: a strip along the frame's side or top (a display's
// bezel, a paper edge), as long as the frame, is no digit; a digit that
// fills the frame's height against its side, or a row of touching digits
// along its top, touches the edge at a few points only and is read
// (spans). Before, the row and the digit against the right side were
// dropped as strips.
func TestStripAlongEdge(t *testing.T) {
	mid, tallMid := [4]float64{160, 120, 24, 40}, [4]float64{160, 120, 36, 100}
	for _, c := range []struct {
		name  string
		rings [][4]float64
		bars  []image.Rectangle
		want  int // digits, at least
	}{
		{"strip along the left side", [][4]float64{mid}, []image.Rectangle{image.Rect(0, 0, 8, 240)}, 1},
		{"strip along the top", [][4]float64{mid}, []image.Rectangle{image.Rect(0, 0, 320, 8)}, 1},
		{"tall digit against the left side", [][4]float64{{52, 120, 45, 110}, tallMid}, nil, 2},
		{"tall digit against the right side", [][4]float64{tallMid, {268, 120, 45, 110}}, nil, 2},
		{"touching digits along the top", [][4]float64{{40, 49, 34, 42}, {104, 49, 34, 42}, {168, 49, 34, 42}, {232, 49, 34, 42}, {286, 49, 28, 42}}, nil, 4},
	} {
		res := processFrame(t, Config{Multi: true}, ringsFrame(c.rings, c.bars))
		var boxes []image.Rectangle
		for _, d := range res.Digits {
			boxes = append(boxes, d.Box)
		}
		strip := len(c.bars) > 0
		if len(res.Digits) < c.want || strip && len(res.Digits) != 1 {
			t.Errorf("%s: %d digits %v, want %d", c.name, len(res.Digits), boxes, c.want)
		}
		for _, b := range c.bars {
			for _, d := range boxes {
				if d.Overlaps(b) {
					t.Errorf("%s: digit %v holds the strip %v", c.name, d, b)
				}
			}
		}
	}
}

// TestDigitFillsFrame: one digit filling the frame is read; a dark patch
// filling it (a shadow) and a dark border along its edges (vignetting)
// are not digits (fillsFrame). Before, the ring was dropped as well.
func TestDigitFillsFrame(t *testing.T) {
	border := []image.Rectangle{image.Rect(0, 0, 320, 12), image.Rect(0, 228, 320, 240), image.Rect(0, 0, 12, 240), image.Rect(308, 0, 320, 240)}
	for _, c := range []struct {
		name  string
		rings [][4]float64
		bars  []image.Rectangle
		want  int
	}{
		{"a ring filling the frame", [][4]float64{{160, 120, 150, 112}}, nil, 1},
		{"a dark patch filling the frame", nil, []image.Rectangle{image.Rect(10, 8, 310, 232)}, 0},
		{"a dark border", nil, border, 0},
	} {
		res := processFrame(t, Config{}, ringsFrame(c.rings, c.bars))
		if len(res.Digits) != c.want {
			t.Errorf("%s: %d digits, want %d (dark ink %v)", c.name, len(res.Digits), c.want, res.DarkInk)
			for _, d := range res.Digits {
				t.Logf("digit %v", d.Box)
			}
		}
	}
}

// TestTouchingRowFillsFrame: with Multi, the digits of a number that
// fills the frame touching into one shape are read, whether the shape
// fills the frame both ways (fillsFrame) or fills its width and, its
// tops cut by the frame, 80 % of its height along the top (tallRow);
// a thin line across the frame is still no digit. Before, both rows
// were dropped as a shadow or a strip along the edge.
func TestTouchingRowFillsFrame(t *testing.T) {
	// digits drawn as two rings each (strokes 12 pixels wide), touching
	// (without a Scorer, one shape reads as one digit)
	row := func(cy, ry float64) [][4]float64 {
		var rs [][4]float64
		for _, cx := range []float64{56, 160, 264} {
			rs = append(rs, [4]float64{cx, cy, 54, ry}, [4]float64{cx, cy, 48, ry - 6})
		}
		return rs
	}
	var line []image.Rectangle
	for x := 0; x < 250; x += 5 {
		y := 236 - x*220/250
		line = append(line, image.Rect(x, y-3, x+6, y+3))
	}
	for _, c := range []struct {
		name  string
		rings [][4]float64
		bars  []image.Rectangle
		want  int // digits, at least (0: none)
	}{
		{"touching digits filling the frame", row(120, 112), nil, 1},
		{"touching digits along the top", row(96, 96), nil, 2},
		{"a thin line across the frame", nil, line, 0},
	} {
		res := processFrame(t, Config{Multi: true}, ringsFrame(c.rings, c.bars))
		if len(res.Digits) < c.want || c.want == 0 && len(res.Digits) > 0 {
			t.Errorf("%s: %d digits, want %d", c.name, len(res.Digits), c.want)
		}
		for _, d := range res.Digits {
			t.Logf("%s: digit %v", c.name, d.Box)
		}
	}
}
