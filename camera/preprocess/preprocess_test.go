package preprocess

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
)

// digitFrame draws the given digits in a row on a lit paper w×h frame
// and returns it with each digit's box.
func digitFrame(w, h int, digits []int, x0, y0, dh float64, seed uint64) (*image.Gray, []image.Rectangle) {
	rng := rand.New(rand.NewPCG(seed, 9))
	ink := camera.NewInk(w, h)
	var boxes []image.Rectangle
	for i, d := range digits {
		x := x0 + float64(i)*dh*0.9
		camera.DrawDigit(ink, d, x, y0, dh, math.Max(1.5, dh*0.1), 0, 0, 0, rng)
		boxes = append(boxes, image.Rect(int(x), int(y0), int(x+0.62*dh), int(y0+dh)))
	}
	return camera.Paper(ink, 220, 150, 0.7, 0.15, 4, rng), boxes
}

func comOf(in []float32, w int) (float64, float64, float64) {
	var s, sx, sy float64
	for i, v := range in {
		s += float64(v)
		sx += float64(v) * (float64(i%w) + 0.5)
		sy += float64(v) * (float64(i/w) + 0.5)
	}
	return sx / s, sy / s, s
}

func inkBox(in []float32, w int) image.Rectangle {
	r := image.Rectangle{}
	for i, v := range in {
		if v > 0.05 {
			r = r.Union(image.Rect(i%w, i/w, i%w+1, i/w+1))
		}
	}
	return r
}

func TestSingleDigitLikeMNIST(t *testing.T) {
	img, boxes := digitFrame(640, 480, []int{3}, 250, 120, 200, 1)
	res := processFrame(t, Config{}, img)
	if len(res.Digits) != 1 || !res.DarkInk {
		t.Fatalf("digits %d dark %v", len(res.Digits), res.DarkInk)
	}
	d := res.Digits[0]
	if !d.Box.Overlaps(boxes[0]) || d.Box.Intersect(boxes[0]).Dx()*d.Box.Intersect(boxes[0]).Dy()*2 < boxes[0].Dx()*boxes[0].Dy() {
		t.Fatalf("box %v, digit drawn at %v", d.Box, boxes[0])
	}
	cx, cy, _ := comOf(d.Ink, 28)
	if math.Abs(cx-14) > 1 || math.Abs(cy-14) > 1 {
		t.Fatalf("centre of mass (%.2f, %.2f), want (14, 14)", cx, cy)
	}
	if b := inkBox(d.Ink, 28); max(b.Dx(), b.Dy()) < 19 || max(b.Dx(), b.Dy()) > 21 {
		t.Fatalf("ink box %v: longer side should be 20", b)
	}
	// Normalization: background = (0 − mean)/std.
	if want := float32((0 - 0.1307) / 0.3081); math.Abs(float64(d.Input[0]-want)) > 1e-5 {
		t.Fatalf("background input %v, want %v", d.Input[0], want)
	}
	var peak float32
	for _, v := range d.Ink {
		peak = max(peak, v)
	}
	if peak < 0.99 {
		t.Fatalf("peak ink %v, want 1 (MNIST strokes are saturated)", peak)
	}
}

func TestLightInkOnDark(t *testing.T) {
	img, _ := digitFrame(100, 100, []int{7}, 30, 20, 60, 2)
	inv := image.NewGray(img.Bounds())
	for i, v := range img.Pix {
		inv.Pix[i] = 255 - v
	}
	p, _ := New(Config{})
	a, _ := p.Process(img)
	ad := append([]float32(nil), a.Digits[0].Ink...)
	b, _ := p.Process(inv)
	if len(b.Digits) != 1 || b.DarkInk {
		t.Fatalf("inverted frame: digits %d dark %v", len(b.Digits), b.DarkInk)
	}
	if c := corr(ad, b.Digits[0].Ink); c < 0.9 {
		t.Fatalf("dark-on-light and light-on-dark inputs correlate only %.3f", c)
	}
}

func corr(a, b []float32) float64 {
	var sa, sb, sab, saa, sbb float64
	n := float64(len(a))
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		sa += x
		sb += y
		sab += x * y
		saa += x * x
		sbb += y * y
	}
	return (sab - sa*sb/n) / math.Sqrt((saa-sa*sa/n)*(sbb-sb*sb/n))
}

func TestBlankAndTinyFrames(t *testing.T) {
	p, _ := New(Config{})
	rng := rand.New(rand.NewPCG(3, 3))
	frames := map[string]image.Image{
		"1x1":        image.NewGray(image.Rect(0, 0, 1, 1)),
		"0x0":        image.NewGray(image.Rect(0, 0, 0, 0)),
		"1x1000":     image.NewGray(image.Rect(0, 0, 1, 1000)),
		"white":      uniform(640, 480, 255),
		"black":      uniform(640, 480, 0),
		"gray":       uniform(320, 240, 128),
		"offset":     image.NewGray(image.Rect(-5, -7, 30, 20)),
		"noise only": noise(rng, 320, 240, 180, 6),
		"gradient":   gradient(640, 480),
		"rgba blank": image.NewRGBA(image.Rect(0, 0, 50, 40)),
		"paletted":   image.NewPaletted(image.Rect(0, 0, 30, 30), color.Palette{color.White, color.Black}),
	}
	for name, img := range frames {
		res, err := p.Process(img)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(res.Digits) != 0 {
			t.Errorf("%s: found %d digits in a blank frame (box %v)", name, len(res.Digits), res.Digits[0].Box)
		}
	}
	if _, err := p.Process(nil); err == nil {
		t.Error("nil image accepted")
	}
}

