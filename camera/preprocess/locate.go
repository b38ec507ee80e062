package preprocess

import (
	"math"
	"sort"
)

func (c comp) w() int { return c.x1 - c.x0 + 1 }
func (c comp) h() int { return c.y1 - c.y0 + 1 }

func (g group) w() int { return g.x1 - g.x0 + 1 }
func (g group) h() int { return g.y1 - g.y0 + 1 }

// plausible reports whether a box of w×h working pixels can be a digit in
// a ww×wh working image.
func plausible(w, h, ww, wh int) bool {
	minH := max(3, int(0.04*float64(min(ww, wh))))
	switch {
	case h < minH:
		return false
	case w*10 >= ww*9 && h*10 >= wh*9: // fills the frame: a shadow or an edge
		return false
	case w*2 > h*5: // a horizontal line (ruling, paper edge)
		return false
	}
	return true
}

// strong reports whether a component has real ink somewhere: a peak of
// at least 0.4 and clearly above the threshold. Residues of shadow edges
// and lighting steps are faint everywhere.
func (p *Preprocessor) strong(c comp) bool {
	return c.peak >= 102 && c.peak >= p.thresh+26
}

func (p *Preprocessor) addToGroup(g *group, id int, gi int) {
	c := p.comps[id]
	if g.area == 0 {
		g.x0, g.y0, g.x1, g.y1 = c.x0, c.y0, c.x1, c.y1
	} else {
		g.x0, g.y0 = min(g.x0, c.x0), min(g.y0, c.y0)
		g.x1, g.y1 = max(g.x1, c.x1), max(g.y1, c.y1)
	}
	g.area += c.area
	g.inkSum += c.inkSum
	g.peak = max(g.peak, c.peak)
	p.cgroup[id] = int16(gi)
}

// selectGroups picks the digit(s) among the components into p.groups and
// marks their components in p.cgroup.
func (p *Preprocessor) selectGroups(ww, wh int) {
	p.groups = p.groups[:0]
	k := len(p.comps) - 1
	p.cgroup = grow(p.cgroup, k+1)
	for i := range p.cgroup {
		p.cgroup[i] = -1
	}
	if k <= 0 {
		return
	}
	if p.cfg.Multi {
		p.selectRow(ww, wh)
		return
	}
	best, bestInk := -1, 0
	for id := 1; id <= k; id++ {
		c := p.comps[id]
		if plausible(c.w(), c.h(), ww, wh) && p.strong(c) && c.inkSum > bestInk {
			best, bestInk = id, c.inkSum
		}
	}
	if best < 0 {
		return
	}
	p.groups = append(p.groups, group{})
	g := &p.groups[0]
	p.addToGroup(g, best, 0)
	minArea := max(2, p.comps[best].area/50)
	// Merge nearby pieces of the same digit (a broken stroke, the bar
	// of a 5 or 7) while the union stays digit-shaped.
	for changed := true; changed; {
		changed = false
		m := max(1, int(0.15*float64(max(g.h(), g.w()))))
		for id := 1; id <= k; id++ {
			c := p.comps[id]
			if p.cgroup[id] >= 0 || c.area < minArea {
				continue
			}
			if c.x1 < g.x0-m || c.x0 > g.x1+m || c.y1 < g.y0-m || c.y0 > g.y1+m {
				continue
			}
			nw := max(g.x1, c.x1) - min(g.x0, c.x0) + 1
			nh := max(g.y1, c.y1) - min(g.y0, c.y0) + 1
			if nw > nh*3/2+1 || !plausible(nw, nh, ww, wh) {
				continue
			}
			p.addToGroup(g, id, 0)
			changed = true
		}
	}
}

