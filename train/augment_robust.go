package train

import "math"

// Random streams of the reject-class and robust training (keys far from
// the iota streams of rng.go so that merges never collide).
const (
	streamRobust       uint64 = 101 // per image: robust or plain augmentation
	streamNegatives    uint64 = 102 // per epoch: the generated negatives
	streamValNegatives uint64 = 103 // the validation negatives (threshold choice)
	streamValRobust    uint64 = 104 // robust copies of the validation digits
	streamNeighbors    uint64 = 105 // per image: a sliver of a neighbouring digit
	streamBreaks       uint64 = 106 // per image: gaps across the strokes (Config.Breaks)
	streamValBreaks    uint64 = 107 // the same for the robust copies of the validation digits
)

// robustShare is the share of images that get the robust augmentation
// under Config.Robust; the others get the plain one (rotation, shift).
const robustShare = 0.5

// Robust augmentation ranges: what a camera and the preprocessing do to a
// digit that MNIST does not show.
const (
	robDegrees = 12   // rotation ±
	robScaleLo = 0.8  // isotropic scale
	robScaleHi = 1.12 //
	robAspect  = 0.12 // x scale 1±
	robShear   = 0.15 // ±
	robShift   = 2.5  // px ±
	robElastic = 1.6  // px, peak displacement of the elastic field
	robBlocky  = 0.2  // share drawn blocky (strokes on a coarse grid: LCD, dot matrix, low resolution)
	robGaps    = 0.25 // share with strokes cut by thin gaps (segment gaps, broken strokes)
	// Other writers (Config.Writers): a share of the robust images is
	// slanted and narrowed or widened beyond the ranges above and written
	// with a thick marker or a thin pen, as people who did not write
	// MNIST's digits do.
	robWriters      = 0.5  // share of robust images drawn in another hand
	robWriterShear  = 0.35 // ±
	robWriterAspect = 0.7  // x scale, low end
	robWriterWide   = 1.2  // x scale, high end
	robWriterScale  = 1.0  // isotropic scale, high end (a widened digit stays inside the frame)
	robWriterThick  = 0.3  // share of those written with a thick marker (3×3 square dilation)
	robWriterThin   = 0.3  // share written with a thin pen (faint ink dropped, cores kept)
	robThinInk      = 0.43 // thin pen: ink below this level is dropped, the rest stretched to [0, 1]
)

// Neighbours (Config.Neighbors): a share of the robust digit images get a
// sliver of another digit at their left or right edge, as a region or a
// cut between touching digits holds a piece of the next digit.
const (
	robNeighbors   = 0.3 // share of robust digit images
	robSliverMin   = 2   // sliver width, px
	robSliverRange = 4   // sliver widths robSliverMin … robSliverMin+robSliverRange-1
	robSliverInset = 3   // the sliver sits 0 … robSliverInset-1 px in from the edge
	robSliverShift = 2   // vertical offset ± px
	inkLevel       = 64  // 8-bit level from which a pixel counts as ink
)

// Broken strokes (Config.Breaks): a share of the digit images get a short
// gap across their strokes (and some a second one), as a pen that skips
// or a stroke that the light washes out leaves a digit in a photo.
const (
	brkShare  = 0.2 // share of digit images with a gap
	brkSecond = 0.3 // share of those with a second gap
	brkHalfLo = 0.5 // half width of a gap, px (soft edge of 0.5 px more)
	brkHalfHi = 1.0
	brkLenLo  = 3 // half length of a gap (radius around its centre), px
	brkLenHi  = 6
	brkInk    = 0.5 // a gap is centred on a pixel with at least this ink
)

// robustStyle selects the optional parts of the robust augmentation.
type robustStyle struct {
	Display bool // display-like strokes: blocky, cut by thin gaps
	Writers bool // other hands: stronger slant, narrower or wider digits, thick or thin pens
}

