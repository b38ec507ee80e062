package photoset

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"strconv"
)

// Kind is the kind of whole-number photo RenderNumber draws.
type Kind int

// Number photo kinds.
const (
	// Handwritten: 3–6 MNIST test digits written in a row on paper, with
	// touching neighbours, broken strokes, unequal sizes and numbers that
	// run close to the frame edge.
	Handwritten Kind = iota
	// Odometer: white (MNIST) digits in a dark window, the window inside
	// a lighter panel or filling most of the frame (a white-on-black
	// display).
	Odometer
	// SevenSegment: seven-segment numbers whose segments are separate
	// shapes, dark on a light LCD or light on a dark LED panel.
	SevenSegment
)

// Kinds lists the kinds by name.
var Kinds = map[string]Kind{"hand": Handwritten, "odometer": Odometer, "sevenseg": SevenSegment}

func (k Kind) String() string {
	for n, v := range Kinds {
		if v == k {
			return n
		}
	}
	return "kind" + strconv.Itoa(int(k))
}

// Number is one generated whole-number photo.
type Number struct {
	JPEG []byte
	Text string // the true digits, left to right
	// Index holds the MNIST image index of each digit of a handwritten or
	// odometer photo (empty for seven-segment photos).
	Index []int
	Boxes []image.Rectangle // per digit: where its ink lies in the frame
	// Window is the dark window of an Odometer photo (else empty).
	Window image.Rectangle
	// Conditions, for reports.
	Touching, Broken, Unequal, Edge bool
}

// Filled is the part of the photo that a camera set up to fill its
// frame with the number would see (a meter reader's camera often is): the
// number's box with 2.5 % of its width at each side, 2 pixels cut off the
// digits' tops and 10 % of their height below, within the photo's bounds
// b. The first and last digit then stand close to the frame's sides, as
// tall as the frame, and the tallest digits touch its top.
func (n Number) Filled(b image.Rectangle) image.Rectangle {
	var u image.Rectangle
	for _, d := range n.Boxes {
		u = u.Union(d)
	}
	m := u.Dx() / 40
	return image.Rect(u.Min.X-m, u.Min.Y+2, u.Max.X+m, u.Max.Y+u.Dy()/10).Intersect(b)
}

// FilledImage crops img, the decoded photo of n, to n.Filled: img must
// support SubImage (every decoded JPEG does).
func (n Number) FilledImage(img image.Image) (image.Image, error) {
	sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	})
	if !ok {
		return nil, fmt.Errorf("photoset: a %T cannot be cropped", img)
	}
	return sub.SubImage(n.Filled(img.Bounds())), nil
}

// Split selects disjoint MNIST test digits and seeds for a photo set, so
// that a set used to tune the segmentation never shares a digit with the
// set that measures it.
type Split struct {
	Name       string
	First, End int    // MNIST test image indices [First, End)
	Seed       uint64 // random seed of the photo conditions
}

// The two number splits. The committed sample photos use test digits
// 9000 and above, so neither split overlaps them.
var (
	TuneSplit = Split{Name: "tune", First: 0, End: 5000, Seed: 101}
	TestSplit = Split{Name: "test", First: 5000, End: 9000, Seed: 202}
)

// NumberSet draws photo i of kind k in split s (w×h frames); the same
// arguments always give the same photo.
func NumberSet(d *Digits, s Split, k Kind, i, w, h int) (Number, error) {
	if s.End > len(d.Images) || s.First >= s.End {
		return Number{}, fmt.Errorf("photoset: split %s needs MNIST test images [%d, %d), have %d", s.Name, s.First, s.End, len(d.Images))
	}
	rng := rand.New(rand.NewPCG(s.Seed, uint64(k)<<32|uint64(i)))
	pick := func() int { return s.First + rng.IntN(s.End-s.First) }
	return RenderNumber(d, k, pick, w, h, rng)
}

