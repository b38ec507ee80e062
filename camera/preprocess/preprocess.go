// Package preprocess turns a camera frame into the model's input: it makes
// a photographed digit (dark ink on unevenly lit paper, anywhere in the
// frame) look like an MNIST digit (white strokes on black, longer side 20
// pixels, centred by centre of mass in 28×28, normalized as in training).
//
// The pipeline, all on reusable buffers (no allocation per frame once the
// buffers have grown to the frame size):
//
//  1. luma: the Y plane of *image.YCbCr and the pixels of *image.Gray are
//     read in place; other image types are converted;
//  2. area-average downscale to a working image whose longer side is at
//     most Config.WorkSize (160) pixels;
//  3. polarity: the ink is dark unless most of the frame is dark and light
//     strokes stand out at least as much as dark ones, against the paper
//     filters of step 4 and at a stroke's width (background, thinStrokes);
//     light-ink images are inverted so ink is always dark from here on;
//  4. illumination normalization: the paper brightness is estimated at
//     half resolution by a morphological closing (an opening for light
//     ink; a wider one under strokes thicker than its window, see
//     thickStrokes), smoothed and interpolated bilinearly, and ink =
//     1 − pixel/paper, so lighting gradients and shadows cancel;
//  5. threshold: Otsu's method on the ink histogram (or an adaptive local
//     mean threshold), never below Config.MinInk so blank frames stay blank;
//  6. connected components (8-connected); the largest plausible component
//     is the digit, nearby pieces of the same digit are merged (Multi: a
//     row of digits, left to right);
//  7. crop at full resolution, soft threshold between the paper and the
//     ink level, thicken thin pen strokes to MNIST's stroke width, area-
//     average resample so the longer side is 20 pixels, centre by centre of
//     mass in 28×28, and normalize with the model's mean and std.
package preprocess

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	"github.com/edgecnn/edgecnn/model"
)

// Polarity says how ink relates to the background.
type Polarity int

// Polarities.
const (
	PolarityAuto  Polarity = iota // decide per frame
	PolarityDark                  // dark ink on light paper (photos)
	PolarityLight                 // light ink on a dark background (MNIST-like)
)

// ThresholdMethod selects the binarization.
type ThresholdMethod int

// Threshold methods.
const (
	Otsu     ThresholdMethod = iota // one global threshold on the normalized ink
	Adaptive                        // local mean of the ink plus an offset
)

// Config configures a Preprocessor. Zero values pick the defaults noted.
type Config struct {
	Width, Height int                 // model input size (default 28×28)
	Box           int                 // longer side of the digit (default 20, MNIST)
	Norm          model.Normalization // default MNIST (0.1307, 0.3081)
	ROI           image.Rectangle     // region to search (frame coordinates); empty: whole frame
	Multi         bool                // read a row of digits left to right
	MaxDigits     int                 // Multi: at most this many (default 8)
	// Digits (Multi with a Scorer; ignored else) is the number's known
	// length (a meter's or counter's fixed count of digits): the
	// segmentation reads exactly this many digits where some reading of
	// the row has as many, and its best reading otherwise. 0: any length.
	Digits      int
	Polarity    Polarity
	Threshold   ThresholdMethod
	WorkSize    int     // longer side of the working image (default 160)
	MinInk      float32 // minimum ink contrast 0..1 for a pixel to count (default 0.25)
	StrokeWidth float32 // target stroke width in output pixels (default 2.0; negative: keep strokes as they are)
}

// MaxRowDigits bounds Config.MaxDigits and Config.Digits.
const MaxRowDigits = 64

// MaxWorkSize bounds Config.WorkSize (pixels).
const MaxWorkSize = 4096

func (c Config) withDefaults() Config {
	if c.Width <= 0 {
		c.Width = 28
	}
	if c.Height <= 0 {
		c.Height = 28
	}
	if c.Box <= 0 {
		c.Box = int(math.Round(float64(min(c.Width, c.Height)) * 20 / 28))
	}
	if c.Norm.Std == 0 {
		c.Norm = model.MNISTNorm
	}
	if c.MaxDigits <= 0 {
		c.MaxDigits = 8
	}
	c.MaxDigits = max(c.MaxDigits, c.Digits)
	if c.WorkSize <= 0 {
		c.WorkSize = 160
	}
	if c.MinInk <= 0 {
		c.MinInk = 0.25
	}
	if c.StrokeWidth == 0 {
		c.StrokeWidth = 2.0
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Width < 4 || c.Height < 4 || c.Width > 1024 || c.Height > 1024:
		return fmt.Errorf("preprocess: input size %dx%d out of range [4, 1024]", c.Width, c.Height)
	case c.Box < 2 || c.Box > min(c.Width, c.Height):
		return fmt.Errorf("preprocess: digit box %d does not fit %dx%d", c.Box, c.Width, c.Height)
	case !(c.Norm.Std > 0) || math.IsInf(float64(c.Norm.Std), 0) || math.IsNaN(float64(c.Norm.Mean)):
		return fmt.Errorf("preprocess: bad normalization mean %v std %v", c.Norm.Mean, c.Norm.Std)
	case c.WorkSize < 16 || c.WorkSize > MaxWorkSize:
		return fmt.Errorf("preprocess: work size %d out of range [16, %d]", c.WorkSize, MaxWorkSize)
	case c.MinInk >= 1:
		return fmt.Errorf("preprocess: min ink %v must be below 1", c.MinInk)
	case c.MaxDigits > MaxRowDigits:
		return fmt.Errorf("preprocess: max digits %d above %d", c.MaxDigits, MaxRowDigits)
	case c.Digits < 0 || c.Digits > MaxRowDigits:
		return fmt.Errorf("preprocess: a number of %d digits: want 0 (any) to %d", c.Digits, MaxRowDigits)
	case c.StrokeWidth > 8:
		return fmt.Errorf("preprocess: stroke width %v above 8", c.StrokeWidth)
	}
	return nil
}

