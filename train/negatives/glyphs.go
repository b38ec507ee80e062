package negatives

import (
	"math"
	"math/rand/v2"
)

// stroke is a polyline in the unit box (x right, y down, 0..1).
type stroke [][2]float64

// glyph returns the strokes of one drawing (it may use r for variants).
type glyph func(r *rand.Rand) []stroke

func ln(x0, y0, x1, y1 float64) stroke { return stroke{{x0, y0}, {x1, y1}} }

func pl(pts ...float64) stroke {
	s := make(stroke, 0, len(pts)/2)
	for i := 0; i+1 < len(pts); i += 2 {
		s = append(s, [2]float64{pts[i], pts[i+1]})
	}
	return s
}

// arc is an elliptic arc from a0 to a1 degrees (0: right, 90: down).
func arc(cx, cy, rx, ry, a0, a1 float64) stroke {
	n := max(4, int(math.Abs(a1-a0)/12))
	s := make(stroke, 0, n+1)
	for i := 0; i <= n; i++ {
		a := (a0 + (a1-a0)*float64(i)/float64(n)) * math.Pi / 180
		s = append(s, [2]float64{cx + rx*math.Cos(a), cy + ry*math.Sin(a)})
	}
	return s
}

func fixed(s ...stroke) glyph { return func(*rand.Rand) []stroke { return s } }

// letters are letter-like glyphs that no digit resembles (no B: drawn
// with straight strokes, as a display or a camera squares it, it is an 8).
var letters = []glyph{
	fixed(ln(0, 1, 0.5, 0), ln(0.5, 0, 1, 1), ln(0.22, 0.6, 0.78, 0.6)),                                   // A
	fixed(arc(0.5, 0.5, 0.5, 0.5, 50, 310)),                                                               // C
	fixed(ln(0, 0, 0, 1), ln(0, 0, 0.9, 0), ln(0, 0.5, 0.7, 0.5), ln(0, 1, 0.9, 1)),                       // E
	fixed(ln(0, 0, 0, 1), ln(0, 0, 0.9, 0), ln(0, 0.48, 0.7, 0.48)),                                       // F
	fixed(ln(0, 0, 0, 1), ln(1, 0, 1, 1), ln(0, 0.5, 1, 0.5)),                                             // H
	fixed(ln(0, 0, 0, 1), ln(0.9, 0, 0, 0.55), ln(0.25, 0.4, 0.95, 1)),                                    // K
	fixed(ln(0, 1, 0, 0), ln(0, 0, 0.5, 0.6), ln(0.5, 0.6, 1, 0), ln(1, 0, 1, 1)),                         // M
	fixed(ln(0, 1, 0, 0), ln(0, 0, 1, 1), ln(1, 1, 1, 0)),                                                 // N
	fixed(ln(0, 1, 0, 0), arc(0, 0.27, 0.8, 0.27, -90, 90), ln(0.2, 0.54, 0.95, 1)),                       // R
	fixed(pl(0, 0, 0.25, 1, 0.5, 0.35, 0.75, 1, 1, 0)),                                                    // W
	fixed(ln(0, 0, 1, 1), ln(1, 0, 0, 1)),                                                                 // X
	fixed(ln(0, 0, 0.5, 0.5), ln(1, 0, 0.5, 0.5), ln(0.5, 0.5, 0.5, 1)),                                   // Y
	fixed(ln(0, 0, 0, 1), ln(0, 1, 0.8, 1), ln(0, 0, 0.8, 0)),                                             // ⊏ (square C)
	fixed(pl(0, 0, 0, 1, 1, 1, 1, 0)),                                                                     // U (squared)
	fixed(ln(0, 0, 0.5, 1), ln(0.5, 1, 1, 0)),                                                             // V
	fixed(arc(0.5, 0.5, 0.5, 0.5, 0, 360), ln(0.55, 0.6, 1, 1.05)),                                        // Q
	fixed(ln(0, 0, 0, 1), ln(0, 0.5, 1, 0.5), ln(1, 0, 1, 1), ln(0.3, 0, 0.7, 0)),                         // H variant
	fixed(pl(0, 0, 0.5, 1, 1, 0), ln(0.2, 0.45, 0.8, 0.45)),                                               // ∀
	fixed(pl(0, 1, 0, 0.3, 0.3, 0, 0.7, 0, 1, 0.3, 1, 1)),                                                 // ∩ (squared n)
	fixed(ln(0, 0.5, 1, 0.5), ln(0.5, 0, 0.5, 1), ln(0.15, 0.15, 0.85, 0.85), ln(0.85, 0.15, 0.15, 0.85)), // ✳
}

