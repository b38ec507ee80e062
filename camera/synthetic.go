package camera

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"
)

// glyphs are handwriting-like stroke skeletons of the digits 0-9 in a unit
// box (x right, y down); each digit is one or more polylines.
var glyphs = [10][][]point{
	{ellipse(0.5, 0.5, 0.36, 0.48, 20, 0)},
	{{{0.3, 0.22}, {0.55, 0.02}, {0.55, 0.98}}},
	{{{0.15, 0.25}, {0.25, 0.08}, {0.5, 0.02}, {0.75, 0.08}, {0.85, 0.25}, {0.8, 0.42}, {0.15, 0.98}, {0.88, 0.98}}},
	{{{0.15, 0.1}, {0.45, 0.02}, {0.8, 0.12}, {0.8, 0.35}, {0.45, 0.48}, {0.85, 0.6}, {0.85, 0.85}, {0.5, 0.98}, {0.12, 0.9}}},
	{{{0.68, 0.98}, {0.68, 0.02}, {0.1, 0.68}, {0.92, 0.68}}},
	{{{0.85, 0.02}, {0.25, 0.02}, {0.2, 0.45}, {0.55, 0.38}, {0.82, 0.52}, {0.85, 0.78}, {0.6, 0.97}, {0.15, 0.9}}},
	{{{0.75, 0.03}, {0.4, 0.2}, {0.18, 0.55}, {0.2, 0.85}, {0.45, 0.98}, {0.75, 0.88}, {0.8, 0.65}, {0.55, 0.5}, {0.3, 0.55}, {0.2, 0.7}}},
	{{{0.1, 0.03}, {0.9, 0.03}, {0.45, 0.98}}},
	{ellipse(0.5, 0.26, 0.27, 0.24, 16, 0), ellipse(0.5, 0.73, 0.33, 0.26, 16, 0)},
	{ellipse(0.5, 0.3, 0.32, 0.28, 16, 0), {{0.82, 0.3}, {0.75, 0.98}}},
}

type point struct{ x, y float64 }

func ellipse(cx, cy, rx, ry float64, n int, phase float64) []point {
	var p []point
	for i := 0; i <= n; i++ {
		a := phase + 2*math.Pi*float64(i)/float64(n)
		p = append(p, point{cx + rx*math.Sin(a), cy - ry*math.Cos(a)})
	}
	return p
}

// Ink is a float coverage map in [0, 1] (1 = full ink), row-major W×H.
type Ink struct {
	W, H int
	Pix  []float32
}

// NewInk allocates a zero ink map.
func NewInk(w, h int) *Ink { return &Ink{W: w, H: h, Pix: make([]float32, w*h)} }

// DrawDigit draws digit d (0-9) as anti-aliased strokes of the given
// width into ink, inside the box with top-left (x, y), height h and a
// width of 0.62·h, rotated by angle (radians) about the box centre and
// slanted by shear, with each skeleton point displaced by up to jitter
// (fraction of h) using rng.
func DrawDigit(ink *Ink, d int, x, y, h, stroke, angle, shear, jitter float64, rng *rand.Rand) {
	w := 0.62 * h
	cx, cy := x+w/2, y+h/2
	sin, cos := math.Sin(angle), math.Cos(angle)
	for _, line := range glyphs[d%10] {
		pts := make([]point, len(line))
		for i, p := range line {
			px, py := (p.x-0.5)*w, (p.y-0.5)*h
			if jitter > 0 && rng != nil {
				px += (rng.Float64()*2 - 1) * jitter * h
				py += (rng.Float64()*2 - 1) * jitter * h
			}
			px -= shear * py
			pts[i] = point{cx + px*cos - py*sin, cy + px*sin + py*cos}
		}
		if len(line) > 2 && line[0] == line[len(line)-1] {
			pts[len(pts)-1] = pts[0] // keep loops closed under jitter
		}
		for i := 1; i < len(pts); i++ {
			ink.segment(pts[i-1], pts[i], stroke)
		}
	}
}