// Digit is one located digit.
type Digit struct {
	Box   image.Rectangle // in frame coordinates
	Input []float32       // Height×Width normalized model input (a view, valid until the next Process)
	Ink   []float32       // the same before normalization, 0 (paper) … 1 (ink)
	// Seg is the seven-segment reading of the digit when its row is a
	// seven-segment display (Seg.Valid; sevenseg.go), zero otherwise.
	Seg SegDigit
	// Pair is set when the digit is one half of two touching digits that
	// the Judge read whole (Multi with a Judge): its box is that half of
	// the pair's box and Input the whole pair.
	Pair PairDigit
}

// PairDigit is one digit of a pair read whole by the Judge.
type PairDigit struct {
	Valid      bool
	Digit      int8    // 0..9
	Confidence float32 // the Judge's probability of the pair
}

// Result is the outcome of Process. It is reused by the next call.
type Result struct {
	Digits  []Digit // empty: no digit found
	DarkInk bool    // polarity used
	// MostlyDark: most of the frame is dark (its median brightness lies in
	// the lowest third of its range; the automatic polarity's first test).
	MostlyDark bool
	Threshold  float32 // ink threshold used (0..1)
	Work       image.Point
}

// Preprocessor holds the reusable buffers of the pipeline. It is not safe
// for concurrent use; use one per goroutine.
type Preprocessor struct {
	cfg Config

	full   []uint8    // converted luma for non-Gray/YCbCr images
	lum    image.Gray // the view luma returns
	small  []uint8    // working image (polarity-corrected: ink dark)
	sums   []uint32   // downscale row accumulator
	sums64 []uint64   // downscale by 4: four 16-bit pair sums per 8 pixels
	tiles  []float32  // half-resolution closing (paper)
	tiles2 []float32  // half-resolution opening
	half   []float32  // half-resolution working image
	wide   []float32  // thickStrokes' padded image and filters
	tmp    []float32
	vhg    []float32 // morph line buffers
	xw     []float32 // paper interpolation weights per column
	xi     []int32
	paper  []float32 // 1/paper per working pixel
	ink    []uint8   // ink per working pixel, 0..255
	integ  []uint32  // adaptive threshold integral image
	labels []int32
	dense  []int32
	cgroup []int16 // component id → cluster (group index in single mode), -1 for none
	scorer Scorer

	// Multi's segmentation judge and candidate observer (split.go).
	judge    Judge
	candFunc CandidateFunc
	candJ    []JudgeScore // the judge's answers

	// inRegion: ProcessRegion is running (the digit may fill the region).
	inRegion bool
	// lightHint: the automatic polarity chose dark ink for a mostly dark
	// frame whose thin light strokes clearly stand out more than its thin
	// dark ones (background).
	lightHint bool
	// mostlyDark: the working image's median lies in the lowest third of
	// its range (background; Result.MostlyDark).
	mostlyDark bool
	// inWindow: the inside of a dark window found in the frame is read.
	inWindow bool
	inRow    []bool    // selectRow: cluster belongs to the row
	inkScale float32   // light ink: contrast stretch of the frame (1: none)
	cand     []float32 // candidate inputs for the scorer
	candC    []float32 // their confidences
	candBuf  []float32
	cgs      []group // candidate pieces
	sevenSeg bool    // selectRow: the row is a seven-segment display
	segH     int     // its row height (working pixels)
	seg      SegDigit
	segFail  bool // a cell of the row is no clear display digit
	segBuf   segBuffers
	// segmentRow (segment.go)
	paths    []cutPath
	pathX    []int32
	pieces   []piece
	selItems []selItem
	cands    []segCand
	dpScore  []float32
	dpFrom   []int32
	dpPair   []bool // the step into k read its candidate as a pair
	starts   []int
	pathCost []float32
	pathFrom []int8
	clH      []int    // cluster id → height
	sampled  bool     // render reads a sample of the pixels (segment candidates)
	hist     [256]int // histograms of the working image and of its ink
	ihist    [256]int
	proj     []int32 // column projection of a cluster
	thresh   int     // ink threshold of the current frame, 0..255
	parent   []int32
	comps    []comp
	groups   []group
	mask     []uint8
	mask2    []uint8
	crop     []float32
	cropQ    []uint8 // full-resolution crop ink 0..255
	colW     []int32
	crop2    []float32
	rs       []float32
	out      []float32 // MaxDigits × H × W, ink 0..1
	input    []float32 // same, normalized
	res      Result
	digitsV  []Digit
}

type comp struct {
	area           int
	x0, y0, x1, y1 int // inclusive
	inkSum         int
	peak           int // highest ink value 0..255
}

type group struct {
	x0, y0, x1, y1 int // inclusive, working coords
	area, inkSum   int
	peak           int
	ncomp          int // components
	cl             int // cluster id (p.cgroup value of its components)
	// A segment of a row (segment.go) owns the pixels of p.selItems[sel
	// : sel+nsel] instead: clusters between cut paths.
	sel, nsel int
	// A pair read whole (segment.go): half 1 (left) or 2 (right) of it,
	// the digit of that half and the pair's probability; half 0: none.
	half  int8
	pairD int8
	pairP float32
}

// New returns a Preprocessor for cfg.
func New(cfg Config) (*Preprocessor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := cfg.Width * cfg.Height
	p := &Preprocessor{cfg: cfg, out: make([]float32, cfg.MaxDigits*n), input: make([]float32, cfg.MaxDigits*n)}
	return p, nil
}

// Config returns the effective configuration.
func (p *Preprocessor) Config() Config { return p.cfg }

// ErrImage is returned (wrapped) for an image Process cannot read.
var ErrImage = errors.New("preprocess: unusable image")

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

// luma returns the luma plane of region r of img as a gray image whose
// bounds are (0, 0)–(r.Dx(), r.Dy()): the pixels of *image.Gray and the
// Y plane of *image.YCbCr are read in place, other types converted. The
// image is a view reused by the next call.
func (p *Preprocessor) luma(img image.Image, r image.Rectangle) *image.Gray {
	pix, stride := p.lumaPlane(img, r)
	p.lum = image.Gray{Pix: pix, Stride: stride, Rect: image.Rect(0, 0, r.Dx(), r.Dy())}
	return &p.lum
}