// NumberSetDigit draws photo i of NumberSet(d, s, k, i, w, h) with only
// its digit j: the same place, size, broken stroke, paper, light, noise
// and JPEG quality, and no neighbours (Text and Boxes hold that digit
// alone). It measures the classifier on the photo's digits without
// segmentation (cambench numbers -oracle). Not for SevenSegment.
func NumberSetDigit(d *Digits, s Split, k Kind, i, j, w, h int) (Number, error) {
	if k == SevenSegment {
		return Number{}, fmt.Errorf("photoset: no single-digit variant of %s photos", k)
	}
	if s.End > len(d.Images) || s.First >= s.End {
		return Number{}, fmt.Errorf("photoset: split %s needs MNIST test images [%d, %d), have %d", s.Name, s.First, s.End, len(d.Images))
	}
	rng := rand.New(rand.NewPCG(s.Seed, uint64(k)<<32|uint64(i)))
	pick := func() int { return s.First + rng.IntN(s.End-s.First) }
	return renderNumber(d, k, pick, w, h, rng, j, touchAllShare)
}

// placed is one digit of a number in canvas units (MNIST pixels).
type placed struct {
	img    []uint8
	bx, by float64 // top-left of the digit's ink box in the source image
	ox, oy float64 // where that corner lands on the canvas
	s      float64 // scale
	bw, bh float64 // ink box size (source pixels)
	// Broken stroke: a band |n·(p−c)| < half, within radius rad of c.
	broken       bool
	cx, cy       float64
	nx, ny, half float64
	rad          float64
	label        byte
}

func inkBox(img []uint8) (x0, y0, x1, y1 int) {
	x0, y0, x1, y1 = 28, 28, -1, -1
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			if img[y*28+x] > 60 {
				x0, y0 = min(x0, x), min(y0, y)
				x1, y1 = max(x1, x), max(y1, y)
			}
		}
	}
	return
}

// extent returns the leftmost and rightmost ink of canvas row y (canvas
// units relative to q.ox), ok false when the row has no ink.
func (q *placed) extent(y float64) (l, r float64, ok bool) {
	sy := int(math.Round((y-q.oy)/q.s + q.by))
	if sy < 0 || sy >= 28 {
		return 0, 0, false
	}
	l, r = 99, -1
	for x := 0; x < 28; x++ {
		if q.img[sy*28+x] > 60 {
			l, r = min(l, float64(x)), max(r, float64(x)+1)
		}
	}
	if r < 0 {
		return 0, 0, false
	}
	return (l - q.bx) * q.s, (r - q.bx) * q.s, true
}

// touchOffset returns how far right of prev's box right edge (prev.ox +
// prev.bw·prev.s) next's box may start so that the inks of the two just
// touch in the closest row (negative: the boxes overlap).
func touchOffset(prev, next *placed) float64 {
	best := math.Inf(-1)
	for y := 0.0; y < 40; y += 0.5 {
		_, r, ok1 := prev.extent(y)
		l, _, ok2 := next.extent(y)
		if ok1 && ok2 {
			// next.ox + l ≥ prev.ox + r  ⇒  offset ≥ r − l − prev.bw·s
			best = max(best, r-l-prev.bw*prev.s)
		}
	}
	if math.IsInf(best, -1) {
		return 0
	}
	return best
}

func (q *placed) ink(mx, my float64) float64 {
	u, v := (mx-q.ox)/q.s+q.bx, (my-q.oy)/q.s+q.by
	if u < q.bx-2 || v < q.by-2 || u > q.bx+q.bw+2 || v > q.by+q.bh+2 {
		return 0
	}
	a := smoothstep(0.25, 0.6, bilinear(q.img, u-0.5, v-0.5)/255)
	if q.broken && a > 0 {
		du, dv := u-q.cx, v-q.cy
		if du*du+dv*dv < q.rad*q.rad && math.Abs(du*q.nx+dv*q.ny) < q.half {
			return 0
		}
	}
	return a
}

// RenderNumber draws one whole-number photo of kind k; pick returns the
// MNIST test index of the next digit to use.
func RenderNumber(d *Digits, k Kind, pick func() int, w, h int, rng *rand.Rand) (Number, error) {
	return renderNumber(d, k, pick, w, h, rng, -1, touchAllShare)
}

