package preprocess

import "math"

// render crops group g (the pixels it owns: see owns) from the
// full-resolution luma, converts it to ink 0..1, thickens thin strokes,
// resamples the longer side to Box pixels and centres it by centre of
// mass into out (Height×Width). It returns g with its box shrunk to the
// pixels it holds, and false when nothing is left.
func (p *Preprocessor) render(g group, fr *frameInfo, out []float32) (group, bool) {
	g, cb, ok := p.ownedMask(g, fr)
	if !ok {
		return g, false
	}
	dw, dh, ok := p.inkCrop(cb, fr)
	if !ok {
		return g, false
	}
	p.readSegments(dw, dh, cb.h) // seven-segment rows only (sevenseg.go)
	p.thicken(dw, dh)
	return g, p.place(dw, dh, out)
}

// cropBox is the working-resolution crop of a group (one cell of margin
// around its pixels) whose ownership mask ownedMask left in p.mask2.
type cropBox struct{ x0, y0, w, h int }

// owns reports whether working pixel (x, y), of component label l ≠ 0,
// belongs to g: for a plain group, a pixel of its cluster within its
// columns; for a segment (g.nsel > 0), a pixel of one of its clusters
// between that cluster's cut paths.
func (p *Preprocessor) owns(g *group, x, y int, l int32) bool {
	cl := int(p.cgroup[l])
	if g.nsel == 0 {
		return cl == g.cl && x >= g.x0 && x <= g.x1
	}
	for _, it := range p.selItems[g.sel : g.sel+g.nsel] {
		if it.cl == cl {
			return (it.lo < 0 || x >= p.pathAt(it.lo, y)) && (it.hi < 0 || x < p.pathAt(it.hi, y))
		}
	}
	return false
}

// ownedMask shrinks g's box to the pixels it owns and marks in p.mask2
// the working cells of the crop next to one of them (3×3).
func (p *Preprocessor) ownedMask(g group, fr *frameInfo) (group, cropBox, bool) {
	_, h := fr.size()
	ww, wh := fr.ww, (h+fr.f-1)/fr.f
	tx0, ty0, tx1, ty1 := math.MaxInt32, math.MaxInt32, -1, -1
	for y := g.y0; y <= g.y1; y++ {
		row := p.labels[y*ww : (y+1)*ww]
		for x := g.x0; x <= g.x1; x++ {
			if l := row[x]; l != 0 && p.owns(&g, x, y, l) {
				tx0, ty0 = min(tx0, x), min(ty0, y)
				tx1, ty1 = max(tx1, x), max(ty1, y)
			}
		}
	}
	if tx1 < 0 {
		return g, cropBox{}, false
	}
	orig := g
	g.x0, g.y0, g.x1, g.y1 = tx0, ty0, tx1, ty1
	cx0, cy0 := max(g.x0-1, 0), max(g.y0-1, 0)
	cx1, cy1 := min(g.x1+1, ww-1), min(g.y1+1, wh-1)
	cb := cropBox{cx0, cy0, cx1 - cx0 + 1, cy1 - cy0 + 1}
	// Owned pixels of the crop, then their 3×3 dilation (rows, columns).
	n := cb.w * cb.h
	p.mask2 = grow(p.mask2, 2*n)
	own, tmp := p.mask2[:n], p.mask2[n:2*n]
	for y := cy0; y <= cy1; y++ {
		o := own[(y-cy0)*cb.w : (y-cy0+1)*cb.w]
		for x := cx0; x <= cx1; x++ {
			l := p.labels[y*ww+x]
			o[x-cx0] = b2u(l != 0 && p.owns(&orig, x, y, l))
		}
	}
	for y := 0; y < cb.h; y++ {
		o, t := own[y*cb.w:(y+1)*cb.w], tmp[y*cb.w:(y+1)*cb.w]
		for x := range o {
			m := o[x]
			if x > 0 {
				m |= o[x-1]
			}
			if x+1 < cb.w {
				m |= o[x+1]
			}
			t[x] = m
		}
	}
	for y := 0; y < cb.h; y++ {
		o := own[y*cb.w : (y+1)*cb.w]
		for x := range o {
			m := tmp[y*cb.w+x]
			if y > 0 {
				m |= tmp[(y-1)*cb.w+x]
			}
			if y+1 < cb.h {
				m |= tmp[(y+1)*cb.w+x]
			}
			o[x] = m
		}
	}
	return g, cb, true
}