// selectRow finds a row of digits: components stacked in one column are
// merged, groups much smaller than the tallest or off its row are
// dropped, and the rest are ordered left to right.
func (p *Preprocessor) selectRow(ww, wh int) {
	k := len(p.comps) - 1
	largest := 0
	for id := 1; id <= k; id++ {
		largest = max(largest, p.comps[id].area)
	}
	minArea := max(2, largest/100)
	for id := 1; id <= k; id++ {
		c := p.comps[id]
		if c.area < minArea {
			continue
		}
		// Join a group whose columns overlap this component's by half
		// the narrower width and that is vertically close.
		joined := -1
		for gi := range p.groups {
			g := &p.groups[gi]
			ov := min(g.x1, c.x1) - max(g.x0, c.x0) + 1
			gap := max(c.y0-g.y1, g.y0-c.y1)
			if ov*2 >= min(g.w(), c.w()) && gap <= max(g.h(), c.h())/2 {
				joined = gi
				break
			}
		}
		if joined < 0 {
			p.groups = append(p.groups, group{})
			joined = len(p.groups) - 1
		}
		p.addToGroup(&p.groups[joined], id, joined)
	}
	// The tallest plausible group defines the row.
	tall := -1
	for gi, g := range p.groups {
		if plausible(g.w(), g.h(), ww, wh) && g.peak >= 102 && g.peak >= p.thresh+26 && (tall < 0 || g.h() > p.groups[tall].h()) {
			tall = gi
		}
	}
	if tall < 0 {
		p.groups = p.groups[:0]
		return
	}
	t := p.groups[tall]
	keep := p.groups[:0]
	for _, g := range p.groups {
		ov := min(g.y1, t.y1) - max(g.y0, t.y0) + 1
		ok := plausible(g.w(), g.h(), ww, wh) && g.peak >= 102 && g.h()*5 >= t.h()*2 && ov*2 >= g.h()
		if ok {
			keep = append(keep, g)
		}
	}
	p.groups = keep
	if len(p.groups) > p.cfg.MaxDigits {
		sort.Slice(p.groups, func(i, j int) bool { return p.groups[i].inkSum > p.groups[j].inkSum })
		p.groups = p.groups[:p.cfg.MaxDigits]
	}
	sort.Slice(p.groups, func(i, j int) bool { return p.groups[i].x0 < p.groups[j].x0 })
	// Re-mark components with their final group index.
	for id := 1; id <= k; id++ {
		p.cgroup[id] = -1
		c := p.comps[id]
		if c.area < minArea {
			continue
		}
		for gi, g := range p.groups {
			if c.x0 >= g.x0 && c.x1 <= g.x1 && c.y0 >= g.y0 && c.y1 <= g.y1 {
				p.cgroup[id] = int16(gi)
				break
			}
		}
	}
}