// touchAllShare is the share of handwritten numbers whose digits all
// touch their neighbours (the photo sets' mix).
const touchAllShare = 0.1

// RenderTouching is RenderNumber with a share touchAll (0..1) of numbers
// whose digits all touch, instead of the photo sets' 0.1: more touching
// pairs for the segmentation judge's training data (train/judge).
func RenderTouching(d *Digits, k Kind, pick func() int, w, h int, rng *rand.Rand, touchAll float64) (Number, error) {
	return renderNumber(d, k, pick, w, h, rng, -1, touchAll)
}

// renderNumber is RenderNumber; with only ≥ 0 it draws that digit alone
// (the others are laid out and placed but not inked).
func renderNumber(d *Digits, k Kind, pick func() int, w, h int, rng *rand.Rand, only int, touchAll float64) (Number, error) {
	if w < 32 || h < 32 {
		return Number{}, fmt.Errorf("photoset: frame %dx%d too small for a number", w, h)
	}
	if k == SevenSegment {
		return renderSevenSeg(w, h, rng)
	}
	// The steps draw from rng in this order; changing it changes every set.
	var num Number
	ds, cw, ch := layoutDigits(d, k, pick, rng, &num, touchAll)
	pl := placeNumber(k, w, h, cw, ch, rng, &num)
	if only >= 0 {
		if only >= len(ds) {
			return Number{}, fmt.Errorf("photoset: digit %d of a %d-digit number", only, len(ds))
		}
		ds = ds[only : only+1]
		num.Text = num.Text[only : only+1]
		num.Index = num.Index[only : only+1]
	}
	ink, boxes := rasterInk(ds, pl, w, h)
	num.Boxes = boxes
	refl := reflectance(k, ink, pl.win, w, rng)
	b, err := shade(refl, w, h, k == Handwritten, rng)
	num.JPEG = b
	return num, err
}

// layoutDigits picks 3–6 digits and lays them out in a row in MNIST pixel
// units (spacing, scale, touching and broken strokes by kind); cw×ch is
// the row's extent.
func layoutDigits(d *Digits, k Kind, pick func() int, rng *rand.Rand, num *Number, touchShare float64) (ds []placed, cw, ch float64) {
	n := 3 + rng.IntN(4)
	touchAll := rng.Float64() < touchShare
	for i := 0; i < n; i++ {
		idx := pick()
		img := d.Images[idx]
		x0, y0, x1, y1 := inkBox(img)
		if x1 < 0 {
			i--
			continue
		}
		q := placed{img: img, bx: float64(x0), by: float64(y0), bw: float64(x1 - x0 + 1), bh: float64(y1 - y0 + 1), s: 1, label: '0' + d.Labels[idx]}
		num.Index = append(num.Index, idx)
		if k == Handwritten && rng.Float64() < 0.4 {
			q.s = 0.72 + 0.4*rng.Float64()
			num.Unequal = true
		}
		// Spacing is measured between the inks row by row (not between
		// boxes): a gap of 1.5–5 MNIST pixels, or touching strokes.
		gap := 1.5 + 3.5*rng.Float64()
		if k == Handwritten && i > 0 && (touchAll || rng.Float64() < 0.08) {
			gap = -0.8 + 1.0*rng.Float64() // strokes touch or overlap a little
			num.Touching = true
		}
		if k == Odometer {
			gap = 4 + 2*rng.Float64()
			q.s = 1
		}
		q.oy = (20-q.bh*q.s)*rng.Float64()*0.5 + 2*(rng.Float64()-0.5)
		if k == Odometer {
			q.oy = (20 - q.bh) / 2
		}
		q.ox = 0
		if i > 0 {
			pr := &ds[i-1]
			q.ox = pr.ox + pr.bw*pr.s + touchOffset(pr, &q) + gap
		}
		x := q.ox + q.bw*q.s
		if k == Handwritten && rng.Float64() < 0.15 {
			q.broken = true
			num.Broken = true
			q.cx = q.bx + q.bw*(0.2+0.6*rng.Float64())
			q.cy = q.by + q.bh*(0.2+0.6*rng.Float64())
			a := rng.Float64() * math.Pi
			q.nx, q.ny = math.Cos(a), math.Sin(a)
			q.half = 0.6 + 0.5*rng.Float64()
			q.rad = 4 + 3*rng.Float64()
		}
		ds = append(ds, q)
		num.Text += string(q.label)
		cw = max(cw, x)
		ch = max(ch, q.oy+q.bh*q.s)
	}
	minY := 0.0
	for _, q := range ds {
		minY = min(minY, q.oy)
	}
	for i := range ds {
		ds[i].oy -= minY
	}
	return ds, cw, ch - minY
}