// inkCrop reads the masked full-resolution pixels of crop cb as ink,
// stretches it between half the threshold and the median ink level, and
// box-averages it by an integer factor d so the longer side lands in
// [2·Box, 4·Box): p.crop (dw×dh). With p.sampled (segment candidates,
// only scored) it reads every ⌊d/2⌋-th pixel of every ⌊d/2⌋-th row.
func (p *Preprocessor) inkCrop(cb cropBox, fr *frameInfo) (dw, dh int, ok bool) {
	f := fr.f
	X0, Y0 := cb.x0*f, cb.y0*f
	w, h := fr.size()
	X1, Y1 := min((cb.x0+cb.w)*f, w), min((cb.y0+cb.h)*f, h)
	CW, CH := X1-X0, Y1-Y0
	d := max(1, max(CW, CH)/(2*p.cfg.Box))
	s := 1
	if p.sampled {
		s = max(1, d/2)
	}
	hist, above := p.inkPixels(cb, fr, X0, Y0, X1, Y1, s)
	if above == 0 {
		return 0, 0, false
	}
	t := fr.t
	hiQ, n := 255, 0
	for v := t; v < 256; v++ {
		n += hist[v]
		if n*2 >= above {
			hiQ = v
			break
		}
	}
	lo := float32(t) * 0.5 / 255
	hi := max(float32(hiQ)/255, lo+0.1)
	scale := 1 / (hi - lo)
	var lut [256]float32
	for v := range lut {
		lut[v] = max(0, min(1, (float32(v)/255-lo)*scale))
	}
	// Pass 2: stretched ink, box-averaged by d (the mean of the pixels
	// read in each d×d block).
	dw, dh = (CW+d-1)/d, (CH+d-1)/d
	p.crop = grow(p.crop, dw*dh)
	clear(p.crop)
	colW := p.colW[:CW]
	for i := range colW {
		colW[i] = int32(i / d)
	}
	for y := 0; y < CH; y += s {
		q := p.cropQ[y*CW : (y+1)*CW]
		crow := p.crop[(y/d)*dw : (y/d+1)*dw]
		for i := 0; i < CW; i += s {
			if u := q[i]; u != 0 {
				crow[colW[i]] += lut[u]
			}
		}
	}
	// Blocks cut by the crop's edge count their missing pixels as paper.
	for by := 0; by < dh; by++ {
		ny := ((by+1)*d-1)/s - (by*d+s-1)/s + 1
		for bx := 0; bx < dw; bx++ {
			nx := ((bx+1)*d-1)/s - (bx*d+s-1)/s + 1
			p.crop[by*dw+bx] /= float32(nx * ny)
		}
	}
	return dw, dh, true
}

// inkPixels is pass 1 of inkCrop: the ink (0..255) of the masked pixels
// of [X0, X1)×[Y0, Y1) (every s-th of every s-th row) into p.cropQ, its
// histogram and the count at or above the threshold.
func (p *Preprocessor) inkPixels(cb cropBox, fr *frameInfo, X0, Y0, X1, Y1, s int) (hist [256]int, above int) {
	lum, stride, f, ww := fr.lum.Pix, fr.lum.Stride, fr.f, fr.ww
	CW, CH := X1-X0, Y1-Y0
	p.colW = grow(p.colW, CW)
	colW := p.colW[:CW]
	for i := range colW {
		colW[i] = int32((X0+i)/f - cb.x0)
	}
	p.cropQ = grow(p.cropQ, CW*CH)
	for Y := Y0; Y < Y1; Y += s {
		row := lum[Y*stride+X0 : Y*stride+X1]
		wy := Y/f - cb.y0
		mrow := p.mask2[wy*cb.w : (wy+1)*cb.w]
		prow := p.paper[(Y/f)*ww+cb.x0 : (Y/f)*ww+cb.x0+cb.w]
		q := p.cropQ[(Y-Y0)*CW : (Y-Y0+1)*CW]
		for i := 0; i < CW; i += s {
			v := row[i]
			wx := colW[i]
			if mrow[wx] == 0 {
				q[i] = 0
				continue
			}
			if !fr.dark {
				v = 255 - v
			}
			k := (1 - float32(v)*prow[wx]) * p.inkScale
			u := uint8(0)
			if k > 0 {
				u = uint8(min(k, 1)*255 + 0.5)
			}
			q[i] = u
			hist[u]++
		}
	}
	for v := fr.t; v < 256; v++ {
		above += hist[v]
	}
	return hist, above
}