func uniform(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

func noise(rng *rand.Rand, w, h int, mean, sd float64) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = uint8(max(0, min(255, mean+sd*rng.NormFloat64())))
	}
	return g
}

// gradient is a strong lighting gradient with a hard shadow edge: no ink.
func gradient(w, h int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 230 - 100*float64(x)/float64(w)
			if x+y > (w+h)/2 {
				v *= 0.6
			}
			g.Pix[y*w+x] = uint8(v)
		}
	}
	return g
}

func TestImageTypesAgree(t *testing.T) {
	img, _ := digitFrame(160, 120, []int{5}, 50, 20, 80, 4)
	p, _ := New(Config{})
	ref, _ := p.Process(img)
	want := append([]float32(nil), ref.Digits[0].Input...)
	b := img.Bounds()
	rgba := image.NewRGBA(b)
	draw.Draw(rgba, b, img, image.Point{}, draw.Src)
	nrgba := image.NewNRGBA(b)
	draw.Draw(nrgba, b, img, image.Point{}, draw.Src)
	yc := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	copy(yc.Y, img.Pix)
	for i := range yc.Cb {
		yc.Cb[i], yc.Cr[i] = 128, 128
	}
	g16 := image.NewGray16(b)
	draw.Draw(g16, b, img, image.Point{}, draw.Src)
	for name, m := range map[string]image.Image{"rgba": rgba, "nrgba": nrgba, "ycbcr": yc, "gray16": g16} {
		r, err := p.Process(m)
		if err != nil || len(r.Digits) != 1 {
			t.Fatalf("%s: %v %d digits", name, err, len(r.Digits))
		}
		for i := range want {
			if math.Abs(float64(r.Digits[0].Input[i]-want[i])) > 0.05 {
				t.Fatalf("%s: input[%d] = %v, gray gives %v", name, i, r.Digits[0].Input[i], want[i])
			}
		}
	}
}

func TestROI(t *testing.T) {
	img, boxes := digitFrame(400, 200, []int{1, 8}, 60, 50, 100, 5)
	// Move the digits apart: draw two frames side by side.
	_ = boxes
	roi := image.Rect(boxes[1].Min.X-10, 20, 400, 190)
	p, _ := New(Config{ROI: roi})
	res, err := p.Process(img)
	if err != nil || len(res.Digits) != 1 {
		t.Fatalf("roi: %v %d digits", err, len(res.Digits))
	}
	if !res.Digits[0].Box.In(roi) {
		t.Fatalf("box %v outside roi %v", res.Digits[0].Box, roi)
	}
	// An ROI outside the frame is an empty search, not an error.
	p, _ = New(Config{ROI: image.Rect(1000, 1000, 1100, 1100)})
	if res, err := p.Process(img); err != nil || len(res.Digits) != 0 {
		t.Fatalf("outside roi: %v %d", err, len(res.Digits))
	}
}

func TestMultiRow(t *testing.T) {
	img, boxes := digitFrame(640, 240, []int{2, 0, 4, 7}, 80, 60, 110, 6)
	p, _ := New(Config{Multi: true})
	res, err := p.Process(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Digits) != 4 {
		t.Fatalf("%d digits, want 4", len(res.Digits))
	}
	for i, d := range res.Digits {
		c := d.Box.Min.Add(d.Box.Max).Div(2)
		if !c.In(boxes[i].Inset(-10)) {
			t.Errorf("digit %d box %v, drawn at %v", i, d.Box, boxes[i])
		}
		if i > 0 && d.Box.Min.X <= res.Digits[i-1].Box.Min.X {
			t.Errorf("digits not left to right")
		}
	}
}

func TestNoAllocations(t *testing.T) {
	img, _ := digitFrame(640, 480, []int{6}, 200, 100, 220, 7)
	p, _ := New(Config{})
	p.Process(img)
	if n := testing.AllocsPerRun(20, func() { p.Process(img) }); n > 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{Width: 2, Height: 28}, {Width: 28, Height: 28, Box: 40}, {WorkSize: 8},
		{MinInk: 1.5}, {MaxDigits: 1000}, {StrokeWidth: 20},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestParse(t *testing.T) {
	if r, err := ParseROI("10,20,30,40"); err != nil || r != image.Rect(10, 20, 40, 60) {
		t.Fatalf("%v %v", r, err)
	}
	for _, s := range []string{"1,2,3", "a,b,c,d", "1,2,0,4", "-1,0,5,5"} {
		if _, err := ParseROI(s); err == nil {
			t.Errorf("roi %q accepted", s)
		}
	}
	if _, err := ParsePolarity("upside"); err == nil {
		t.Error("bad polarity accepted")
	}
	if _, err := ParseThreshold("magic"); err == nil {
		t.Error("bad threshold accepted")
	}
}

func TestAdaptiveThreshold(t *testing.T) {
	img, _ := digitFrame(320, 240, []int{4}, 120, 40, 150, 8)
	p, _ := New(Config{Threshold: Adaptive})
	res, err := p.Process(img)
	if err != nil || len(res.Digits) != 1 {
		t.Fatalf("%v %d digits", err, len(res.Digits))
	}
	p2, _ := New(Config{})
	ref, _ := p2.Process(img)
	if c := corr(res.Digits[0].Ink, ref.Digits[0].Ink); c < 0.8 {
		t.Fatalf("adaptive and otsu inputs correlate %.2f", c)
	}
}

// processFrame runs a new Preprocessor of configuration cfg on img.
func processFrame(t *testing.T, cfg Config, img image.Image) *Result {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Process(img)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