// numberPlacement is where the row of digits lands in the frame.
type numberPlacement struct {
	cw, ch      float64         // the row's extent in MNIST pixels
	scale       float64         // frame pixels per MNIST pixel
	nw, nh      float64         // the row's extent in frame pixels
	angle, tilt float64         // rotation (radians) and perspective
	cx, cy      float64         // centre in the frame
	win         image.Rectangle // Odometer window (frame coordinates)
}

// placeNumber chooses the scale, rotation and position of the row in a
// w×h frame (and an Odometer's window).
func placeNumber(k Kind, w, h int, cw, ch float64, rng *rand.Rand, num *Number) numberPlacement {
	pl := numberPlacement{cw: cw, ch: ch}
	// Frame scale: the number's height and width in pixels.
	fw, fh := float64(w), float64(h)
	scale := fh * (0.18 + 0.3*rng.Float64()) / ch
	if k == Odometer {
		scale = fh * (0.14 + 0.22*rng.Float64()) / ch
	}
	scale = min(scale, 0.9*fw/cw)
	nw, nh := cw*scale, ch*scale
	pl.scale, pl.nw, pl.nh = scale, nw, nh
	pl.angle = (rng.Float64()*2 - 1) * 5 * math.Pi / 180
	pl.tilt = (rng.Float64()*2 - 1) * 0.1
	if k == Odometer { // the drums sit square in their window
		pl.angle, pl.tilt = 0, 0
	}
	var cx, cy, winPad float64
	edge := k == Handwritten && rng.Float64() < 0.3
	switch {
	case edge: // the number runs up to a few pixels from a frame edge
		num.Edge = true
		pad := nw/2 + fw*(0.005+0.015*rng.Float64())
		if rng.IntN(2) == 0 {
			cx = pad
		} else {
			cx = fw - pad
		}
		cy = nh/2 + 4 + (fh-nh-8)*rng.Float64()
	case k == Odometer:
		winPad = nh * (0.15 + 0.25*rng.Float64())
		mx, my := nw/2+winPad+0.02*fw, nh/2+winPad+0.02*fh
		cx = mx + max(0, fw-2*mx)*rng.Float64()
		cy = my + max(0, fh-2*my)*rng.Float64()
	default:
		cx = nw/2 + 0.06*fw + (fw-nw-0.12*fw)*rng.Float64()
		cy = nh/2 + 0.1*fh + (fh-nh-0.2*fh)*math.Max(0, rng.Float64())
	}
	pl.cx, pl.cy = cx, cy
	// Odometer window around the digits (frame coordinates).
	if k == Odometer {
		win := image.Rect(int(cx-nw/2-winPad), int(cy-nh/2-winPad), int(cx+nw/2+winPad), int(cy+nh/2+winPad)).Intersect(image.Rect(0, 0, w, h))
		if rng.Float64() < 0.3 { // a display filling most of the frame
			m := int(0.03 * fh)
			win = image.Rect(m, m, w-m, h-m)
		}
		num.Window = win
		pl.win = win
	}
	return pl
}