// lumaPlane returns the luma plane of region r of img (pixel (x, y) of
// the region at pix[y*stride+x]).
func (p *Preprocessor) lumaPlane(img image.Image, r image.Rectangle) (pix []uint8, stride int) {
	w, h := r.Dx(), r.Dy()
	switch m := img.(type) {
	case *image.Gray:
		return m.Pix[m.PixOffset(r.Min.X, r.Min.Y):], m.Stride
	case *image.YCbCr:
		return m.Y[m.YOffset(r.Min.X, r.Min.Y):], m.YStride
	}
	p.full = grow(p.full, w*h)
	switch m := img.(type) {
	case *image.RGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			o := p.full[y*w : (y+1)*w]
			for x := range o {
				o[x] = uint8((19595*uint32(row[4*x]) + 38470*uint32(row[4*x+1]) + 7471*uint32(row[4*x+2]) + 1<<15) >> 16)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, r.Min.Y+y):]
			o := p.full[y*w : (y+1)*w]
			for x := range o {
				o[x] = uint8((19595*uint32(row[4*x]) + 38470*uint32(row[4*x+1]) + 7471*uint32(row[4*x+2]) + 1<<15) >> 16)
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p.full[y*w+x] = color.GrayModel.Convert(img.At(r.Min.X+x, r.Min.Y+y)).(color.Gray).Y
			}
		}
	}
	return p.full, w
}

// Process locates the digit(s) in img and prepares the model input. A
// frame without a plausible digit gives a Result with no Digits (not an
// error). The Result and its slices are reused by the next call.
//
// With automatic polarity a dark window on a lighter panel (an odometer,
// a white-on-black display) is found and read as light digits on dark:
// when the dark-ink pass sees a large solid dark shape with light holes,
// its inside is processed again with light polarity, and that answer is
// kept when it holds a digit tall enough for the frame (windowDigits);
// else the frame as found answers when it holds a digit, and the
// window's smaller digits otherwise. A mostly dark frame read as dark
// ink without a digit or a window is read as light ink when its thin
// light strokes clearly stand out (a display filling the frame inside a
// light bezel).
func (p *Preprocessor) Process(img image.Image) (*Result, error) {
	if img == nil {
		return nil, fmt.Errorf("%w: nil image", ErrImage)
	}
	r := img.Bounds()
	if !p.cfg.ROI.Empty() {
		r = r.Intersect(p.cfg.ROI)
	}
	auto := p.cfg.Polarity == PolarityAuto
	res, win, err := p.process(img, r, p.cfg.Polarity, auto)
	if err == nil && auto && win.Empty() && res.DarkInk && len(res.Digits) == 0 && p.lightHint {
		// A dark display filling the frame inside a light bezel: the
		// paper filters call it dark ink, the thin strokes light.
		res, _, err = p.process(img, r, PolarityLight, false)
		return res, err
	}
	if err != nil || win.Empty() {
		return res, err
	}
	res, _, err = p.readWindow(img, win)
	if err != nil || windowDigits(res, r) {
		return res, err
	}
	// No digit of the frame's size in the window: the frame as found
	// (dark ink) answers when it holds a digit; else the window's small
	// digits, if any, stand (read again: res is reused).
	small := len(res.Digits) > 0
	res, _, err = p.process(img, r, p.cfg.Polarity, false)
	if err != nil || len(res.Digits) > 0 || !small {
		return res, err
	}
	res, _, err = p.readWindow(img, win)
	return res, err
}

// readWindow reads the inside win of a dark window as light ink.
func (p *Preprocessor) readWindow(img image.Image, win image.Rectangle) (*Result, image.Rectangle, error) {
	p.inWindow = true
	defer func() { p.inWindow = false }()
	return p.process(img, win, PolarityLight, false)
}

// windowDigits reports whether res, the light reading of a window in
// the frame region r, holds a digit of the frame: one at least as tall as
// the frame's smallest digit (minDigitH of its shorter side; the window
// reading's own minimum is relative to the window, which may be as
// narrow as a stroke). A bold handwritten 1 (dark, solid, nearly
// rectangular) passed for a window, and its light reading found a
// 12-pixel sliver inside the stroke of a 640×480 frame: it was answered
// as a sure "1" instead of the number 5891 around it.
func windowDigits(res *Result, r image.Rectangle) bool {
	minH := minDigitH * float64(min(r.Dx(), r.Dy()))
	for _, d := range res.Digits {
		if float64(d.Box.Dy()) >= minH {
			return true
		}
	}
	return false
}