// symbols are punctuation and math signs.
var symbols = []glyph{
	fixed(ln(0, 0.5, 1, 0.5), ln(0.5, 0, 0.5, 1)),                                                   // +
	fixed(ln(0.3, 0, 0.2, 1), ln(0.75, 0, 0.65, 1), ln(0, 0.33, 1, 0.33), ln(0, 0.67, 1, 0.67)),     // #
	fixed(ln(0, 0.35, 1, 0.35), ln(0, 0.65, 1, 0.65)),                                               // =
	fixed(ln(0.9, 0, 0.1, 1), arc(0.2, 0.2, 0.15, 0.15, 0, 360), arc(0.8, 0.8, 0.15, 0.15, 0, 360)), // %
	fixed(ln(0, 0.5, 1, 0.5), ln(0.2, 0.1, 0.8, 0.9), ln(0.8, 0.1, 0.2, 0.9)),                       // *
	fixed(arc(0.5, 0.5, 0.22, 0.22, 0, 360), arc(0.5, 0.5, 0.5, 0.5, 0, 330)),                       // @
	fixed(ln(0, 0.5, 1, 0.5)), // −
	fixed(ln(0, 0.5, 1, 0.5), pl(0.5, 0.15, 0.5, 0.15), pl(0.5, 0.85, 0.5, 0.85)),     // ÷
	fixed(ln(0, 0, 1, 0.5), ln(1, 0.5, 0, 1)),                                         // >
	fixed(ln(1, 0, 0, 0.5), ln(0, 0.5, 1, 1)),                                         // <
	fixed(pl(0, 0.6, 0.25, 0.4, 0.5, 0.6, 0.75, 0.4, 1, 0.6)),                         // ~
	fixed(arc(0.5, 0.5, 0.3, 0.3, 0, 360), ln(0.5, 0, 0.5, 1), ln(0, 0.5, 1, 0.5)),    // ⊕
	fixed(pl(0.5, 0.5, 0.5, 0.5), pl(0.25, 0.5, 0.25, 0.5), pl(0.75, 0.5, 0.75, 0.5)), // …
	fixed(ln(0, 0, 1, 1), ln(1, 0, 0, 1), ln(0, 0.5, 1, 0.5)),                         // ⋇
	fixed(pl(0, 0.2, 1, 0.2), pl(0, 0.5, 1, 0.5), pl(0, 0.8, 1, 0.8)),                 // ≡
}

// shapes are boxes, smileys, arrows, stars and friends (no plain circle
// or oval: those are zeros).
var shapes = []glyph{
	fixed(pl(0, 0.15, 1, 0.15, 1, 0.85, 0, 0.85, 0, 0.15)),                  // box, square or wide (a tall one is a seven-segment 0)
	fixed(pl(0.5, 0, 1, 1, 0, 1, 0.5, 0)),                                   // triangle
	fixed(pl(0, 0, 1, 0, 1, 1, 0, 1, 0, 0), ln(0, 0, 1, 1), ln(1, 0, 0, 1)), // crossed box
	fixed(pl(0.5, 0, 1, 0.5, 0.5, 1, 0, 0.5, 0.5, 0)),                       // diamond
	fixed(arc(0.5, 0.5, 0.5, 0.5, 0, 360), pl(0.33, 0.35, 0.33, 0.35), pl(0.67, 0.35, 0.67, 0.35), arc(0.5, 0.55, 0.25, 0.2, 20, 160)),   // smiley
	fixed(arc(0.5, 0.5, 0.5, 0.5, 0, 360), pl(0.33, 0.35, 0.33, 0.35), pl(0.67, 0.35, 0.67, 0.35), arc(0.5, 0.85, 0.25, 0.15, 200, 340)), // sad face
	fixed(ln(0, 0.5, 1, 0.5), ln(1, 0.5, 0.7, 0.25), ln(1, 0.5, 0.7, 0.75)),                                                              // arrow →
	fixed(ln(0, 0.5, 1, 0.5), ln(0, 0.5, 0.3, 0.25), ln(0, 0.5, 0.3, 0.75)),                                                              // arrow ←
	fixed(ln(0, 1, 1, 0), ln(1, 0, 0.6, 0.05), ln(1, 0, 0.95, 0.4)),                                                                      // arrow ↗
	fixed(ln(0, 0, 1, 1), ln(1, 1, 0.6, 0.95), ln(1, 1, 0.95, 0.6)),                                                                      // arrow ↘
	fixed(pl(0.5, 0, 0.62, 0.38, 1, 0.38, 0.69, 0.6, 0.81, 1, 0.5, 0.75, 0.19, 1, 0.31, 0.6, 0, 0.38, 0.38, 0.38, 0.5, 0)),               // star outline
	fixed(pl(0.5, 0, 0.8, 1, 0, 0.35, 1, 0.35, 0.2, 1, 0.5, 0)),                                                                          // pentagram
	fixed(arc(0.5, 0.5, 0.5, 0.5, 0, 360), arc(0.5, 0.5, 0.2, 0.2, 0, 360)),                                                              // target (two rings)
	fixed(arc(0.5, 0.5, 0.5, 0.5, 0, 360), ln(0.15, 0.15, 0.85, 0.85), ln(0.85, 0.15, 0.15, 0.85)),                                       // crossed circle
	fixed(arc(0.3, 0.3, 0.25, 0.25, 150, 360), arc(0.7, 0.3, 0.25, 0.25, 180, 390), ln(0.05, 0.42, 0.5, 1), ln(0.95, 0.42, 0.5, 1)),      // heart
	fixed(pl(0, 0.55, 0.35, 0.9, 1, 0)),                                                                                                  // check mark
	fixed(pl(0, 0.3, 1, 0.3, 1, 1, 0, 1, 0, 0.3), pl(0, 0.3, 0.5, 0, 1, 0.3)),                                                            // house
	disc,
	spiral,
	fixed(pl(0, 0.15, 1, 0.15, 1, 0.85, 0, 0.85, 0, 0.15), pl(0.3, 0.35, 0.7, 0.35, 0.7, 0.65, 0.3, 0.65, 0.3, 0.35)), // nested boxes (square or wide)
	fixed(arc(0.5, 0.5, 0.5, 0.5, 0, 360), pl(0.5, 0.5, 0.5, 0.5)),                                                    // circle with a dot
}

