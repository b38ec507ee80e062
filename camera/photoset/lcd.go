package photoset

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// Seven-segment LCD digits: a digit style MNIST never shows. Segments are
// a (top), b (upper right), c (lower right), d (bottom), e (lower left),
// f (upper left), g (middle), as bits 0..6.
const (
	segA = 1 << iota
	segB
	segC
	segD
	segE
	segF
	segG
)

// lcdSegments are the lit segments per digit; some digits have a common
// variant (6 and 9 with or without their tail, 7 with the upper left
// segment, as on many meters and clocks).
var lcdSegments = [10][]int{
	{segA | segB | segC | segD | segE | segF},
	{segB | segC},
	{segA | segB | segG | segE | segD},
	{segA | segB | segG | segC | segD},
	{segF | segG | segB | segC},
	{segA | segF | segG | segC | segD},
	{segA | segF | segG | segE | segD | segC, segF | segG | segE | segD | segC},
	{segA | segB | segC, segF | segA | segB | segC},
	{segA | segB | segC | segD | segE | segF | segG},
	{segA | segB | segC | segD | segF | segG, segA | segB | segC | segF | segG},
}

// LCDParams are the conditions of one photographed seven-segment digit.
type LCDParams struct {
	Digit, Variant int
	DigitH         float64 // digit height in pixels
	Aspect         float64 // digit width / height
	Thick          float64 // segment thickness / digit height
	Gap            float64 // gap between segments / digit height
	Slant          float64 // italic slant (x shift per unit of height)
	Angle          float64 // rotation, radians
	Tilt           float64 // perspective strength
	Panel          float64 // panel brightness at the brightest point
	Gradient       float64 // brightness ratio darkest/brightest
	SegReflect     float64 // lit segment reflectance (0 black)
	Ghost          float64 // unlit segment reflectance (1: invisible)
	Glare          float64 // strength of a specular highlight (0: none)
	Tint           [3]float64
	Blur           int
	Noise          float64
	JPEGQuality    int
	Width, Height  int
}

// RandomLCD draws photo conditions for digit d in a w×h frame.
func RandomLCD(rng *rand.Rand, d, w, h int) LCDParams {
	m := float64(min(w, h))
	p := LCDParams{
		Digit:       d,
		Variant:     rng.IntN(len(lcdSegments[d])),
		DigitH:      m * (0.35 + 0.4*rng.Float64()),
		Aspect:      0.45 + 0.17*rng.Float64(),
		Thick:       0.09 + 0.07*rng.Float64(),
		Gap:         0.006 + 0.018*rng.Float64(),
		Slant:       0.2 * rng.Float64(),
		Angle:       (rng.Float64()*2 - 1) * 8 * math.Pi / 180,
		Tilt:        (rng.Float64()*2 - 1) * 0.25,
		Panel:       140 + 100*rng.Float64(),
		Gradient:    0.55 + 0.4*rng.Float64(),
		SegReflect:  0.08 + 0.3*rng.Float64(),
		Ghost:       0.92 + 0.08*rng.Float64(),
		Blur:        rng.IntN(3),
		Noise:       2 + 6*rng.Float64(),
		JPEGQuality: 40 + rng.IntN(51),
		Width:       w, Height: h,
	}
	if rng.Float64() < 0.3 {
		p.Glare = 0.1 + 0.25*rng.Float64()
	}
	// Grey-green or neutral grey panel.
	g := rng.Float64()
	p.Tint = [3]float64{0.85 + 0.1*g, 0.95 + 0.05*g, 0.8 + 0.15*(1-g)}
	return p
}

// segCoverage is the ink coverage (0..1) at digit coordinates (u, v),
// u rightwards in [0, aspect], v downwards in [0, 1], for the segments
// mask; ghost is the same for the unlit segments. px is the size of a
// frame pixel in digit units (anti-aliasing width).
func segCoverage(mask int, p *LCDParams, u, v, px float64) (lit, ghost float64) {
	W, t, gap := p.Aspect, p.Thick, p.Gap
	u += p.Slant * (v - 0.5) // undo the italic slant
	h := t / 2
	// Segment centre lines: horizontal (a, g, d) and vertical (f, b, e, c).
	type seg struct {
		bit            int
		horiz          bool
		cx, cy, length float64
	}
	segs := [7]seg{
		{segA, true, W / 2, h, W - t},
		{segG, true, W / 2, 0.5, W - t},
		{segD, true, W / 2, 1 - h, W - t},
		{segF, false, h, 0.25 + h/2, 0.5 - h},
		{segB, false, W - h, 0.25 + h/2, 0.5 - h},
		{segE, false, h, 0.75 - h/2, 0.5 - h},
		{segC, false, W - h, 0.75 - h/2, 0.5 - h},
	}
	for _, s := range segs {
		du, dv := u-s.cx, v-s.cy
		if !s.horiz {
			du, dv = dv, du
		}
		// Hexagonal segment with bevelled ends, shortened by the gap.
		half := s.length/2 - gap
		d := math.Abs(dv) + math.Max(0, math.Abs(du)-(half-h)) - h
		c := math.Max(0, math.Min(1, 0.5-d/px))
		if c == 0 {
			continue
		}
		if mask&s.bit != 0 {
			lit = math.Max(lit, c)
		} else {
			ghost = math.Max(ghost, c)
		}
	}
	return lit, ghost
}