// process runs the pipeline on region r of img with polarity pol. With
// findWindow it also returns the inside of a dark window (frame
// coordinates) when the frame has one and the ink came out dark.
func (p *Preprocessor) process(img image.Image, r image.Rectangle, pol Polarity, findWindow bool) (*Result, image.Rectangle, error) {
	var win image.Rectangle
	cfg := p.cfg
	res := &p.res
	res.Digits = p.digitsV[:0]
	res.Work = image.Point{}
	if r.Empty() {
		return res, win, nil
	}
	w, h := r.Dx(), r.Dy()
	lum := p.luma(img, r)

	// 2. Downscale by an integer factor f (area average).
	f := (max(w, h) + cfg.WorkSize - 1) / cfg.WorkSize
	ww, wh := (w+f-1)/f, (h+f-1)/f
	res.Work = image.Pt(ww, wh)
	n := ww * wh
	hist := p.downscale(lum, f)

	// 3-4. Paper background and polarity; ink map.
	dark, ihist := p.inkMap(ww, wh, pol, hist)
	res.DarkInk, res.MostlyDark = dark, p.mostlyDark

	// 5. Threshold → binary (stored as ink ≥ t in labels pass).
	minT := int(cfg.MinInk*255 + 0.5)
	t := max(otsu(ihist, n), minT)
	p.thresh = t
	res.Threshold = float32(t) / 255
	bin := p.binary(ww, wh, t, minT)

	// 6. Components and groups.
	p.components(bin, ww, wh)
	if findWindow && dark {
		if wi := p.window(ww, wh); wi > 0 {
			c := p.comps[wi]
			in := max(2, min(c.w(), c.h())/25)
			win = image.Rect((c.x0+in)*f, (c.y0+in)*f, min((c.x1+1-in)*f, w), min((c.y1+1-in)*f, h)).Add(r.Min)
		}
	}
	p.selectGroups(ww, wh)

	// 7. Crop, resample, centre, normalize.
	fr := frameInfo{lum: lum, f: f, ww: ww, t: t, dark: dark}
	if cfg.Multi && p.scorer != nil && !p.sevenSeg {
		if err := p.segmentRow(&fr); err != nil {
			return nil, win, err
		}
	}
	oN := cfg.Width * cfg.Height
	p.segH = p.segRowHeight()
	prev, prevGI := group{}, -1 // the last digit rendered: its tight box and group
	for gi, pg := range p.groups {
		if len(res.Digits) == cfg.MaxDigits {
			break
		}
		k := len(res.Digits)
		out, in := p.out[k*oN:(k+1)*oN], p.input[k*oN:(k+1)*oN]
		g := prev
		if pg.half == 2 && prevGI == gi-1 && p.groups[gi-1].half == 1 && p.groups[gi-1].sel == pg.sel {
			// the right half of a pair: the same image as its left half
			copy(out, p.out[(k-1)*oN:k*oN])
			copy(in, p.input[(k-1)*oN:k*oN])
		} else {
			var ok bool
			if g, ok = p.render(pg, &fr, out); !ok {
				continue
			}
			p.normalize(out, in)
		}
		prev, prevGI = g, gi
		var pair PairDigit
		if pg.half != 0 {
			// the box of its half of the pair's box
			if mid := (g.x0 + g.x1) / 2; pg.half == 1 {
				g.x1 = mid
			} else {
				g.x0 = mid + 1
			}
			pair = PairDigit{Valid: true, Digit: pg.pairD, Confidence: pg.pairP}
		}
		box := image.Rect(g.x0*f, g.y0*f, min((g.x1+1)*f, w), min((g.y1+1)*f, h)).Add(r.Min)
		res.Digits = append(res.Digits, Digit{Box: box, Input: in, Ink: out, Seg: p.seg, Pair: pair})
	}
	p.segDisplayRow(res.Digits)
	p.digitsV = res.Digits[:0]
	return res, win, nil
}

// downscale area-averages the luma (bounds from (0, 0)) by f into
// p.small (⌈w/f⌉×⌈h/f⌉) and returns its histogram.
func (p *Preprocessor) downscale(lum *image.Gray, f int) *[256]int {
	w, h := lum.Rect.Dx(), lum.Rect.Dy()
	ww, wh := (w+f-1)/f, (h+f-1)/f
	n := ww * wh
	p.small = grow(p.small, n)
	p.sums = grow(p.sums, ww)
	hist := &p.hist
	*hist = [256]int{}
	swar := f == 4 && w%8 == 0
	if swar {
		p.sums64 = grow(p.sums64, w/8)
	}
	for j := 0; j < wh; j++ {
		sums := p.sums[:ww]
		y0, y1 := j*f, min((j+1)*f, h)
		if swar {
			p.sumRowsBy4(lum, y0, y1, w, sums) // writes every column
		} else {
			clear(sums)
			for y := y0; y < y1; y++ {
				row := lum.Pix[y*lum.Stride : y*lum.Stride+w]
				switch {
				case f == 1:
					for x, v := range row {
						sums[x] += uint32(v)
					}
					continue
				case f == 4 && w%4 == 0:
					for c := range sums {
						q := row[4*c : 4*c+4 : 4*c+4]
						sums[c] += uint32(q[0]) + uint32(q[1]) + uint32(q[2]) + uint32(q[3])
					}
					continue
				}
				for c := range sums {
					x0, x1 := c*f, min((c+1)*f, w)
					s := uint32(0)
					for _, v := range row[x0:x1] {
						s += uint32(v)
					}
					sums[c] += s
				}
			}
		}
		out := p.small[j*ww : (j+1)*ww]
		rows := uint32(y1 - y0)
		for c, s := range sums {
			cnt := rows * uint32(min((c+1)*f, w)-c*f)
			v := uint8((s + cnt/2) / cnt)
			out[c] = v
			hist[v]++
		}
	}

	return hist
}

// sumRowsBy4 writes to sums the sum of each 4-pixel column of rows
// [y0, y1) (at most 4) of lum, w pixels wide (a multiple of 8): eight
// pixels a load, the byte pairs' sums in four 16-bit lanes (at most
// 4 rows × 2 × 255 = 2040), then two lanes a column. The same integer
// sums as downscale's byte loop.
func (p *Preprocessor) sumRowsBy4(lum *image.Gray, y0, y1, w int, sums []uint32) {
	const m = 0x00ff00ff00ff00ff
	acc := p.sums64[:w/8]
	clear(acc)
	for y := y0; y < y1; y++ {
		row := lum.Pix[y*lum.Stride : y*lum.Stride+w]
		for k := range acc {
			x := binary.LittleEndian.Uint64(row[8*k:])
			acc[k] += x&m + x>>8&m
		}
	}
	for k, t := range acc {
		sums[2*k] = uint32(t&0xffff + t>>16&0xffff)
		sums[2*k+1] = uint32(t>>32&0xffff + t>>48)
	}
}

// inkMap estimates the paper and the polarity (pol, or decided from the
// frame) of the working image p.small (hist: its histogram) and fills
// p.ink with the ink of each working pixel; it returns the polarity and
// the ink histogram.
func (p *Preprocessor) inkMap(ww, wh int, pol Polarity, hist *[256]int) (bool, *[256]int) {
	n := ww * wh
	dark, hw, hh := p.background(ww, wh, pol, hist)
	if !dark {
		for i, v := range p.small {
			p.small[i] = 255 - v
		}
	}
	p.paperMap(ww, wh, hw, hh)
	p.ink = grow(p.ink, n)
	ihist := &p.ihist
	*ihist = [256]int{}
	for i, v := range p.small {
		k := 1 - float32(v)*p.paper[i]
		q := uint8(0)
		if k > 0 {
			q = uint8(min(k, 1)*255 + 0.5)
		}
		p.ink[i] = q
		ihist[q]++
	}
	// Light ink: its contrast is measured against white (255), which a
	// dim display never reaches; stretch so the brightest strokes
	// (99.8th percentile) are full ink.
	p.inkScale = 1
	if !dark {
		if q := percentile(ihist, n, 0.998); q > 0 && q < 230 {
			p.inkScale = 230 / float32(q)
			var lut [256]uint8
			for v := range lut {
				lut[v] = uint8(min(255, float32(v)*p.inkScale+0.5))
			}
			*ihist = [256]int{}
			for i, v := range p.ink {
				p.ink[i] = lut[v]
				ihist[lut[v]]++
			}
		}
	}

	return dark, ihist
}