// disc is a filled blob (an ink stain).
func disc(r *rand.Rand) []stroke {
	var s []stroke
	for k := 0.05; k <= 0.5; k += 0.08 {
		s = append(s, arc(0.5, 0.5, k, k*(0.7+0.6*r.Float64()), 0, 360))
	}
	return s
}

// spiral winds 1.5 to 2.5 turns.
func spiral(r *rand.Rand) []stroke {
	turns := 1.5 + r.Float64()
	var s stroke
	n := int(turns * 30)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		a := t * turns * 2 * math.Pi
		s = append(s, [2]float64{0.5 + 0.5*t*math.Cos(a), 0.5 + 0.5*t*math.Sin(a)})
	}
	return []stroke{s}
}

// glyph draws g with a random affine transform, per-point jitter and
// optional extra fragments.
func (c *drawing) glyph(r *rand.Rand, g glyph) {
	strokes := g(r)
	size := 30 + 14*r.Float64()
	sx := size * (0.65 + 0.5*r.Float64())
	sy := size
	rot := (r.Float64()*2 - 1) * 15 * math.Pi / 180
	shear := (r.Float64()*2 - 1) * 0.25
	cs, sn := math.Cos(rot), math.Sin(rot)
	jit := 0.04
	for _, s := range strokes {
		pts := make([][2]float64, 0, len(s))
		for _, p := range s {
			u := p[0] - 0.5 + jit*(r.Float64()*2-1)
			v := p[1] - 0.5 + jit*(r.Float64()*2-1)
			u += shear * v
			x, y := u*sx, v*sy
			pts = append(pts, [2]float64{canvas/2 + cs*x - sn*y, canvas/2 + sn*x + cs*y})
		}
		c.polyline(pts)
	}
}

// scribble draws a random scribble, zigzag, hatching, cursive loops or a
// set of random strokes (never a single straight stroke: that is a 1).
func (c *drawing) scribble(r *rand.Rand) {
	rnd := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	switch r.IntN(5) {
	case 0: // random smooth scribble
		n := 6 + r.IntN(10)
		x, y := rnd(16, 48), rnd(16, 48)
		a := rnd(0, 2*math.Pi)
		pts := [][2]float64{{x, y}}
		for i := 0; i < n; i++ {
			a += rnd(-2.2, 2.2)
			step := rnd(5, 12)
			for k := 0; k < 3; k++ {
				x = math.Max(8, math.Min(56, x+step/3*math.Cos(a)))
				y = math.Max(8, math.Min(56, y+step/3*math.Sin(a)))
				pts = append(pts, [2]float64{x, y})
				a += rnd(-0.3, 0.3)
			}
		}
		c.polyline(pts)
	case 1: // zigzag
		n := 4 + r.IntN(5)
		vert := r.IntN(2) == 0
		var pts [][2]float64
		for i := 0; i <= n; i++ {
			u := 12 + 40*float64(i)/float64(n)
			v := 22.0
			if i%2 == 1 {
				v = 42
			}
			v += rnd(-3, 3)
			if vert {
				u, v = v, u
			}
			pts = append(pts, [2]float64{u, v})
		}
		c.polyline(pts)
	case 2: // hatching
		n := 3 + r.IntN(4)
		a := rnd(0, math.Pi)
		dx, dy := math.Cos(a), math.Sin(a)
		for i := 0; i < n; i++ {
			o := (float64(i) - float64(n-1)/2) * rnd(5, 8)
			cx, cy := 32-dy*o, 32+dx*o
			l := rnd(12, 20)
			c.segment(cx-dx*l, cy-dy*l, cx+dx*l, cy+dy*l, c.width)
		}
	case 3: // cursive loops (eee / lll)
		n := 3 + r.IntN(3)
		var pts [][2]float64
		h := rnd(6, 14)
		for i := 0; i <= n*16; i++ {
			t := float64(i) / 16 * 2 * math.Pi
			x := 8 + 48*float64(i)/float64(n*16) + 5*math.Cos(t+math.Pi/2)
			y := 32 - h*0.5*(1-math.Cos(t)) + h/2
			pts = append(pts, [2]float64{x, y})
		}
		c.polyline(pts)
	default: // 3 to 5 random short strokes, not all connected
		n := 3 + r.IntN(3)
		for i := 0; i < n; i++ {
			x, y := rnd(12, 52), rnd(12, 52)
			a, l := rnd(0, 2*math.Pi), rnd(6, 20)
			c.segment(x, y, x+l*math.Cos(a), y+l*math.Sin(a), c.width)
		}
	}
}