// RenderLCD draws a seven-segment LCD digit with conditions p as a camera
// photo and returns the JPEG bytes.
func RenderLCD(p LCDParams, rng *rand.Rand) ([]byte, error) {
	if p.Digit < 0 || p.Digit > 9 || p.Variant < 0 || p.Variant >= len(lcdSegments[p.Digit]) {
		return nil, fmt.Errorf("photoset: no seven-segment digit %d variant %d", p.Digit, p.Variant)
	}
	if p.Width < 8 || p.Height < 8 || p.Width*p.Height > 1<<24 {
		return nil, fmt.Errorf("photoset: frame %dx%d out of range", p.Width, p.Height)
	}
	mask := lcdSegments[p.Digit][p.Variant]
	w, h := p.Width, p.Height
	dw := p.DigitH * p.Aspect
	margin := p.DigitH * 0.6
	cx := margin + (float64(w)-2*margin)*rng.Float64()
	cy := margin + (float64(h)-2*margin)*rng.Float64()
	if float64(w) < 2*margin {
		cx = float64(w) / 2
	}
	if float64(h) < 2*margin {
		cy = float64(h) / 2
	}
	sin, cos := math.Sin(-p.Angle), math.Cos(-p.Angle)
	ga := rng.Float64() * 2 * math.Pi
	gx, gy := math.Cos(ga), math.Sin(ga)
	diag := math.Hypot(float64(w), float64(h))
	glx, gly := rng.Float64()*float64(w), rng.Float64()*float64(h)
	glr := diag * (0.1 + 0.2*rng.Float64())
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	px := 1 / p.DigitH
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)+0.5-cx, float64(y)+0.5-cy
			k := 1 + p.Tilt*fy/math.Max(p.DigitH, 1)
			fx, fy = fx*k, fy*k
			rx, ry := fx*cos-fy*sin, fx*sin+fy*cos
			u, v := (rx+dw/2)/p.DigitH, (ry+p.DigitH/2)/p.DigitH
			lit, ghost := segCoverage(mask, &p, u, v, px*k)
			t := (float64(x)*gx + float64(y)*gy) / diag
			light := p.Panel * (1 - (1-p.Gradient)*(t*0.5+0.5))
			dx, dy := (float64(x)-float64(w)/2)/float64(w), (float64(y)-float64(h)/2)/float64(h)
			light *= 1 - 0.3*(dx*dx+dy*dy)
			refl := 1 - (1-p.Ghost)*ghost
			refl = refl*(1-lit) + p.SegReflect*lit
			glare := 0.0
			if p.Glare > 0 {
				r := math.Hypot(float64(x)-glx, float64(y)-gly) / glr
				glare = p.Glare * 255 * math.Exp(-r*r)
			}
			i := 4 * (y*w + x)
			for c := 0; c < 3; c++ {
				img.Pix[i+c] = clamp8(light*refl*p.Tint[c] + glare)
			}
			img.Pix[i+3] = 255
		}
	}
	if p.Blur > 0 {
		boxBlur(img, p.Blur)
	}
	if p.Noise > 0 {
		for i := 0; i < w*h; i++ {
			n := p.Noise * rng.NormFloat64()
			for c := 0; c < 3; c++ {
				img.Pix[4*i+c] = clamp8(float64(img.Pix[4*i+c]) + n + 0.5*p.Noise*rng.NormFloat64())
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: p.JPEGQuality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LCDSet writes n seven-segment LCD photos (w×h) as an image folder:
// dir/<digit>/lcd-<seed>-<i>.jpg, the digits in turn (n/10 each), every
// photo drawn from its own stream of seed, so a set is reproducible and
// two seeds give disjoint sets. Files are written atomically.
func LCDSet(dir string, n int, seed uint64, w, h int) error {
	if n < 1 || n > 1<<20 {
		return fmt.Errorf("photoset: %d photos out of range [1, %d]", n, 1<<20)
	}
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		d := i % 10
		b, err := RenderLCD(RandomLCD(rng, d, w, h), rng)
		if err != nil {
			return err
		}
		sub := filepath.Join(dir, fmt.Sprint(d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("photoset: %w", err)
		}
		if err := atomicfile.WriteFile(filepath.Join(sub, fmt.Sprintf("lcd-%d-%04d.jpg", seed, i)), b, 0o644); err != nil {
			return fmt.Errorf("photoset: %w", err)
		}
	}
	return nil
}