// robustAugment writes a camera-robust augmented copy of the one-channel
// image src (uint8), scaled to [0, 1], into dst: an affine warp (rotation,
// scale, aspect, shear, translation) plus a smooth elastic displacement
// field, then stroke width (dilate or erode), blur, contrast and gamma,
// background level and noise, each drawn from r. With display, some
// images get display-like strokes first (blocky, cut by thin gaps); with
// writers, some are slanted, narrowed or widened as other hands write.
// tmp holds H×W values.
func robustAugment(src []uint8, H, W int, r *RNG, dst, tmp []float32, style robustStyle) {
	theta := float64(r.Uniform(-robDegrees, robDegrees)) * math.Pi / 180
	scale := float64(r.Uniform(robScaleLo, robScaleHi))
	aspect := 1 + float64(r.Uniform(-robAspect, robAspect))
	shear := float64(r.Uniform(-robShear, robShear))
	tx := float64(r.Uniform(-robShift, robShift))
	ty := float64(r.Uniform(-robShift, robShift))
	// elastic field: random displacements on a 4×4 grid, bilinear in between
	const g = 4
	var ex, ey [g * g]float64
	amp := float64(r.Uniform(0, robElastic))
	for i := range ex {
		ex[i] = amp * float64(r.Uniform(-1, 1))
		ey[i] = amp * float64(r.Uniform(-1, 1))
	}
	// other writers: drawn after every draw above, so that the streams
	// without Writers are unchanged
	pen := float32(1) // above robWriterThick+robWriterThin: the writer's own pen
	if style.Writers && r.Float32() < robWriters {
		shear = float64(r.Uniform(-robWriterShear, robWriterShear))
		aspect = float64(r.Uniform(robWriterAspect, robWriterWide))
		scale = float64(r.Uniform(robScaleLo, robWriterScale))
		pen = r.Float32()
	}
	cx, cy := float64(W-1)/2, float64(H-1)/2
	cs, sn := math.Cos(theta), math.Sin(theta)
	// forward map: p' = c + t + R·S·(p − c); we sample the inverse.
	a, b := cs*scale*aspect, -sn*scale+cs*scale*shear
	c, d := sn*scale*aspect, cs*scale+sn*scale*shear
	det := a*d - b*c
	ia, ib, ic, id := d/det, -b/det, -c/det, a/det
	for y := 0; y < H; y++ {
		gy := float64(y) / float64(H-1) * (g - 1)
		y0 := min(int(gy), g-2)
		fy := gy - float64(y0)
		for x := 0; x < W; x++ {
			gx := float64(x) / float64(W-1) * (g - 1)
			x0 := min(int(gx), g-2)
			fx := gx - float64(x0)
			lerp := func(f *[g * g]float64) float64 {
				return (1-fy)*((1-fx)*f[y0*g+x0]+fx*f[y0*g+x0+1]) + fy*((1-fx)*f[(y0+1)*g+x0]+fx*f[(y0+1)*g+x0+1])
			}
			dx, dy := float64(x)-cx-tx+lerp(&ex), float64(y)-cy-ty+lerp(&ey)
			sx, sy := ia*dx+ib*dy+cx, ic*dx+id*dy+cy
			dst[y*W+x] = bilinear(src, H, W, sx, sy)
		}
	}
	// display-like strokes: a coarse grid squares them, thin gaps cut them
	// into separate pieces (seven-segment and dot displays, broken pens)
	if style.Display && r.Float32() < robBlocky {
		blocky(dst, tmp, H, W, 3, r.Uniform(0.35, 0.55), int(r.Float32()*2.999), int(r.Float32()*2.999))
	}
	if style.Display && r.Float32() < robGaps {
		for n := 1 + int(r.Float32()*1.999); n > 0; n-- {
			cutGap(dst, H, W, r)
		}
	}
	// another writer's pen: a thick marker or a thin pen
	switch {
	case pen < robWriterThick:
		dilateSquare(dst, tmp, H, W)
	case pen < robWriterThick+robWriterThin:
		for i, v := range dst[:H*W] {
			dst[i] = max(0, v-robThinInk) / (1 - robThinInk)
		}
	}
	// stroke width
	switch u := r.Float32(); {
	case u < 0.3:
		morph3(dst, tmp, H, W, true)
	case u < 0.5:
		morph3(dst, tmp, H, W, false)
	}
	// blur
	if r.Float32() < 0.35 {
		blur3(dst, tmp, H, W)
	}
	// contrast, gamma, background, noise
	gain := float32(1)
	if r.Float32() < 0.5 {
		gain = r.Uniform(0.7, 1)
	}
	gamma := float64(r.Uniform(0.75, 1.3))
	bg := float32(0)
	sigma := float32(0)
	if r.Float32() < 0.4 {
		bg = r.Uniform(0, 0.12)
		sigma = r.Uniform(0, 0.08)
	}
	for i, v := range dst[:H*W] {
		v = float32(math.Pow(float64(max(v, 0)), gamma)) * gain
		v = bg + (1-bg)*v
		if sigma > 0 {
			v += sigma * gauss(r)
		}
		dst[i] = max(0, min(1, v))
	}
}