// paperBlob draws what a camera sees of paper where no digit is: a long
// ruled line, a shadow's edge or a stain (then scaled as a located blob).
func (c *drawing) paperBlob(r *rand.Rand) {
	switch r.IntN(3) {
	case 0: // a line found on the page, slightly tilted
		y := 32 + (r.Float64()*2-1)*3
		c.segment(2, y, 62, y+(r.Float64()*2-1)*4, 0.8+1.5*r.Float64())
	case 1: // a soft shadow edge
		a := r.Float64() * 2 * math.Pi
		dx, dy := math.Cos(a), math.Sin(a)
		soft := 4 + 10*r.Float64()
		lvl := float32(0.3 + 0.5*r.Float64())
		for y := 0; y < canvas; y++ {
			for x := 0; x < canvas; x++ {
				d := (float64(x)-32)*dx + (float64(y)-32)*dy
				c.px[y*canvas+x] = lvl * float32(1/(1+math.Exp(-d/soft)))
			}
		}
	default: // a stain
		rx, ry := 6+12*r.Float64(), 6+12*r.Float64()
		for y := 0; y < canvas; y++ {
			for x := 0; x < canvas; x++ {
				u, v := (float64(x)-32)/rx, (float64(y)-32)/ry
				c.px[y*canvas+x] = float32(math.Max(0, math.Min(1, 1.5*(1-u*u-v*v))))
			}
		}
	}
}

// paper fills dst with blank paper, ruled or grid paper, or a shadow, as
// a whole frame (not scaled as a blob). It returns false to let the
// caller draw a located paper blob instead.
func paper(r *rand.Rand, dst []uint8) bool {
	kind := r.IntN(5)
	if kind == 4 {
		return false
	}
	img := make([]float64, Size*Size)
	noise := 0.02 + 0.06*r.Float64()
	switch kind {
	case 1, 2: // ruled (1) or grid (2) paper
		pitch := 5 + 4*r.Float64()
		off := r.Float64() * pitch
		lvl := 0.25 + 0.6*r.Float64()
		tilt := (r.Float64()*2 - 1) * 0.08
		for y := 0; y < Size; y++ {
			for x := 0; x < Size; x++ {
				yy := float64(y) + tilt*float64(x) - off
				d := math.Abs(yy - pitch*math.Round(yy/pitch))
				v := lvl * math.Max(0, 1-d)
				if kind == 2 {
					xx := float64(x) - off
					d2 := math.Abs(xx - pitch*math.Round(xx/pitch))
					v = math.Max(v, lvl*math.Max(0, 1-d2))
				}
				img[y*Size+x] = v
			}
		}
	case 3: // shadow across the frame
		a := r.Float64() * 2 * math.Pi
		dx, dy := math.Cos(a), math.Sin(a)
		soft := 2 + 6*r.Float64()
		lvl := 0.2 + 0.6*r.Float64()
		o := (r.Float64()*2 - 1) * 8
		for y := 0; y < Size; y++ {
			for x := 0; x < Size; x++ {
				d := (float64(x)-14)*dx + (float64(y)-14)*dy - o
				img[y*Size+x] = lvl / (1 + math.Exp(-d/soft))
			}
		}
	}
	for i := range img {
		v := img[i] + noise*r.NormFloat64()
		dst[i] = uint8(math.Max(0, math.Min(255, v*255+0.5)))
	}
	return true
}
