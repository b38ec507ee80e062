// Package negatives draws "not a digit" training images: letter-like
// glyphs composed from strokes, symbols, shapes (boxes, smileys, arrows,
// stars, targets), scribbles and random strokes, blank and ruled paper
// with shadows, fragments of MNIST digits and pairs of MNIST digits side
// by side.
// Nothing comes from font files or outside image sets: every image is
// drawn by this code, deterministically from a seed and an index.
//
// Images are 28×28 gray bytes in MNIST style: white ink on black, the
// drawing scaled so that its bounding box fits 20×20 and placed so that
// its centre of mass is the image centre (as MNIST's digits are, and as
// camera/preprocess prepares a located blob).
package negatives

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Size is the side of a generated image (MNIST: 28).
const Size = 28

// canvas is the side of the drawing canvas before MNIST-style scaling.
const canvas = 64

// Kind is the family a negative image was drawn from.
type Kind int

// Kinds of negatives.
const (
	Letter   Kind = iota // letter-like glyph from strokes (A, E, H, K, M, N, R, W, X, ...)
	Symbol               // +, #, =, %, *, @, ...
	Shape                // boxes, triangles, smileys, arrows, stars, targets, discs
	Scribble             // scribbles, zigzags, hatching, loops, random strokes
	Paper                // blank or ruled paper, grid, shadows, a line or blob found on paper
	Fragment             // a part of an MNIST digit
	Touching             // two MNIST digits side by side, their ink boxes 1–4 px apart
	numKinds
)

var kindNames = [...]string{"letter", "symbol", "shape", "scribble", "paper", "fragment", "touching"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Kinds lists every kind.
func Kinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// weights of each kind, in percent (Fragment and Touching need digits).
var weights = [numKinds]int{Letter: 27, Symbol: 11, Shape: 17, Scribble: 14, Paper: 10, Fragment: 6, Touching: 15}

// Generator draws negatives. It is safe for concurrent use.
type Generator struct {
	digits []uint8 // 28×28 MNIST images for fragments and touching digits
	labels []uint8
	n      int
}

// New returns a generator. digits (n images of 28×28 bytes) and labels
// feed the Fragment and Touching kinds; with no digits those kinds are
// replaced by the others.
func New(digits, labels []uint8) (*Generator, error) {
	n := len(labels)
	if len(digits) != n*Size*Size {
		return nil, fmt.Errorf("negatives: %d pixel bytes for %d labelled images of %dx%d", len(digits), n, Size, Size)
	}
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("negatives: label %d of image %d is not a digit", l, i)
		}
	}
	return &Generator{digits: digits, labels: labels, n: n}, nil
}

// Render draws negative number i of the stream seed into dst (Size×Size
// bytes) and returns its kind. The same (seed, i) always gives the same
// image.
func (g *Generator) Render(seed, i uint64, dst []uint8) Kind {
	r := rand.New(rand.NewPCG(seed^0x9e3779b97f4a7c15, i*0xbf58476d1ce4e5b9+1))
	total := 0
	for k, w := range weights {
		if g.n > 0 || (Kind(k) != Fragment && Kind(k) != Touching) {
			total += w
		}
	}
	pick := r.IntN(total)
	kind := Letter
	for k, w := range weights {
		if g.n == 0 && (Kind(k) == Fragment || Kind(k) == Touching) {
			continue
		}
		if pick < w {
			kind = Kind(k)
			break
		}
		pick -= w
	}
	g.RenderKind(kind, r, dst)
	return kind
}

// RenderKind draws one negative of the given kind with r into dst.
func (g *Generator) RenderKind(kind Kind, r *rand.Rand, dst []uint8) {
	if len(dst) < Size*Size {
		panic("negatives: destination smaller than 28x28")
	}
	c := newCanvas(r)
	switch kind {
	case Letter:
		c.glyph(r, letters[r.IntN(len(letters))])
	case Symbol:
		c.glyph(r, symbols[r.IntN(len(symbols))])
	case Shape:
		c.glyph(r, shapes[r.IntN(len(shapes))])
	case Scribble:
		c.scribble(r)
	case Paper:
		if paper(r, dst) {
			return
		}
		c.paperBlob(r)
	case Fragment:
		if !g.fragment(r, c) {
			c.scribble(r)
		}
	case Touching:
		g.touching(r, c)
	default:
		c.scribble(r)
	}
	c.mnistStyle(dst)
	finish(r, dst)
}

// canvas is a float drawing surface (ink 0..1) of side canvas.
type drawing struct {
	px    [canvas * canvas]float32
	width float64 // stroke radius
}