// blocky redraws img on a grid of cell×cell pixels (offset ox, oy): a
// cell is full ink where its mean ink reaches t, else empty.
func blocky(img, tmp []float32, H, W, cell int, t float32, ox, oy int) {
	copy(tmp, img[:H*W])
	for y0 := -oy; y0 < H; y0 += cell {
		for x0 := -ox; x0 < W; x0 += cell {
			var s float32
			n := 0
			for y := max(y0, 0); y < min(y0+cell, H); y++ {
				for x := max(x0, 0); x < min(x0+cell, W); x++ {
					s += tmp[y*W+x]
					n++
				}
			}
			v := float32(0)
			if n > 0 && s >= t*float32(n) {
				v = 1
			}
			for y := max(y0, 0); y < min(y0+cell, H); y++ {
				for x := max(x0, 0); x < min(x0+cell, W); x++ {
					img[y*W+x] = v
				}
			}
		}
	}
}

// cutGap erases ink along a thin line (0.8–1.6 px wide, soft edges)
// through the middle 60% of img: horizontal, vertical or slanted.
func cutGap(img []float32, H, W int, r *RNG) {
	cx := float64(W) * float64(r.Uniform(0.2, 0.8))
	cy := float64(H) * float64(r.Uniform(0.2, 0.8))
	var a float64
	switch u := r.Float32(); {
	case u < 0.4:
		a = 0
	case u < 0.8:
		a = math.Pi / 2
	default:
		a = float64(r.Uniform(0, math.Pi))
	}
	a += float64(r.Uniform(-0.15, 0.15))
	nx, ny := -math.Sin(a), math.Cos(a) // normal of the line
	half := float64(r.Uniform(0.4, 0.8))
	eraseBand(img, H, W, cx, cy, nx, ny, half, 0)
}

// eraseBand erases the ink of img (H×W) within half px of the line
// through (cx, cy) with unit normal (nx, ny), fading out over 0.5 px more
// (multiplied by 0 … 1, so erased to black); with rad > 0 only within
// rad px of (cx, cy) (a gap across one stroke), else across the image.
func eraseBand(img []float32, H, W int, cx, cy, nx, ny, half, rad float64) {
	x0, y0, x1, y1 := 0, 0, W-1, H-1
	if rad > 0 {
		x0, y0 = max(0, int(cx-rad)), max(0, int(cy-rad))
		x1, y1 = min(W-1, int(cx+rad)), min(H-1, int(cy+rad))
	}
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			if rad > 0 && dx*dx+dy*dy > rad*rad {
				continue
			}
			if d := math.Abs(dx*nx + dy*ny); d < half+0.5 {
				img[y*W+x] *= float32(max(0, d-half) * 2)
			}
		}
	}
}

// gauss draws a standard normal value (Box–Muller, one of the pair).
func gauss(r *RNG) float32 {
	u := max(r.Float32(), 1e-7)
	v := r.Float32()
	return float32(math.Sqrt(-2*math.Log(float64(u))) * math.Cos(2*math.Pi*float64(v)))
}

// bilinear samples src (uint8, one channel) at (x, y), scaled to [0, 1];
// zero outside.
func bilinear(src []uint8, H, W int, x, y float64) float32 {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	px := func(yy, xx int) float32 {
		if yy < 0 || yy >= H || xx < 0 || xx >= W {
			return 0
		}
		return float32(src[yy*W+xx]) * (1.0 / 255)
	}
	return (1-fy)*((1-fx)*px(y0, x0)+fx*px(y0, x0+1)) + fy*((1-fx)*px(y0+1, x0)+fx*px(y0+1, x0+1))
}

// morph3 dilates (max) or erodes (min) img with a 3×3 cross, in place;
// erosion keeps at least half of a pixel's value so thin strokes survive.
func morph3(img, tmp []float32, H, W int, dilate bool) {
	copy(tmp, img[:H*W])
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			v := tmp[y*W+x]
			m := v
			for _, o := range [4][2]int{{0, -1}, {0, 1}, {-1, 0}, {1, 0}} {
				yy, xx := y+o[0], x+o[1]
				n := float32(0)
				if yy >= 0 && yy < H && xx >= 0 && xx < W {
					n = tmp[yy*W+xx]
				}
				if dilate {
					m = max(m, n)
				} else {
					m = min(m, n)
				}
			}
			if !dilate {
				m = max(m, v*0.5)
			}
			img[y*W+x] = m
		}
	}
}