// window returns the component that is a dark window holding light
// digits (0: none): large (≥ 2 % of the working image, at least 12 %
// of its height), solid (≥ 50 % of its box), really dark (mean ink ≥
// 0.6: a shadow is lighter), rectangular (its box's border lies on it),
// with light holes (≥ 5 % of its box), not a thin line.
func (p *Preprocessor) window(ww, wh int) int {
	best, bestA := 0, 0
	for id := 1; id < len(p.comps); id++ {
		c := p.comps[id]
		box := c.w() * c.h()
		if c.area*50 < ww*wh || c.h()*100 < wh*12 || c.area*2 < box || (box-c.area)*20 < box || c.inkSum < c.area*153 ||
			c.w() < 8 || c.h() < 8 || c.area <= bestA {
			continue
		}
		// A window is a rectangle: its box's border runs (one cell
		// inside, for blur) lie on it for ≥ 80 %; a bold blob of a digit
		// touches its box only at a few points.
		on, all := 0, 0
		for x := c.x0; x <= c.x1; x++ {
			for _, y := range [2]int{min(c.y0+1, c.y1), max(c.y1-1, c.y0)} {
				all++
				on += int(b2u(p.labels[y*ww+x] == int32(id)))
			}
		}
		for y := c.y0; y <= c.y1; y++ {
			for _, x := range [2]int{min(c.x0+1, c.x1), max(c.x1-1, c.x0)} {
				all++
				on += int(b2u(p.labels[y*ww+x] == int32(id)))
			}
		}
		if on*10 < all*8 {
			continue
		}
		best, bestA = id, c.area
	}
	return best
}

// normalize writes the model input for ink out (0..1) into in.
func (p *Preprocessor) normalize(out, in []float32) {
	inv := 1 / p.cfg.Norm.Std
	for i, v := range out {
		in[i] = (v - p.cfg.Norm.Mean) * inv
	}
}

// frameInfo is what render needs of the current frame.
type frameInfo struct {
	lum   *image.Gray // the frame's luma, bounds from (0, 0)
	f, ww int         // downscale factor, working width
	t     int         // ink threshold 0..255
	dark  bool
}

// size is the frame's size in pixels.
func (fr *frameInfo) size() (w, h int) { return fr.lum.Rect.Dx(), fr.lum.Rect.Dy() }

func percentile(h *[256]int, n int, q float64) int {
	target := int(q * float64(n))
	s := 0
	for v, c := range h {
		s += c
		if s > target {
			return v
		}
	}
	return 255
}

// otsu returns the threshold maximizing the between-class variance.
func otsu(h *[256]int, n int) int {
	var sum float64
	for v, c := range h {
		sum += float64(v * c)
	}
	var sumB, wB float64
	best, bestT := -1.0, 128
	for t := 0; t < 256; t++ {
		wB += float64(h[t])
		if wB == 0 {
			continue
		}
		wF := float64(n) - wB
		if wF == 0 {
			break
		}
		sumB += float64(t * h[t])
		mB, mF := sumB/wB, (sum-sumB)/wF
		between := wB * wF * (mB - mF) * (mB - mF)
		if between > best {
			best, bestT = between, t+1
		}
	}
	return bestT
}