func newCanvas(r *rand.Rand) *drawing {
	return &drawing{width: 1.6 + 2.4*r.Float64()}
}

// segment draws a thick anti-aliased line.
func (c *drawing) segment(x0, y0, x1, y1, rad float64) {
	minX := int(math.Floor(math.Min(x0, x1) - rad - 1))
	maxX := int(math.Ceil(math.Max(x0, x1) + rad + 1))
	minY := int(math.Floor(math.Min(y0, y1) - rad - 1))
	maxY := int(math.Ceil(math.Max(y0, y1) + rad + 1))
	minX, minY = max(minX, 0), max(minY, 0)
	maxX, maxY = min(maxX, canvas-1), min(maxY, canvas-1)
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for y := minY; y <= maxY; y++ {
		for x := minX; x <= maxX; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := 0.0
			if l2 > 0 {
				t = math.Max(0, math.Min(1, ((px-x0)*dx+(py-y0)*dy)/l2))
			}
			ex, ey := px-(x0+t*dx), py-(y0+t*dy)
			d := math.Sqrt(ex*ex + ey*ey)
			v := float32(math.Max(0, math.Min(1, rad+0.5-d)))
			if v > c.px[y*canvas+x] {
				c.px[y*canvas+x] = v
			}
		}
	}
}

// polyline draws connected segments with the canvas stroke width.
func (c *drawing) polyline(pts [][2]float64) {
	for i := 1; i < len(pts); i++ {
		c.segment(pts[i-1][0], pts[i-1][1], pts[i][0], pts[i][1], c.width)
	}
	if len(pts) == 1 {
		c.segment(pts[0][0], pts[0][1], pts[0][0], pts[0][1], c.width*1.2)
	}
}

// mnistStyle scales the drawing's bounding box to fit 20×20, centres its
// centre of mass and writes 28×28 bytes (area sampling, 4×4 per pixel).
func (c *drawing) mnistStyle(dst []uint8) {
	x0, y0, x1, y1 := canvas, canvas, -1, -1
	var mass, mx, my float64
	for y := 0; y < canvas; y++ {
		for x := 0; x < canvas; x++ {
			v := c.px[y*canvas+x]
			if v <= 0.05 {
				continue
			}
			x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			mass += float64(v)
			mx += float64(v) * (float64(x) + 0.5)
			my += float64(v) * (float64(y) + 0.5)
		}
	}
	clear(dst[:Size*Size])
	if x1 < 0 {
		return
	}
	s := 20 / float64(max(x1-x0+1, y1-y0+1))
	cx, cy := mx/mass, my/mass
	const sub = 4
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			var acc float32
			for j := 0; j < sub; j++ {
				for i := 0; i < sub; i++ {
					ox := float64(x) + (float64(i)+0.5)/sub
					oy := float64(y) + (float64(j)+0.5)/sub
					acc += c.at(cx+(ox-Size/2)/s, cy+(oy-Size/2)/s)
				}
			}
			dst[y*Size+x] = uint8(math.Min(255, float64(acc)/(sub*sub)*255+0.5))
		}
	}
}

// at samples the canvas bilinearly at (x, y) in pixel coordinates (pixel
// centres at +0.5); zero outside.
func (c *drawing) at(x, y float64) float32 {
	x, y = x-0.5, y-0.5
	ix, iy := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := float32(x-float64(ix)), float32(y-float64(iy))
	p := func(yy, xx int) float32 {
		if xx < 0 || yy < 0 || xx >= canvas || yy >= canvas {
			return 0
		}
		return c.px[yy*canvas+xx]
	}
	return (1-fy)*((1-fx)*p(iy, ix)+fx*p(iy, ix+1)) + fy*((1-fx)*p(iy+1, ix)+fx*p(iy+1, ix+1))
}

// finish applies a random ink contrast (MNIST ink is mostly saturated).
func finish(r *rand.Rand, dst []uint8) {
	gain := 1 + 0.4*r.Float64()
	for i, v := range dst[:Size*Size] {
		dst[i] = uint8(math.Min(255, float64(v)*gain))
	}
}