// rasterInk maps every frame pixel back onto the row of digits: the ink
// coverage per pixel and, per digit, the box of its pixels over half ink.
func rasterInk(ds []placed, pl numberPlacement, w, h int) ([]float64, []image.Rectangle) {
	sin, cos := math.Sin(-pl.angle), math.Cos(-pl.angle)
	ink := make([]float64, w*h)
	boxes := make([]image.Rectangle, len(ds))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)+0.5-pl.cx, float64(y)+0.5-pl.cy
			kk := 1 + pl.tilt*fy/math.Max(pl.nh, 1)
			fx, fy = fx*kk, fy*kk
			rx, ry := fx*cos-fy*sin, fx*sin+fy*cos
			mx, my := rx/pl.scale+pl.cw/2, ry/pl.scale+pl.ch/2
			var a float64
			for j := range ds {
				if v := ds[j].ink(mx, my); v > 0 {
					if v > 0.5 {
						boxes[j] = boxes[j].Union(image.Rect(x, y, x+1, y+1))
					}
					a = max(a, v)
				}
			}
			ink[y*w+x] = a
		}
	}
	return ink, boxes
}

// reflectance is the paper (or panel, with its window) with the ink.
func reflectance(k Kind, ink []float64, win image.Rectangle, w int, rng *rand.Rand) []float64 {
	refl := make([]float64, len(ink))
	inkR := 0.08 + 0.25*rng.Float64()
	panel := 0.55 + 0.4*rng.Float64()
	winR := 0.04 + 0.08*rng.Float64()
	white := 0.65 + 0.3*rng.Float64()
	for i := range refl {
		a := ink[i]
		switch {
		case k == Odometer && image.Pt(i%w, i/w).In(win):
			refl[i] = winR*(1-a) + white*a
		case k == Odometer:
			refl[i] = panel
		default:
			refl[i] = 1*(1-a) + inkR*a
		}
	}
	return refl
}

// shade photographs a reflectance map: lighting gradient, vignette, a
// soft shadow, paper texture, faint ruled lines (paper only), blur,
// sensor noise and JPEG compression.
func shade(refl []float64, w, h int, paper bool, rng *rand.Rand) ([]byte, error) {
	fw, fh := float64(w), float64(h)
	diag := math.Hypot(fw, fh)
	bright := 150 + 100*rng.Float64()
	grad := 0.55 + 0.4*rng.Float64()
	ga := rng.Float64() * 2 * math.Pi
	gx, gy := math.Cos(ga), math.Sin(ga)
	shadow := rng.Float64() < 0.3
	sa := rng.Float64() * 2 * math.Pi
	sx, sy := math.Cos(sa), math.Sin(sa)
	sOff := (rng.Float64()*0.6 - 0.3) * diag
	ruled := paper && rng.Float64() < 0.2
	ruleGap := fh * (0.1 + 0.1*rng.Float64())
	ruleOff := rng.Float64() * ruleGap
	blur := rng.IntN(3)
	noise := 2 + 6*rng.Float64()
	q := 40 + rng.IntN(51)
	img := image.NewGray(image.Rect(0, 0, w, h))
	lum := make([]float64, w*h)
	for y := 0; y < h; y++ {
		rl := 0.0
		if ruled {
			d := math.Mod(float64(y)-ruleOff, ruleGap)
			if d < 0 {
				d += ruleGap
			}
			if d < 1.2 {
				rl = 0.2
			}
		}
		for x := 0; x < w; x++ {
			t := (float64(x)*gx + float64(y)*gy) / diag
			light := bright * (1 - (1-grad)*(t*0.5+0.5))
			dx, dy := (float64(x)-fw/2)/fw, (float64(y)-fh/2)/fh
			light *= 1 - 0.35*(dx*dx+dy*dy)
			if shadow {
				d := float64(x)*sx + float64(y)*sy - sOff - (fw*sx+fh*sy)/2
				light *= 1 - 0.35*smoothstep(-diag*0.03, diag*0.03, d)
			}
			r := refl[y*w+x]
			if rl > 0 && r > 0.5 {
				r *= 1 - rl
			}
			lum[y*w+x] = light * r
		}
	}
	if blur > 0 {
		boxBlurF(lum, w, h, blur)
	}
	for i, v := range lum {
		img.Pix[i] = clamp8(v + noise*rng.NormFloat64())
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func boxBlurF(v []float64, w, h, r int) {
	tmp := make([]float64, len(v))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			n := 0
			for xx := max(0, x-r); xx <= min(w-1, x+r); xx++ {
				s += v[y*w+xx]
				n++
			}
			tmp[y*w+x] = s / float64(n)
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			n := 0
			for yy := max(0, y-r); yy <= min(h-1, y+r); yy++ {
				s += tmp[yy*w+x]
				n++
			}
			v[y*w+x] = s / float64(n)
		}
	}
}