// background estimates the paper at half resolution (2×2 means of the
// working image) with morphological filters of radius r: the closing
// (max then min filter) removes dark strokes narrower than the filter,
// the opening (min then max) removes light ones, and both keep the edges
// of shadows and lighting steps in place, so those never turn into ink.
// The top-hat residuals decide the polarity when it is automatic: real
// strokes leave a strong residual on one side only. It leaves the paper
// brightness of the chosen polarity (for light ink: of the inverted
// image) in p.tiles (hw×hh) and returns dark.
func (p *Preprocessor) background(ww, wh int, pol Polarity, hist *[256]int) (dark bool, hw, hh int) {
	p.lightHint = false
	hw, hh = (ww+1)/2, (wh+1)/2
	n := hw * hh
	r := max(1, int(math.Ceil(0.04*float64(min(ww, wh)))))
	// The half-resolution image is padded by 2r on every side with
	// replicated border values, so that shadow edges meeting the frame
	// border stay straight edges for the closing (no residue in corners).
	pd := 2 * r
	pw, ph := hw+2*pd, hh+2*pd
	pn := pw * ph
	p.tiles = grow(p.tiles, n)   // closing (cropped)
	p.tiles2 = grow(p.tiles2, n) // opening (cropped)
	p.half = grow(p.half, pn)
	p.tmp = grow(p.tmp, 2*pn)
	h := p.half
	p.padHalf(h, ww, wh, pd)
	t, t2 := p.tmp[:pn], p.tmp[pn:2*pn]
	p.vhg = grow(p.vhg, 3*(max(pw, ph)+4*r+4))
	morph(h, t, pw, ph, r, true, p.vhg)   // dilate
	morph(t, t2, pw, ph, r, false, p.vhg) // erode → closing
	c, o := p.tiles, p.tiles2
	for y := 0; y < hh; y++ {
		copy(c[y*hw:(y+1)*hw], t2[(y+pd)*pw+pd:])
	}
	// The opening is only needed when the ink may be light: asked for,
	// or automatic polarity with a mostly dark frame.
	p1, p50, p99 := percentile(hist, ww*wh, 0.01), percentile(hist, ww*wh, 0.5), percentile(hist, ww*wh, 0.99)
	majorityDark := 3*(p50-p1) < p99-p1
	p.mostlyDark = majorityDark
	border := 0 // a configured region's border: -1 clearly dark (see borderSide)
	if pol == PolarityAuto && p.inRegion {
		border = p.borderSide(ww, wh, p1, p99)
	}
	needOpen := pol == PolarityLight || pol == PolarityAuto && (majorityDark || border < 0)
	if needOpen {
		morph(h, t, pw, ph, r, false, p.vhg) // erode
		morph(t, t2, pw, ph, r, true, p.vhg) // dilate → opening
		for y := 0; y < hh; y++ {
			copy(o[y*hw:(y+1)*hw], t2[(y+pd)*pw+pd:])
		}
	}
	p.thickStrokes(h, ww, wh, pd, wideR*r, needOpen)
	for y := 0; y < hh; y++ {
		copy(h[y*hw:(y+1)*hw], h[(y+pd)*pw+pd:(y+pd)*pw+pd+hw])
	}
	h = h[:n]
	switch {
	case pol == PolarityDark:
		dark = true
	case pol == PolarityLight:
		dark = false
	case border < 0:
		// A configured digit region is drawn around one digit, so its
		// border is background: light ink when the border is clearly
		// dark, even where the digit fills most of the region (and the
		// median is ink). (The mirror rule, dark ink for a clearly light
		// border, read one handwritten region worse on the tuning photos
		// and none better, so the whole-frame rule keeps deciding there.)
		dark = false
	default:
		// Paper is lighter than ink in nearly every photo; call the ink
		// light only when the majority of the frame is dark (the median
		// lies in the lowest third of the range), light strokes stand
		// out at least as much as dark ones (top-hat residuals of the
		// paper filters), and thin dark strokes do not clearly stand out
		// more than thin light ones (thinStrokes; the other way round
		// they set lightHint, which Process uses).
		dark = true
		if majorityDark {
			var hd, hl [256]int
			for i, v := range h {
				hd[clamp255(c[i]-v)]++
				hl[clamp255(v-o[i])]++
			}
			dark = 5*percentile(&hl, n, 0.995) < 4*percentile(&hd, n, 0.995)
			d, l := p.thinStrokes(h, hw, hh, r, t, t2)
			if dark {
				p.lightHint = l-d >= max(thinMargin, l/5)
			} else {
				dark = d-l >= max(thinMargin, d/5)
			}
		}
	}
	if !dark {
		for i, v := range o {
			c[i] = 255 - v
		}
	}
	return dark, hw, hh
}

// thinMargin is the least lead (in grey levels, summed over two
// percentiles; and at least a fifth of the leading sum) of thin dark
// features over thin light ones that makes a frame the paper filters
// call light ink dark ink, and of thin light over thin dark ones that
// sets lightHint on a mostly dark frame they call dark ink. Strokes far
// wider than a stroke-wide filter (a thick light marker) leave no thin
// features, and the paper filters decide.
const thinMargin = 12

// thinStrokes measures the thin dark and the thin light features of the
// half-resolution image h (hw×hh): top-hat residuals of a closing and an
// opening of radius max(1, r/5), about a stroke's width, each summed over
// its 99.5th and 99.9th percentiles (the second one counts a lone thin
// digit such as a 1, whose ink is under 0.5 % of the frame). t, t2:
// scratch of hw·hh values.
//
// The background filters of radius r are too wide for this: under a
// shadow that darkens most of the frame, the paper inside a digit's
// loops and between its arms is a light shape narrower than them, so a
// lone dark digit left as strong a light residual as a dark one, and one
// in four such frames was read as light ink, the paper around the digit
// as its strokes (the tuning photos' handwritten digits drawn alone: 53
// of the 194 mostly dark frames among 4,488). Thin features tell the
// ink: strokes are thin, the paper a loop encloses is wider.
func (p *Preprocessor) thinStrokes(h []float32, hw, hh, r int, t, t2 []float32) (dark, light int) {
	n := hw * hh
	rs := max(1, r/5)
	var hd, hl [256]int
	morph(h, t, hw, hh, rs, true, p.vhg)
	morph(t, t2, hw, hh, rs, false, p.vhg) // closing
	for i, v := range h {
		hd[clamp255(t2[i]-v)]++
	}
	morph(h, t, hw, hh, rs, false, p.vhg)
	morph(t, t2, hw, hh, rs, true, p.vhg) // opening
	for i, v := range h {
		hl[clamp255(v-t2[i])]++
	}
	return percentile(&hd, n, 0.995) + percentile(&hd, n, 0.999), percentile(&hl, n, 0.995) + percentile(&hl, n, 0.999)
}

// Thick strokes: a closing of radius r keeps a dark stroke wider than
// 2r+1 half-resolution pixels (a thick marker, a digit filling much of
// the frame) in the paper estimate, so that the stroke's inside would
// read as paper and the digit as a hollow outline. Where the closing of
// radius wideR·r is much lighter (the paper of radius r is below
// inkPaper of it: darker than any shadow, so ink), that one is the
// paper. Light ink: the same with openings, where the wide opening (the
// dark background) is below inkPaper of the narrow one (lit strokes are
// measured against the background, not against white: a display's grey
// segments on black are far from white).
const (
	wideR    = 3
	inkPaper = 0.5
)