// addSliver max-blends the last (left: true) or first ink columns of the
// one-channel 8-bit digit nb, w columns wide, into img at its left or
// right edge, inset px in and shifted dy rows: a piece of the next digit.
func addSliver(img []float32, nb []uint8, H, W int, left bool, w, inset, dy int) {
	x0, x1 := W, -1
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			if nb[y*W+x] >= inkLevel {
				x0, x1 = min(x0, x), max(x1, x)
			}
		}
	}
	if x1 < 0 {
		return
	}
	w = min(w, x1-x0+1)
	for c := 0; c < w; c++ {
		sx, dx := x1-w+1+c, inset+c // the neighbour's right edge on our left
		if !left {
			sx, dx = x0+c, W-inset-w+c
		}
		if dx < 0 || dx >= W {
			continue
		}
		for y := 0; y < H; y++ {
			sy := y - dy
			if sy < 0 || sy >= H {
				continue
			}
			img[y*W+dx] = max(img[y*W+dx], float32(nb[sy*W+sx])*(1.0/255))
		}
	}
}

// dilateSquare dilates img with a 3×3 square (max of the 9 neighbours,
// zero outside), in place: the stroke of a thick marker.
func dilateSquare(img, tmp []float32, H, W int) {
	for y := 0; y < H; y++ { // rows: max of x-1, x, x+1 into tmp
		row := img[y*W : (y+1)*W]
		for x := range row {
			m := row[x]
			if x > 0 {
				m = max(m, row[x-1])
			}
			if x+1 < W {
				m = max(m, row[x+1])
			}
			tmp[y*W+x] = m
		}
	}
	for y := 0; y < H; y++ { // columns: max of y-1, y, y+1 back into img
		for x := 0; x < W; x++ {
			m := tmp[y*W+x]
			if y > 0 {
				m = max(m, tmp[(y-1)*W+x])
			}
			if y+1 < H {
				m = max(m, tmp[(y+1)*W+x])
			}
			img[y*W+x] = m
		}
	}
}

// blur3 applies the [1 2 1]/4 kernel in both directions, in place.
func blur3(img, tmp []float32, H, W int) {
	at := func(s []float32, y, x int) float32 {
		if y < 0 || y >= H || x < 0 || x >= W {
			return 0
		}
		return s[y*W+x]
	}
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			tmp[y*W+x] = 0.25*at(img, y, x-1) + 0.5*at(img, y, x) + 0.25*at(img, y, x+1)
		}
	}
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			img[y*W+x] = 0.25*at(tmp, y-1, x) + 0.5*at(tmp, y, x) + 0.25*at(tmp, y+1, x)
		}
	}
}

// breakStrokes gives img (H×W ink in [0, 1]), with probability brkShare,
// a gap across its strokes (penSkip), and with brkSecond of those a
// second one, drawn from r.
func breakStrokes(img []float32, H, W int, r *RNG) {
	if r.Float32() >= brkShare {
		return
	}
	penSkip(img, H, W, r)
	if r.Float32() < brkSecond {
		penSkip(img, H, W, r)
	}
}

// penSkip erases one short gap across the strokes of img (H×W ink in
// [0, 1]): centred on a random pixel of at least brkInk ink, the pixels
// within brkLenLo…brkLenHi px of that centre and within brkHalfLo…brkHalfHi
// px of a line through it at a random angle (plus a 0.5 px soft edge).
// The gap is erased to 0 (on a robust copy's grey background it is darker
// than the paper beside it). An image without such a pixel stays as it is.
func penSkip(img []float32, H, W int, r *RNG) {
	n := 0
	for _, v := range img {
		if v >= brkInk {
			n++
		}
	}
	if n == 0 {
		return
	}
	k, c := r.Intn(n), 0
	for i, v := range img {
		if v >= brkInk {
			if k == 0 {
				c = i
				break
			}
			k--
		}
	}
	cx, cy := float64(c%W), float64(c/W)
	a := float64(r.Uniform(0, math.Pi))
	nx, ny := math.Cos(a), math.Sin(a)
	half := float64(r.Uniform(brkHalfLo, brkHalfHi))
	rad := float64(r.Uniform(brkLenLo, brkLenHi))
	eraseBand(img, H, W, cx, cy, nx, ny, half, rad)
}