// segments of each digit: a, b, c, d, e, f, g (top, upper right, lower
// right, bottom, lower left, upper left, middle).
var sevenSeg = [10]string{"abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg", "abcdfg"}

// renderSevenSeg draws a 3–6 digit seven-segment number; the segments
// are separate shapes with gaps between them.
func renderSevenSeg(w, h int, rng *rand.Rand) (Number, error) {
	n := 3 + rng.IntN(4)
	var num Number
	digits := make([]int, n)
	for i := range digits {
		digits[i] = rng.IntN(10)
		num.Text += strconv.Itoa(digits[i])
	}
	fw, fh := float64(w), float64(h)
	dh := fh * (0.2 + 0.3*rng.Float64()) // digit height
	dw := dh * (0.5 + 0.08*rng.Float64())
	th := dh * (0.07 + 0.04*rng.Float64()) // segment thickness
	gap := th * (0.3 + 0.3*rng.Float64())
	pitch := dw * (1.3 + 0.2*rng.Float64())
	if tot := pitch*float64(n-1) + dw; tot > 0.9*fw {
		s := 0.9 * fw / tot
		dh, dw, th, gap, pitch = dh*s, dw*s, th*s, gap*s, pitch*s
	}
	slant := rng.Float64() * 0.18
	tot := pitch*float64(n-1) + dw
	x0 := 0.05*fw + (0.9*fw-tot)*rng.Float64()
	y0 := 0.1*fh + (0.8*fh-dh)*rng.Float64()
	led := rng.Float64() < 0.5
	bg, fg := 0.7+0.2*rng.Float64(), 0.1+0.1*rng.Float64()
	if led {
		bg, fg = 0.05+0.05*rng.Float64(), 0.75+0.2*rng.Float64()
	}
	refl := make([]float64, w*h)
	for i := range refl {
		refl[i] = bg
	}
	num.Boxes = make([]image.Rectangle, n)
	type seg struct{ x0, y0, x1, y1 float64 } // in digit units (0..dw, 0..dh)
	hh := dh / 2
	segs := map[byte]seg{
		'a': {th / 2, 0, dw - th/2, th},
		'g': {th / 2, hh - th/2, dw - th/2, hh + th/2},
		'd': {th / 2, dh - th, dw - th/2, dh},
		'f': {0, th / 2, th, hh},
		'b': {dw - th, th / 2, dw, hh},
		'e': {0, hh, th, dh - th/2},
		'c': {dw - th, hh, dw, dh - th/2},
	}
	for i, dg := range digits {
		ox := x0 + pitch*float64(i)
		for _, c := range []byte(sevenSeg[dg]) {
			s := segs[c]
			// shrink along the segment's long axis by gap (separate shapes)
			if s.x1-s.x0 > s.y1-s.y0 {
				s.x0 += gap
				s.x1 -= gap
			} else {
				s.y0 += gap
				s.y1 -= gap
			}
			for y := int(y0 + s.y0); y <= int(y0+s.y1); y++ {
				for x := int(ox + s.x0 - slant*dh); x <= int(ox+s.x1+slant*dh)+1; x++ {
					if x < 0 || y < 0 || x >= w || y >= h {
						continue
					}
					// slanted: shift x by slant·(dh − local y)
					ly := float64(y) + 0.5 - y0
					lx := float64(x) + 0.5 - ox - slant*(dh-ly)
					if lx >= s.x0 && lx < s.x1 && ly >= s.y0 && ly < s.y1 {
						refl[y*w+x] = fg
						num.Boxes[i] = num.Boxes[i].Union(image.Rect(x, y, x+1, y+1))
					}
				}
			}
		}
	}
	b, err := shade(refl, w, h, false, rng)
	num.JPEG = b
	return num, err
}