// thickStrokes applies the rule above to the closing in p.tiles and,
// with open, the opening in p.tiles2 (radius r/wideR, hw×hh), from the
// half-resolution image padded by pd in h. The wide filters run only
// where the rule can change something: the wide closing is at most the
// brightest pixel and the wide opening at least the darkest, so paper
// estimates that no wide one could change by the rule are kept without
// computing it.
func (p *Preprocessor) thickStrokes(h []float32, ww, wh, pd, r int, open bool) {
	hw, hh := (ww+1)/2, (wh+1)/2
	pw := hw + 2*pd
	lo, hi := float32(255), float32(0)
	for y := 0; y < hh; y++ {
		for _, v := range h[(y+pd)*pw+pd : (y+pd)*pw+pd+hw] {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	c, o := p.tiles[:hw*hh], p.tiles2[:hw*hh]
	needC := slices.Min(c) < inkPaper*hi
	needO := open && lo < inkPaper*slices.Max(o)
	if !needC && !needO {
		return
	}
	pd = 2 * r
	pw, ph := hw+2*pd, hh+2*pd
	pn := pw * ph
	p.wide = grow(p.wide, 3*pn)
	hp, t, t2 := p.wide[:pn], p.wide[pn:2*pn], p.wide[2*pn:3*pn]
	p.padHalf(hp, ww, wh, pd)
	p.vhg = grow(p.vhg, 3*(max(pw, ph)+4*r+4))
	for _, closing := range []bool{true, false} {
		dst := c
		if !closing {
			dst = o
		}
		if closing && !needC || !closing && !needO {
			continue
		}
		morph(hp, t, pw, ph, r, closing, p.vhg)
		morph(t, t2, pw, ph, r, !closing, p.vhg)
		for y := 0; y < hh; y++ {
			row, wide := dst[y*hw:(y+1)*hw], t2[(y+pd)*pw+pd:]
			for x, v := range row {
				w := wide[x]
				if closing && v < inkPaper*w || !closing && w < inkPaper*v {
					row[x] = w
				}
			}
		}
	}
}

// padHalf writes the half-resolution image (2×2 means of the working
// image p.small, ww×wh) padded by pd on every side with replicated
// border values into h.
func (p *Preprocessor) padHalf(h []float32, ww, wh, pd int) {
	hw, hh := (ww+1)/2, (wh+1)/2
	pw, ph := hw+2*pd, hh+2*pd
	for y := 0; y < ph; y++ {
		sy := clampi(y-pd, 0, hh-1)
		y0, y1 := 2*sy, min(2*sy+2, wh)
		for x := 0; x < pw; x++ {
			sx := clampi(x-pd, 0, hw-1)
			x0, x1 := 2*sx, min(2*sx+2, ww)
			var s int
			for yy := y0; yy < y1; yy++ {
				for xx := x0; xx < x1; xx++ {
					s += int(p.small[yy*ww+xx])
				}
			}
			h[y*pw+x] = float32(s) / float32((y1-y0)*(x1-x0))
		}
	}
}

// borderSide tells on which side of its range [p1, p99] the outer ring
// of the working image (2 pixels wide) mostly lies: -1 in the lowest
// third (dark), +1 in the highest third (light), else 0. It is the
// background of a configured digit region, which the digit may fill
// almost entirely (so the median of the whole region can be ink).
func (p *Preprocessor) borderSide(ww, wh, p1, p99 int) int {
	var hist [256]int
	n := 0
	for y := 0; y < wh; y++ {
		row := p.small[y*ww : (y+1)*ww]
		if y < 2 || y >= wh-2 { // top and bottom rows: all of them
			for _, v := range row {
				hist[v]++
			}
			n += ww
			continue
		}
		for x := range min(2, ww) { // left and right columns
			hist[row[x]]++
			n++
		}
		for x := max(2, ww-2); x < ww; x++ {
			hist[row[x]]++
			n++
		}
	}
	if n == 0 || p99 <= p1 {
		return 0
	}
	switch m := percentile(&hist, n, 0.5); {
	case 3*(m-p1) < p99-p1:
		return -1
	case 3*(p99-m) < p99-p1:
		return 1
	}
	return 0
}

func clamp255(v float32) int { return int(max(0, min(255, v))) }

// morph applies a separable max (dilate) or min filter with a square
// window of radius r to the w×h image src, writing dst (which may not
// alias src), in O(1) per pixel (van Herk / Gil-Werman). buf needs
// 3·(max(w, h) + 4r + 4) values.
func morph(src, dst []float32, w, h, r int, dilate bool, buf []float32) {
	sign := float32(1)
	if !dilate {
		sign = -1
	}
	for y := 0; y < h; y++ {
		maxLine(src[y*w:], 1, dst[y*w:], 1, w, r, sign, buf)
	}
	for x := 0; x < w; x++ {
		maxLine(dst[x:], w, dst[x:], w, h, r, sign, buf)
	}
}

// maxLine writes out[i·os] = sign·max(sign·in[j·is], |j−i| ≤ r) for
// i < n. in and out may alias: the line is copied first. Values beyond
// the ends repeat the end values.
func maxLine(in []float32, is int, out []float32, os, n, r int, sign float32, buf []float32) {
	k := 2*r + 1
	m := n + 2*r
	m += (k - m%k) % k // whole blocks
	line, g, hh := buf[:m], buf[m:2*m], buf[2*m:3*m]
	first, last := sign*in[0], sign*in[(n-1)*is]
	for i := 0; i < r; i++ {
		line[i] = first
	}
	mid := line[r : r+n]
	if is == 1 {
		if sign > 0 {
			copy(mid, in[:n])
		} else {
			for i, v := range in[:n] {
				mid[i] = -v
			}
		}
	} else {
		for i := range mid {
			mid[i] = sign * in[i*is]
		}
	}
	for i := r + n; i < m; i++ {
		line[i] = last
	}
	for b := 0; b < m; b += k {
		gb, lb, hb := g[b:b+k], line[b:b+k], hh[b:b+k]
		acc := lb[0]
		for i, v := range lb {
			acc = max(acc, v)
			gb[i] = acc
		}
		acc = lb[k-1]
		for i := k - 1; i >= 0; i-- {
			acc = max(acc, lb[i])
			hb[i] = acc
		}
	}
	g = g[k-1:]
	if os == 1 && sign > 0 {
		o := out[:n]
		for i := range o {
			o[i] = max(hh[i], g[i])
		}
		return
	}
	for i := 0; i < n; i++ {
		out[i*os] = sign * max(hh[i], g[i])
	}
}

// paperMap smooths the half-resolution paper estimate (3×3 mean) and
// upsamples it bilinearly into p.paper as 1/paper per working pixel.
func (p *Preprocessor) paperMap(ww, wh, hw, hh int) {
	a, b := p.tiles, p.tmp
	for y := 0; y < hh; y++ {
		for x := 0; x < hw; x++ {
			var s float32
			c := 0
			for yy := max(0, y-1); yy <= min(hh-1, y+1); yy++ {
				for xx := max(0, x-1); xx <= min(hw-1, x+1); xx++ {
					s += a[yy*hw+xx]
					c++
				}
			}
			b[y*hw+x] = s / float32(c)
		}
	}
	p.paper = grow(p.paper, ww*wh)
	p.xw = grow(p.xw, ww)
	p.xi = grow(p.xi, 2*ww)
	for x := 0; x < ww; x++ {
		fx := (float32(x)+0.5)/2 - 0.5
		x0 := int(math.Floor(float64(fx)))
		p.xw[x] = fx - float32(x0)
		p.xi[2*x], p.xi[2*x+1] = int32(clampi(x0, 0, hw-1)), int32(clampi(x0+1, 0, hw-1))
	}
	for y := 0; y < wh; y++ {
		fy := (float32(y)+0.5)/2 - 0.5
		y0 := int(math.Floor(float64(fy)))
		ay := fy - float32(y0)
		y0c, y1c := clampi(y0, 0, hh-1), clampi(y0+1, 0, hh-1)
		// Blend the two source rows once, then interpolate along x.
		row := p.tiles2[:hw]
		r0, r1 := b[y0c*hw:(y0c+1)*hw], b[y1c*hw:(y1c+1)*hw]
		for i := range row {
			row[i] = r0[i]*(1-ay) + r1[i]*ay
		}
		out := p.paper[y*ww : (y+1)*ww]
		xi, xw := p.xi[:2*len(out)], p.xw[:len(out)]
		for x := range out {
			ax := xw[x]
			v := row[xi[2*x]]*(1-ax) + row[xi[2*x+1]]*ax
			out[x] = 1 / max(v, 8)
		}
	}
}

func clampi(v, lo, hi int) int { return max(lo, min(v, hi)) }

// binary returns the foreground mask (1 = ink) in p.mask.
func (p *Preprocessor) binary(ww, wh, t, minT int) []uint8 {
	n := ww * wh
	p.mask = grow(p.mask, n)
	if p.cfg.Threshold != Adaptive {
		for i, v := range p.ink {
			p.mask[i] = b2u(int(v) >= t)
		}
		return p.mask
	}
	// Adaptive: ink above the local mean (window ~1/8 of the image) + 10%.
	p.integ = grow(p.integ, (ww+1)*(wh+1))
	W := ww + 1
	clear(p.integ[:W])
	for y := 0; y < wh; y++ {
		var s uint32
		p.integ[(y+1)*W] = 0
		for x := 0; x < ww; x++ {
			s += uint32(p.ink[y*ww+x])
			p.integ[(y+1)*W+x+1] = p.integ[y*W+x+1] + s
		}
	}
	r := max(2, max(ww, wh)/16)
	for y := 0; y < wh; y++ {
		y0, y1 := max(0, y-r), min(wh, y+r+1)
		for x := 0; x < ww; x++ {
			x0, x1 := max(0, x-r), min(ww, x+r+1)
			s := p.integ[y1*W+x1] - p.integ[y0*W+x1] - p.integ[y1*W+x0] + p.integ[y0*W+x0]
			mean := int(s) / ((y1 - y0) * (x1 - x0))
			v := int(p.ink[y*ww+x])
			p.mask[y*ww+x] = b2u(v >= minT && v >= mean+26)
		}
	}
	return p.mask
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (p *Preprocessor) find(i int32) int32 {
	for p.parent[i] != i {
		p.parent[i] = p.parent[p.parent[i]]
		i = p.parent[i]
	}
	return i
}

// components labels 8-connected foreground pixels (two passes, union-find)
// and gathers per-component statistics into p.comps.
func (p *Preprocessor) components(bin []uint8, ww, wh int) {
	n := ww * wh
	p.labels = grow(p.labels, n)
	p.parent = grow(p.parent, n/2+2)[:1]
	p.parent[0] = 0
	for y := 0; y < wh; y++ {
		for x := 0; x < ww; x++ {
			i := y*ww + x
			if bin[i] == 0 {
				p.labels[i] = 0
				continue
			}
			var l int32
			try := func(j int) {
				if lj := p.labels[j]; lj != 0 {
					if l == 0 {
						l = lj
					} else if l != lj {
						a, b := p.find(l), p.find(lj)
						if a < b {
							p.parent[b] = a
						} else if b < a {
							p.parent[a] = b
						}
					}
				}
			}
			if x > 0 {
				try(i - 1)
			}
			if y > 0 {
				if x > 0 {
					try(i - ww - 1)
				}
				try(i - ww)
				if x+1 < ww {
					try(i - ww + 1)
				}
			}
			if l == 0 {
				l = int32(len(p.parent))
				p.parent = append(p.parent, l)
			}
			p.labels[i] = l
		}
	}
	// Flatten to dense ids 1..k.
	k := int32(0)
	p.dense = grow(p.dense, len(p.parent))
	dense := p.dense
	dense[0] = 0
	for i := int32(1); i < int32(len(p.parent)); i++ {
		if p.find(i) == i {
			k++
			dense[i] = k
		}
	}
	for i := int32(1); i < int32(len(p.parent)); i++ {
		dense[i] = dense[p.find(i)]
	}
	p.comps = p.comps[:0]
	for i := int32(0); i <= k; i++ {
		p.comps = append(p.comps, comp{x0: math.MaxInt32, y0: math.MaxInt32, x1: -1, y1: -1})
	}
	for y := 0; y < wh; y++ {
		for x := 0; x < ww; x++ {
			i := y*ww + x
			l := p.labels[i]
			if l == 0 {
				continue
			}
			d := dense[l]
			p.labels[i] = d
			c := &p.comps[d]
			c.area++
			c.inkSum += int(p.ink[i])
			c.peak = max(c.peak, int(p.ink[i]))
			c.x0, c.y0 = min(c.x0, x), min(c.y0, y)
			c.x1, c.y1 = max(c.x1, x), max(c.y1, y)
		}
	}
}