// segment draws a capsule of the given width with a one-pixel soft edge.
func (k *Ink) segment(a, b point, width float64) {
	r := width / 2
	x0 := int(math.Floor(math.Min(a.x, b.x) - r - 1))
	x1 := int(math.Ceil(math.Max(a.x, b.x) + r + 1))
	y0 := int(math.Floor(math.Min(a.y, b.y) - r - 1))
	y1 := int(math.Ceil(math.Max(a.y, b.y) + r + 1))
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, k.W-1), min(y1, k.H-1)
	dx, dy := b.x-a.x, b.y-a.y
	l2 := dx*dx + dy*dy
	for py := y0; py <= y1; py++ {
		for px := x0; px <= x1; px++ {
			fx, fy := float64(px)+0.5-a.x, float64(py)+0.5-a.y
			t := 0.0
			if l2 > 0 {
				t = math.Max(0, math.Min(1, (fx*dx+fy*dy)/l2))
			}
			ex, ey := fx-t*dx, fy-t*dy
			c := float32(r + 0.5 - math.Sqrt(ex*ex+ey*ey))
			if c <= 0 {
				continue
			}
			c = min(c, 1)
			i := py*k.W + px
			if c > k.Pix[i] {
				k.Pix[i] = c
			}
		}
	}
}

// Paper renders ink as dark strokes on paper-like gray background: a
// linear lighting gradient from light0 to light1 across the given angle,
// ink reflectance inkLevel (0 black … 1 invisible) and Gaussian-ish
// sensor noise of the given amplitude (in gray levels).
func Paper(ink *Ink, light0, light1, gradAngle, inkLevel, noise float64, rng *rand.Rand) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, ink.W, ink.H))
	gx, gy := math.Cos(gradAngle), math.Sin(gradAngle)
	diag := math.Abs(gx)*float64(ink.W) + math.Abs(gy)*float64(ink.H)
	ox := 0.0
	if gx < 0 {
		ox = -gx * float64(ink.W)
	}
	oy := 0.0
	if gy < 0 {
		oy = -gy * float64(ink.H)
	}
	for y := 0; y < ink.H; y++ {
		for x := 0; x < ink.W; x++ {
			t := (float64(x)*gx + float64(y)*gy + ox + oy) / math.Max(diag, 1)
			light := light0 + (light1-light0)*t
			refl := 1 - float64(ink.Pix[y*ink.W+x])*(1-inkLevel)
			v := light * refl
			if noise > 0 && rng != nil {
				v += noise * (rng.Float64() + rng.Float64() + rng.Float64() - 1.5)
			}
			img.Pix[y*img.Stride+x] = uint8(math.Max(0, math.Min(255, math.Round(v))))
		}
	}
	return img
}

type synthetic struct {
	opt    Options
	rng    *rand.Rand
	seq    uint64
	last   time.Time
	closed atomic.Bool
}

// NewSynthetic returns an endless source of opt.Width×opt.Height
// *image.Gray frames, each showing one random handwriting-like digit in
// dark ink on unevenly lit paper with noise. Frame.Truth holds the digit.
// With opt.Rate it paces itself to opt.FPS.
func NewSynthetic(opt Options) Source {
	opt = opt.withDefaults()
	return &synthetic{opt: opt, rng: rand.New(rand.NewPCG(uint64(opt.Seed), 0x5eed))}
}

func (s *synthetic) String() string {
	return fmt.Sprintf("synthetic %dx%d seed %d", s.opt.Width, s.opt.Height, s.opt.Seed)
}

func (s *synthetic) Close() error { s.closed.Store(true); return nil }

func (s *synthetic) Next(ctx context.Context) (Frame, error) {
	if s.closed.Load() {
		return Frame{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if err := pace(ctx, &s.last, s.opt); err != nil {
		return Frame{}, err
	}
	img, d := SyntheticFrame(s.opt.Width, s.opt.Height, s.rng)
	s.seq++
	return Frame{Image: img, Seq: s.seq, Time: time.Now(), Truth: strconv.Itoa(d)}, nil
}

// SyntheticFrame renders one w×h frame with a random digit and returns it
// with the digit.
func SyntheticFrame(w, h int, rng *rand.Rand) (*image.Gray, int) {
	d := rng.IntN(10)
	ink := NewInk(w, h)
	m := float64(min(w, h))
	gh := m * (0.35 + 0.4*rng.Float64())
	gw := 0.62 * gh
	x := (float64(w) - gw) * (0.2 + 0.6*rng.Float64())
	y := (float64(h) - gh) * (0.2 + 0.6*rng.Float64())
	stroke := math.Max(1, gh*(0.08+0.05*rng.Float64()))
	DrawDigit(ink, d, x, y, gh, stroke, (rng.Float64()-0.5)*0.3, (rng.Float64()-0.3)*0.3, 0.02, rng)
	l0 := 150 + 90*rng.Float64()
	l1 := l0 * (0.6 + 0.4*rng.Float64())
	return Paper(ink, l0, l1, rng.Float64()*2*math.Pi, 0.1+0.2*rng.Float64(), 6, rng), d
}