// render crops group gi from the full-resolution luma, converts it to ink
// 0..1, thickens thin strokes, resamples the longer side to Box pixels and
// centres it by centre of mass into out (Height×Width). It reports false
// when nothing is left.
func (p *Preprocessor) render(gi int, lum []uint8, stride, w, h, f, ww int, t int, dark bool, out []float32) bool {
	g := p.groups[gi]
	cfg := p.cfg
	wh := (h + f - 1) / f
	// Working-resolution crop with one pixel of margin.
	cx0, cy0 := max(g.x0-1, 0), max(g.y0-1, 0)
	cx1, cy1 := min(g.x1+1, ww-1), min(g.y1+1, wh-1)
	cww, cwh := cx1-cx0+1, cy1-cy0+1
	// Mask: working cells next to a component of this group.
	p.mask2 = grow(p.mask2, cww*cwh)
	for y := cy0; y <= cy1; y++ {
		for x := cx0; x <= cx1; x++ {
			m := uint8(0)
			for dy := -1; dy <= 1 && m == 0; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= ww || yy >= wh {
						continue
					}
					if l := p.labels[yy*ww+xx]; l != 0 && p.cgroup[l] == int16(gi) {
						m = 1
						break
					}
				}
			}
			p.mask2[(y-cy0)*cww+(x-cx0)] = m
		}
	}
	// Full-resolution crop.
	X0, Y0 := cx0*f, cy0*f
	X1, Y1 := min((cx1+1)*f, w), min((cy1+1)*f, h)
	CW, CH := X1-X0, Y1-Y0
	// Per-column lookups (no division per pixel).
	p.colW = grow(p.colW, CW)
	for i := range p.colW {
		p.colW[i] = int32((X0+i)/f - cx0)
	}
	// Pass 1: ink (0..255) of masked pixels into p.cropQ, and its histogram.
	p.cropQ = grow(p.cropQ, CW*CH)
	var hist [256]int
	colW := p.colW[:CW]
	for Y := Y0; Y < Y1; Y++ {
		row := lum[Y*stride+X0 : Y*stride+X1]
		wy := Y/f - cy0
		mrow := p.mask2[wy*cww : (wy+1)*cww]
		prow := p.paper[(Y/f)*ww+cx0 : (Y/f)*ww+cx0+cww]
		q := p.cropQ[(Y-Y0)*CW : (Y-Y0+1)*CW]
		for i, v := range row {
			wx := colW[i]
			if mrow[wx] == 0 {
				q[i] = 0
				continue
			}
			if !dark {
				v = 255 - v
			}
			k := 1 - float32(v)*prow[wx]
			u := uint8(0)
			if k > 0 {
				u = uint8(min(k, 1)*255 + 0.5)
			}
			q[i] = u
			hist[u]++
		}
	}
	above := 0
	for v := t; v < 256; v++ {
		above += hist[v]
	}
	if above == 0 {
		return false
	}
	hiQ, s := 255, 0
	for v := t; v < 256; v++ {
		s += hist[v]
		if s*2 >= above {
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
	// Pass 2: stretched ink, box-averaged by an integer factor d so the
	// crop's longer side lands in [2·Box, 4·Box).
	d := max(1, max(CW, CH)/(2*cfg.Box))
	dw, dh := (CW+d-1)/d, (CH+d-1)/d
	p.crop = grow(p.crop, dw*dh)
	clear(p.crop)
	for i := range colW {
		colW[i] = int32(i / d)
	}
	for y := 0; y < CH; y++ {
		q := p.cropQ[y*CW : (y+1)*CW]
		crow := p.crop[(y/d)*dw : (y/d+1)*dw]
		for i, u := range q {
			if u != 0 {
				crow[colW[i]] += lut[u]
			}
		}
	}
	inv := 1 / float32(d*d)
	for i := range p.crop {
		p.crop[i] *= inv
	}
	// Stroke width ≈ 2·area / perimeter; thicken to cfg.StrokeWidth.
	if cfg.StrokeWidth > 0 {
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
	// Content box (after thickening).
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
	// Peak to 1, centre of mass into the output.
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

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// dilate applies a gray 3×3 max filter r times to the dw×dh crop.
func (p *Preprocessor) dilate(dw, dh, r int) {
	p.crop2 = grow(p.crop2, dw*dh)
	for ; r > 0; r-- {
		for y := 0; y < dh; y++ {
			row := p.crop[y*dw : (y+1)*dw]
			o := p.crop2[y*dw : (y+1)*dw]
			for x := range row {
				m := row[x]
				if x > 0 {
					m = max(m, row[x-1])
				}
				if x+1 < dw {
					m = max(m, row[x+1])
				}
				o[x] = m
			}
		}
		for y := 0; y < dh; y++ {
			for x := 0; x < dw; x++ {
				m := p.crop2[y*dw+x]
				if y > 0 {
					m = max(m, p.crop2[(y-1)*dw+x])
				}
				if y+1 < dh {
					m = max(m, p.crop2[(y+1)*dw+x])
				}
				p.crop[y*dw+x] = m
			}
		}
	}
}

// resample area-averages the bw×bh box at (bx, by) of the crop (row
// length dw) to ow×oh into p.rs (separable: rows, then columns).
func (p *Preprocessor) resample(bx, by, bw, bh, dw, ow, oh int) {
	p.crop2 = grow(p.crop2, bh*ow)
	tmp := p.crop2
	sx := float64(bw) / float64(ow)
	for y := 0; y < bh; y++ {
		row := p.crop[(by+y)*dw+bx : (by+y)*dw+bx+bw]
		for o := 0; o < ow; o++ {
			tmp[y*ow+o] = area1(row, 1, bw, float64(o)*sx, float64(o+1)*sx)
		}
	}
	p.rs = grow(p.rs, ow*oh)
	sy := float64(bh) / float64(oh)
	for o := 0; o < oh; o++ {
		for x := 0; x < ow; x++ {
			p.rs[o*ow+x] = area1(tmp[x:], ow, bh, float64(o)*sy, float64(o+1)*sy)
		}
	}
}

// area1 is the mean of s[i*step], i < n, over the real interval [a, b).
func area1(s []float32, step, n int, a, b float64) float32 {
	b = math.Min(b, float64(n))
	i0 := int(a)
	i1 := min(int(math.Ceil(b)), n)
	var acc float64
	for i := i0; i < i1; i++ {
		lo, hi := math.Max(a, float64(i)), math.Min(b, float64(i+1))
		if hi > lo {
			acc += float64(s[i*step]) * (hi - lo)
		}
	}
	return float32(acc / (b - a))
}