// thicken dilates the dw×dh crop so its stroke width (≈ 2·area /
// perimeter) reaches Config.StrokeWidth output pixels.
func (p *Preprocessor) thicken(dw, dh int) {
	cfg := p.cfg
	if cfg.StrokeWidth <= 0 {
		return
	}
	var area, per float32
	for y := 0; y < dh; y++ {
		row := p.crop[y*dw : (y+1)*dw]
		prev := float32(0)
		for x, v := range row {
			area += v
			per += abs32(v - prev)
			prev = v
			up := float32(0)
			if y > 0 {
				up = p.crop[(y-1)*dw+x]
			}
			per += abs32(v - up)
		}
		per += prev
	}
	for x := 0; x < dw; x++ {
		per += p.crop[(dh-1)*dw+x]
	}
	if per > 0 && area > 0 {
		width := 2 * area / per
		outPerCrop := float32(cfg.Box) / float32(max(dw, dh))
		want := cfg.StrokeWidth / outPerCrop
		if r := int(math.Round(float64(want-width) / 2)); r > 0 {
			p.dilate(dw, dh, min(r, 6))
		}
	}
}

// place resamples the content of the dw×dh crop so its longer side is
// Box pixels, scales its peak to 1 and centres it by centre of mass in
// out (Height×Width); false when the crop holds no ink.
func (p *Preprocessor) place(dw, dh int, out []float32) bool {
	cfg := p.cfg
	bx0, by0, bx1, by1 := dw, dh, -1, -1
	var peak float32
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			if v := p.crop[y*dw+x]; v > 0.05 {
				bx0, by0 = min(bx0, x), min(by0, y)
				bx1, by1 = max(bx1, x), max(by1, y)
				peak = max(peak, v)
			}
		}
	}
	if bx1 < 0 {
		return false
	}
	bw, bh := bx1-bx0+1, by1-by0+1
	ow, oh := cfg.Box, cfg.Box
	if bw > bh {
		oh = max(1, int(math.Round(float64(bh)*float64(cfg.Box)/float64(bw))))
	} else {
		ow = max(1, int(math.Round(float64(bw)*float64(cfg.Box)/float64(bh))))
	}
	p.resample(bx0, by0, bw, bh, dw, ow, oh)
	var sum, sx, sy float32
	norm := 1 / peak
	for y := 0; y < oh; y++ {
		for x := 0; x < ow; x++ {
			v := min(p.rs[y*ow+x]*norm, 1)
			p.rs[y*ow+x] = v
			sum += v
			sx += v * (float32(x) + 0.5)
			sy += v * (float32(y) + 0.5)
		}
	}
	if !(sum > 0) {
		return false
	}
	ox := clampi(int(math.Round(float64(float32(cfg.Width)/2-sx/sum))), 0, cfg.Width-ow)
	oy := clampi(int(math.Round(float64(float32(cfg.Height)/2-sy/sum))), 0, cfg.Height-oh)
	clear(out)
	for y := 0; y < oh; y++ {
		copy(out[(oy+y)*cfg.Width+ox:(oy+y)*cfg.Width+ox+ow], p.rs[y*ow:(y+1)*ow])
	}
	return true
}