// fragment draws a part of an MNIST digit (not of a 1, and not a
// stick-shaped part that would read as a 1).
func (g *Generator) fragment(r *rand.Rand, c *drawing) bool {
	for try := 0; try < 8; try++ {
		k := r.IntN(g.n)
		if g.labels[k] == 1 {
			continue
		}
		img := g.digits[k*Size*Size : (k+1)*Size*Size]
		x0, y0, x1, y1, ok := inkBox(img)
		if !ok {
			continue
		}
		w, h := x1-x0+1, y1-y0+1
		// keep a window: a half, a corner or a band
		var cx0, cy0, cx1, cy1 int
		switch r.IntN(5) {
		case 0: // top part
			cx0, cx1, cy0, cy1 = x0, x1, y0, y0+h*(35+r.IntN(20))/100
		case 1: // bottom part
			cx0, cx1, cy0, cy1 = x0, x1, y1-h*(35+r.IntN(20))/100, y1
		case 2: // left part
			cx0, cx1, cy0, cy1 = x0, x0+w*(35+r.IntN(20))/100, y0, y1
		case 3: // right part
			cx0, cx1, cy0, cy1 = x1-w*(35+r.IntN(20))/100, x1, y0, y1
		default: // a corner
			cw, ch := w*(45+r.IntN(20))/100, h*(45+r.IntN(20))/100
			cx0, cy0 = x0+r.IntN(max(1, w-cw)), y0+r.IntN(max(1, h-ch))
			cx1, cy1 = cx0+cw, cy0+ch
		}
		var ink float64
		fx0, fy0, fx1, fy1 := Size, Size, -1, -1
		for y := cy0; y <= cy1; y++ {
			for x := cx0; x <= cx1; x++ {
				if v := img[y*Size+x]; v > 40 {
					ink += float64(v) / 255
					fx0, fy0, fx1, fy1 = min(fx0, x), min(fy0, y), max(fx1, x), max(fy1, y)
				}
			}
		}
		if ink < 12 || fx1 < 0 {
			continue
		}
		if elongated(img, cx0, cy0, cx1, cy1) { // stick-shaped: would read as a 1
			continue
		}
		clear(c.px[:])
		for y := cy0; y <= cy1; y++ {
			for x := cx0; x <= cx1; x++ {
				for j := 0; j < 2; j++ {
					for i := 0; i < 2; i++ {
						c.px[(2*y+j)*canvas+2*x+i] = float32(img[y*Size+x]) / 255
					}
				}
			}
		}
		return true
	}
	return false
}

// touching draws two MNIST digits side by side, their ink boxes 1–4 px
// apart (so despite the kind's name the inks rarely touch; kept as it is
// so that the committed models stay reproducible, docs/training.md).
func (g *Generator) touching(r *rand.Rand, c *drawing) {
	a, b := r.IntN(g.n), r.IntN(g.n)
	ia, ib := g.digits[a*Size*Size:(a+1)*Size*Size], g.digits[b*Size*Size:(b+1)*Size*Size]
	ax0, _, ax1, _, _ := inkBox(ia)
	bx0, _, _, _, _ := inkBox(ib)
	gap := -r.IntN(4)               // overlap of 0..3 px
	offB := ax1 - bx0 + 1 + gap + 4 // b's x offset so its ink starts right after a's
	dy := r.IntN(7) - 3             // vertical jitter
	base := (canvas - (ax1 - ax0 + 30)) / 2
	base = max(0, base-ax0)
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			put := func(yy, xx int, v uint8) {
				if yy < 0 || xx < 0 || yy >= canvas || xx >= canvas {
					return
				}
				if f := float32(v) / 255; f > c.px[yy*canvas+xx] {
					c.px[yy*canvas+xx] = f
				}
			}
			put(y+18, base+x, ia[y*Size+x])
			put(y+18+dy, base+offB+x, ib[y*Size+x])
		}
	}
}

func inkBox(img []uint8) (x0, y0, x1, y1 int, ok bool) {
	x0, y0, x1, y1 = Size, Size, -1, -1
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			if img[y*Size+x] > 40 {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	if x1 < 0 {
		return 0, 0, Size - 1, Size - 1, false
	}
	return x0, y0, x1, y1, true
}

// elongated reports whether the ink in the window is a stick (ratio of
// the principal second moments above 8): such a fragment reads as a 1.
func elongated(img []uint8, x0, y0, x1, y1 int) bool {
	var m, mx, my, mxx, myy, mxy float64
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			v := float64(img[y*Size+x]) / 255
			m += v
			mx += v * float64(x)
			my += v * float64(y)
			mxx += v * float64(x*x)
			myy += v * float64(y*y)
			mxy += v * float64(x*y)
		}
	}
	if m == 0 {
		return true
	}
	cx, cy := mx/m, my/m
	a, b, c := mxx/m-cx*cx, mxy/m-cx*cy, myy/m-cy*cy
	tr, det := a+c, a*c-b*b
	d := math.Sqrt(math.Max(0, tr*tr/4-det))
	l1, l2 := tr/2+d, tr/2-d
	return l2 <= 0 || l1/l2 > 8
}
