package preprocess

import (
	"image"
	"math"
	"slices"
)

func (c comp) w() int { return c.x1 - c.x0 + 1 }
func (c comp) h() int { return c.y1 - c.y0 + 1 }

func (g group) w() int { return g.x1 - g.x0 + 1 }
func (g group) h() int { return g.y1 - g.y0 + 1 }

// minDigitH: a digit is at least this share of the shorter side of the
// frame (or region) it is read in.
const minDigitH = 0.04

// plausible reports whether a box of w×h working pixels can be a digit in
// a ww×wh working image.
func plausible(w, h, ww, wh int) bool {
	minH := max(3, int(minDigitH*float64(min(ww, wh))))
	switch {
	case h < minH:
		return false
	case coversFrame(w, h, ww, wh): // a shadow or an edge
		return false
	case w*2 > h*5: // a horizontal line (ruling, paper edge)
		return false
	}
	return true
}

// plausibleOne is plausible for the single digit; in a configured digit
// region (ProcessRegion) the digit may fill the region.
func (p *Preprocessor) plausibleOne(w, h, ww, wh int) bool {
	if p.inRegion && h >= max(3, int(0.2*float64(wh))) && w*2 <= h*5 {
		return true
	}
	return plausible(w, h, ww, wh)
}

// neighbourPiece reports whether, in a configured digit region, the
// component c is a piece of the neighbouring digit rather than of the
// region's digit g: it touches the region's left or right edge, which g
// does not, and is much narrower than g (a region drawn around one digit
// of a row often clips the next digit's edge).
func (p *Preprocessor) neighbourPiece(c comp, g group, ww int) bool {
	if !p.inRegion {
		return false
	}
	left := c.x0 == 0 && g.x0 > 0
	right := c.x1 == ww-1 && g.x1 < ww-1
	return (left || right) && c.w()*3 < g.w()
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
	g.ncomp++
	p.cgroup[id] = int16(gi)
}

// selectGroups picks the digit(s) among the components into p.groups and
// marks their components in p.cgroup.
func (p *Preprocessor) selectGroups(ww, wh int) {
	p.groups = p.groups[:0]
	p.sevenSeg = false
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
		if (p.plausibleOne(c.w(), c.h(), ww, wh) || p.fillsFrame(image.Rect(c.x0, c.y0, c.x1+1, c.y1+1), c.area, ww, wh)) && !p.spans(c.x0, c.y0, c.x1, c.y1, c.area, ww, wh) && p.strong(c) && c.inkSum > bestInk {
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
	// of a 5 or 7) and pieces stacked in its column (the two segments of
	// a seven-segment 1, farther apart than the margin m of the lower
	// one) while the union stays digit-shaped.
	for changed := true; changed; {
		changed = false
		m := max(1, int(0.15*float64(max(g.h(), g.w()))))
		for id := 1; id <= k; id++ {
			c := p.comps[id]
			if p.cgroup[id] >= 0 || c.area < minArea || p.neighbourPiece(c, *g, ww) {
				continue
			}
			near := c.x1 >= g.x0-m && c.x0 <= g.x1+m && c.y1 >= g.y0-m && c.y0 <= g.y1+m
			if !near && !stacked(g.x0, g.x1, g.y0, g.y1, c.x0, c.x1, c.y0, c.y1) {
				continue
			}
			nw := max(g.x1, c.x1) - min(g.x0, c.x0) + 1
			nh := max(g.y1, c.y1) - min(g.y0, c.y0) + 1
			if nw > nh*3/2+1 || !p.plausibleOne(nw, nh, ww, wh) {
				continue
			}
			p.addToGroup(g, id, 0)
			changed = true
		}
	}
}

// selectRow finds a row of digits (Config.Multi):
//
//  1. components stacked in one column (pieces of one digit: a broken
//     stroke, the bar of a 5) are joined, repeatedly, into clusters;
//  2. the tallest plausible cluster sets the row band; clusters that lie
//     in the band belong to the row, however small (unequal sizes);
//  3. a row made mostly of solid bars is a seven-segment display: its
//     pieces are grouped by column (a digit's segments are separate
//     components) with a gap tolerance below the digit spacing;
//  4. otherwise small fragments next to a digit join it, and clusters
//     much wider than tall (touching digits) are cut at the minima of
//     their column projection;
//  5. at most MaxDigits (the most ink), ordered left to right.
//
// The component → cluster map is left in p.cgroup and each group knows
// its cluster and column range: render takes a group's pixels by both
// (the pieces of a cut cluster share it).
func (p *Preprocessor) selectRow(ww, wh int) {
	k := len(p.comps) - 1
	largest := 0
	for id := 1; id <= k; id++ {
		largest = max(largest, p.comps[id].area)
	}
	minArea := max(2, largest/100)
	p.clusterComponents(minArea, ww, wh)
	for gi := range p.groups {
		p.groups[gi].cl = gi
	}
	// The tallest plausible cluster defines the row; one clear of the
	// frame's sides first (a strip of a window's light rim at the side is
	// as tall as a digit and thin as a 1). A digit touching the frame's
	// top or bottom counts as clear: in a number that fills the frame most
	// digits do, and a small piece clear of every edge (a broken 6's loop)
	// started the row, too short for the digits to join it.
	tall, tallEdge := -1, false
	for gi, g := range p.groups {
		if !p.rowPlausible(g, ww, wh) || p.spans(g.x0, g.y0, g.x1, g.y1, g.area, ww, wh) || g.peak < 102 || g.peak < p.thresh+26 {
			continue
		}
		edge := g.x0 <= 2 || g.x1 >= ww-3
		if tall < 0 || tallEdge && !edge || edge == tallEdge && g.h() > p.groups[tall].h() {
			tall, tallEdge = gi, edge
		}
	}
	if tall < 0 {
		p.groups = p.groups[:0]
		return
	}
	t := p.groups[tall]
	H := t.h()
	p.growRow(tall, H, ww, wh)
	keep := p.groups[:0]
	for i, g := range p.groups {
		if p.inRow[i] {
			keep = append(keep, g)
		}
	}
	p.groups = keep
	slices.SortStableFunc(p.groups, byX)
	p.sevenSeg = p.sevenSegRow(minArea, H)
	if p.sevenSeg {
		p.groupSegments(H)
	} else if p.scorer == nil {
		p.attachFragments(H)
		p.splitWide(ww)
	}
	// Drop what is not digit-sized: too short for the row, or too thin
	// and tiny (a speck). With a Scorer, segmentRow decides which short
	// pieces are parts of digits.
	search := p.scorer != nil && !p.sevenSeg
	keep = p.groups[:0]
	for _, g := range p.groups {
		if (search || g.h()*5 >= H*2) && p.rowPlausible(g, ww, wh) && !p.spans(g.x0, g.y0, g.x1, g.y1, g.area, ww, wh) {
			keep = append(keep, g)
		}
	}
	p.groups = keep
	if len(p.groups) > p.cfg.MaxDigits && !search {
		slices.SortStableFunc(p.groups, func(a, b group) int { return b.inkSum - a.inkSum })
		p.groups = p.groups[:p.cfg.MaxDigits]
		slices.SortStableFunc(p.groups, byX)
	}
}

// clusterComponents joins the components of at least minArea stacked in
// one column (pieces of one digit: a broken stroke, the bar of a 5),
// repeatedly, into clusters p.groups. A component that spans the ww×wh
// frame (the light rim around an odometer window that fills the frame,
// a ruled line) is no piece of a digit: its box holds every digit, so
// it would join them all into one cluster, which the row then drops.
func (p *Preprocessor) clusterComponents(minArea, ww, wh int) {
	k := len(p.comps) - 1
	for id := 1; id <= k; id++ {
		c := p.comps[id]
		if c.area < minArea || p.spans(c.x0, c.y0, c.x1, c.y1, c.area, ww, wh) {
			continue
		}
		joined := -1
		for gi := range p.groups {
			g := &p.groups[gi]
			if stacked(g.x0, g.x1, g.y0, g.y1, c.x0, c.x1, c.y0, c.y1) {
				joined = gi
				break
			}
		}
		if joined < 0 {
			if len(p.groups) >= maxClusters {
				continue // a noise frame: enough candidates
			}
			p.groups = append(p.groups, group{})
			joined = len(p.groups) - 1
		}
		p.addToGroup(&p.groups[joined], id, joined)
	}
	// Joining grows boxes: merge clusters that became stacked.
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(p.groups) && !changed; i++ {
			for j := i + 1; j < len(p.groups); j++ {
				a, b := &p.groups[i], &p.groups[j]
				if stacked(a.x0, a.x1, a.y0, a.y1, b.x0, b.x1, b.y0, b.y1) {
					p.mergeGroups(i, j)
					changed = true
					break
				}
			}
		}
	}
}

// growRow marks in p.inRow the clusters of the row that starts at
// cluster tall (row height H): a cluster joins when it lies at least
// half in the band of a digit-sized member next to it (within 1.5 row
// heights), so a slanted or curved row is followed to its ends.
func (p *Preprocessor) growRow(tall, H, ww, wh int) {
	p.inRow = grow(p.inRow, len(p.groups))
	for i := range p.inRow {
		p.inRow[i] = i == tall
	}
	for changed := true; changed; {
		changed = false
		for i, g := range p.groups {
			if p.inRow[i] || g.peak < 102 || coversFrame(g.w(), g.h(), ww, wh) {
				continue
			}
			for j, a := range p.groups {
				if !p.inRow[j] || a.h()*5 < H*2 {
					continue
				}
				ov := min(g.y1, a.y1) - max(g.y0, a.y0) + 1
				gap := max(g.x0-a.x1, a.x0-g.x1, 0)
				if ov*2 >= g.h() && gap*2 <= 3*H {
					p.inRow[i] = true
					changed = true
					break
				}
			}
		}
	}
}

// sevenSegRow reports a seven-segment row: the components of the row's
// clusters (p.inRow) are mostly solid bars, both lying and standing (a
// row of handwritten 1s has standing bars only), and none is wider than
// the row of height H is high (a segment, or a digit whose segments
// touch, is narrower; touching handwritten digits are not).
func (p *Preprocessor) sevenSegRow(minArea, H int) bool {
	k := len(p.comps) - 1
	nc, bars, hbars, vbars := 0, 0, 0, 0
	for id := 1; id <= k; id++ {
		c := p.comps[id]
		if cl := p.cgroup[id]; c.area < minArea || cl < 0 || !p.inRow[cl] {
			continue
		}
		if c.w() > H {
			return false
		}
		nc++
		if long, short := max(c.w(), c.h()), min(c.w(), c.h()); long >= 2*short && c.area*100 >= c.w()*c.h()*45 {
			bars++
			if c.w() > c.h() {
				hbars++
			} else {
				vbars++
			}
		}
	}
	return nc >= 3 && bars*100 >= nc*segBars && hbars > 0 && vbars > 0
}

// rowPlausible is plausible for a cluster of a row: touching digits
// make clusters wider than a ruled line may be, but a line is solid; and
// the digits of a number that fills the frame can touch into one shape
// that fills it (fillsFrame).
func (p *Preprocessor) rowPlausible(g group, ww, wh int) bool {
	w, h := g.w(), g.h()
	if p.fillsFrame(image.Rect(g.x0, g.y0, g.x1+1, g.y1+1), g.area, ww, wh) {
		return true
	}
	if w*2 > h*5 && g.area*2 < w*h && h >= max(3, int(0.04*float64(min(ww, wh)))) && !coversFrame(w, h, ww, wh) {
		return true
	}
	return plausible(w, h, ww, wh)
}

// spans reports a box along a frame edge and nearly as long as the frame
// (the bezel around a display, a paper edge): not a digit, unless the
// user chose the region (Config.ROI, ProcessRegion), where a digit may
// fill it. Inside a dark window found in the frame (inWindow) the digits
// fill the window's height and the first and last lie against its sides,
// so there only a box along its top or bottom counts.
//
// A strip lies along the edge: ink runs along the frame's edge lines for
// at least edgeRun of the box's length. A digit of a number that fills
// the frame touches the edge at a few points only (the top of an 8, the
// side of a 0), and so does the row of touching digits of such a number
// (with Multi: 2 to 8 times as wide as tall, or filling the frame: other
// boxes as wide as the frame along its top or bottom are dropped as
// before) or the one digit or row filling the frame (fillsFrame), which
// are kept. The edge ink
// of the tall boxes dropped in the odometer tuning photos covers ≥ 0.8 of
// their height, that of digits in numbers cropped to fill the frame
// ≤ 0.14 (a ring as tall as the frame, 4 pixels from its side, about
// 0.3).
func (p *Preprocessor) spans(x0, y0, x1, y1, area, ww, wh int) bool {
	if p.inRegion || !p.cfg.ROI.Empty() {
		return false
	}
	w, h := x1-x0+1, y1-y0+1
	box, frame := image.Rect(x0, y0, x1+1, y1+1), image.Rect(0, 0, ww, wh)
	if !p.inWindow && h*100 >= wh*75 {
		if x0 <= 2 && p.runsAlong(edgeLeft, box, frame, ww, wh) || x1 >= ww-3 && p.runsAlong(edgeRight, box, frame, ww, wh) {
			return true
		}
	}
	// Reading one digit, a shape as tall as that is judged by its sides
	// only: a digit filling the frame, its top cut by the frame's edge,
	// lies along the top; a strip along the top or bottom is thin. With
	// Multi, so is a row of digits touching into one shape that tall
	// (tallRow).
	if w*100 >= ww*75 && (y0 <= 2 || y1 >= wh-3) && (h*100 < wh*75 || p.cfg.Multi && !tallRow(area, w, h)) {
		if p.cfg.Multi && (w < 2*h || w > 8*h) && !coversFrame(w, h, ww, wh) {
			return true // not shaped like a row of digits, nor filling the frame
		}
		return y0 <= 2 && p.runsAlong(edgeTop, box, frame, ww, wh) || y1 >= wh-3 && p.runsAlong(edgeBottom, box, frame, ww, wh)
	}
	return false
}

// fillsFrame reports a shape of a ww×wh working image (its box and its
// area in pixels: a component, or a cluster of a --multi row) that is a
// digit filling the frame (a camera close to one digit), or the digits of
// a number filling the frame touching into one shape: it covers at least
// 90 % of the frame both ways, which plausible calls a shadow or an edge,
// but ink covers less than fillInk of its box, runs along at most one of
// the frame's edges (a digit whose top the frame cuts runs along the top;
// a corner shadow along two) and along at most two sides of its own box
// (a dark border that vignetting leaves runs along all four, and so does
// the ink at the rim of a dark window that fills the frame; a 7 along its
// top, an L-shaped 4 along its left side and bottom).
func (p *Preprocessor) fillsFrame(box image.Rectangle, area, ww, wh int) bool {
	if !coversFrame(box.Dx(), box.Dy(), ww, wh) || float64(area) >= fillInk*float64(box.Dx()*box.Dy()) {
		return false
	}
	frame := image.Rect(0, 0, ww, wh)
	own, edges := 0, 0
	for side := range edgeSides {
		if p.runsAlong(side, box, frame, ww, wh) {
			edges++
		}
		if p.runsAlong(side, box, box, ww, wh) {
			own++
		}
	}
	return edges <= 1 && own <= 2
}

// coversFrame reports whether a w×h box covers at least 90 % of the
// ww×wh frame both ways: a shadow or an edge (plausible), unless
// fillsFrame says it is a digit or a row filling the frame.
func coversFrame(w, h, ww, wh int) bool { return w*10 >= ww*9 && h*10 >= wh*9 }

// fillInk is the most of its box that a digit's ink covers (fillsFrame).
const fillInk = 0.6

// tallRow reports whether a shape of area pixels in a w×h box, at least
// 75 % as tall and as wide as the frame and touching its top or bottom
// (spans), may be the digits of a number that fills the frame touching
// into one shape, the frame cutting their tops or feet (a camera framed
// tight on the number): its ink covers at least tallRowInk and less than
// fillInk of its box. A strip along the edge is thin, a dark band along
// it solid, and the edge of a shadow across a blank frame leaves a
// sparser shape (0.15 of its box; such rows 0.34 to 0.39).
func tallRow(area, w, h int) bool {
	a := float64(area) / float64(w*h)
	return a >= tallRowInk && a < fillInk
}

// tallRowInk is the least of its box that tallRow's shape's ink covers.
const tallRowInk = 0.2

// The frame's edges (runsAlong).
const (
	edgeLeft = iota
	edgeRight
	edgeTop
	edgeBottom
	edgeSides
)

// edgeRun is the least share of its length along which a strip's ink
// runs on the frame's edge lines (spans).
const edgeRun = 0.5

// runsAlong reports whether ink (any component) lies on the three
// outermost lines of edge side of rectangle frame (of the ww×wh working
// image: the image itself, or a box in it) along at least edgeRun of the
// length of box there.
func (p *Preprocessor) runsAlong(side int, box, frame image.Rectangle, ww, wh int) bool {
	switch side {
	case edgeLeft:
		return p.edgeInk(frame.Min.X, box.Min.Y, frame.Min.X+3, box.Max.Y, ww, wh, true) >= edgeRun*float64(box.Dy())
	case edgeRight:
		return p.edgeInk(frame.Max.X-3, box.Min.Y, frame.Max.X, box.Max.Y, ww, wh, true) >= edgeRun*float64(box.Dy())
	case edgeTop:
		return p.edgeInk(box.Min.X, frame.Min.Y, box.Max.X, frame.Min.Y+3, ww, wh, false) >= edgeRun*float64(box.Dx())
	}
	return p.edgeInk(box.Min.X, frame.Max.Y-3, box.Max.X, frame.Max.Y, ww, wh, false) >= edgeRun*float64(box.Dx())
}

// edgeInk counts the rows (byRow) or columns of the working-image block
// [x0, x1)×[y0, y1), clipped to the ww×wh image, that hold ink (any
// component) in the block.
func (p *Preprocessor) edgeInk(x0, y0, x1, y1, ww, wh int, byRow bool) float64 {
	x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, ww), min(y1, wh)
	n := 0
	if byRow {
		for y := y0; y < y1; y++ {
			if slices.ContainsFunc(p.labels[y*ww+x0:y*ww+x1], func(l int32) bool { return l != 0 }) {
				n++
			}
		}
		return float64(n)
	}
	for x := x0; x < x1; x++ {
		for y := y0; y < y1; y++ {
			if p.labels[y*ww+x] != 0 {
				n++
				break
			}
		}
	}
	return float64(n)
}

// maxClusters bounds the clusters considered per frame (noise frames
// have thousands of specks; the merging is quadratic).
const maxClusters = 96

// stacked reports whether two boxes are pieces of one digit: their
// columns overlap by half the narrower width and they are vertically
// close.
func stacked(ax0, ax1, ay0, ay1, bx0, bx1, by0, by1 int) bool {
	ov := min(ax1, bx1) - max(ax0, bx0) + 1
	gap := max(by0-ay1, ay0-by1)
	if ov*2 < min(ax1-ax0+1, bx1-bx0+1) || gap > max(ay1-ay0+1, by1-by0+1)/2 {
		return false
	}
	// Two tall shapes side by side are two digits (a slanted 1 inside
	// the box of a 7), not pieces of one.
	uh := max(ay1, by1) - min(ay0, by0) + 1
	ah, bh := ay1-ay0+1, by1-by0+1
	vov := min(ay1, by1) - max(ay0, by0) + 1
	return !(ah*10 >= uh*6 && bh*10 >= uh*6 && vov*10 >= min(ah, bh)*7)
}

// segBars: a row whose components are at least this many % solid bars
// is a seven-segment display.
var segBars = 60

// mergeGroups merges group j into group i and removes j.
func (p *Preprocessor) mergeGroups(i, j int) {
	a, b := &p.groups[i], p.groups[j]
	a.x0, a.y0 = min(a.x0, b.x0), min(a.y0, b.y0)
	a.x1, a.y1 = max(a.x1, b.x1), max(a.y1, b.y1)
	a.area += b.area
	a.inkSum += b.inkSum
	a.peak = max(a.peak, b.peak)
	a.ncomp += b.ncomp
	for id := range p.cgroup {
		switch g := int(p.cgroup[id]); {
		case g == j:
			p.cgroup[id] = int16(i)
		case g > j:
			p.cgroup[id]--
		}
	}
	p.groups = append(p.groups[:j], p.groups[j+1:]...)
}

// unite merges group b into group a (both already in the row: they share
// the cluster id of a afterwards by way of p.cgroup).
func (p *Preprocessor) unite(a *group, b group) {
	for id := range p.cgroup {
		if int(p.cgroup[id]) == b.cl {
			p.cgroup[id] = int16(a.cl)
		}
	}
	a.x0, a.y0 = min(a.x0, b.x0), min(a.y0, b.y0)
	a.x1, a.y1 = max(a.x1, b.x1), max(a.y1, b.y1)
	a.area += b.area
	a.inkSum += b.inkSum
	a.peak = max(a.peak, b.peak)
	a.ncomp += b.ncomp
}

// groupSegments groups seven-segment pieces (sorted by x0) into digits:
// a piece joins the digit on its left when the column gap is below 12 %
// of the row height and the digit stays narrower than 80 % of it.
func (p *Preprocessor) groupSegments(H int) {
	tol := max(1, H*12/100)
	out := p.groups[:0]
	for _, g := range p.groups {
		if n := len(out); n > 0 {
			d := &out[n-1]
			if g.x0 <= d.x1+tol && max(d.x1, g.x1)-d.x0+1 <= H*8/10 {
				p.unite(d, g)
				continue
			}
		}
		out = append(out, g)
	}
	p.groups = out
}

// attachFragments joins clusters lower than 40 % of the row height (a
// broken-off stroke, the dot of a split 5) to the neighbouring digit they
// overlap in columns or nearly touch, when the union stays digit-shaped.
func (p *Preprocessor) attachFragments(H int) {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(p.groups) && !changed; i++ {
			f := p.groups[i]
			if f.h()*5 >= H*2 {
				continue
			}
			best, bestGap := -1, max(1, H/10)+1
			for j, g := range p.groups {
				if j == i || g.h()*5 < H*2 {
					continue
				}
				gap := max(f.x0-g.x1, g.x0-f.x1, 0)
				nw := max(f.x1, g.x1) - min(f.x0, g.x0) + 1
				nh := max(f.y1, g.y1) - min(f.y0, g.y0) + 1
				if gap < bestGap && nw*10 <= nh*11 {
					best, bestGap = j, gap
				}
			}
			if best >= 0 {
				p.unite(&p.groups[best], f)
				p.groups = append(p.groups[:i], p.groups[i+1:]...)
				changed = true
			}
		}
	}
}

// splitWide cuts clusters wider than splitAspect % of their height
// (touching digits) into k = round(w / splitPitch·h) pieces at the minima
// of the column projection near the even split positions. With a Scorer
// segmentRow decides instead.
func (p *Preprocessor) splitWide(ww int) {
	n := len(p.groups)
	for gi := 0; gi < n; gi++ {
		g := p.groups[gi]
		if k := defaultPieces(g); k > 1 && len(p.groups) < p.cfg.MaxDigits+8 {
			pieces := p.cut(g, k, ww, p.cgs[:0])
			p.cgs = pieces
			if len(pieces) < 2 {
				continue
			}
			p.groups[gi] = pieces[0]
			p.groups = append(p.groups, pieces[1:]...)
		}
	}
	slices.SortStableFunc(p.groups, byX)
}

// defaultPieces is how many digits a cluster holds judged by its shape.
func defaultPieces(g group) int {
	w, h := g.w(), g.h()
	if w*100 <= h*splitAspect {
		return 1
	}
	return clampi(int(math.Round(float64(w)/(splitPitch*float64(h)))), 2, 6)
}

// cut appends to dst the k pieces of g cut at the minima of its column
// projection near the even split positions (fewer when it is too narrow).
func (p *Preprocessor) cut(g group, k, ww int, dst []group) []group {
	w := g.w()
	p.proj = grow(p.proj, w)
	proj := p.proj
	clear(proj)
	for y := g.y0; y <= g.y1; y++ {
		for x := g.x0; x <= g.x1; x++ {
			if l := p.labels[y*ww+x]; l != 0 && int(p.cgroup[l]) == g.cl {
				proj[x-g.x0] += int32(p.ink[y*ww+x])
			}
		}
	}
	prev := g.x0
	for j := 1; j <= k; j++ {
		cut := g.x1 + 1
		if j < k {
			e := float64(w) * float64(j) / float64(k)
			r := max(1, int(0.3*float64(w)/float64(k)))
			lo, hi := max(int(e)-r, prev-g.x0+2), min(int(e)+r, w-2)
			best := int32(math.MaxInt32)
			for c := lo; c <= hi; c++ {
				// the minimum; on ties, the one nearest e
				if v := proj[c]; v < best || v == best && abs32(float32(c)-float32(e)) < abs32(float32(cut-g.x0)-float32(e)) {
					best, cut = v, c+g.x0
				}
			}
			if best == math.MaxInt32 {
				continue
			}
		}
		piece := g
		piece.x0, piece.x1 = prev, cut-1
		piece.inkSum = g.inkSum / k
		dst = append(dst, piece)
		prev = cut
	}
	return dst
}

// Touching digits: a cluster wider than splitAspect % of its height is
// cut into pieces about splitPitch × its height wide.
var (
	splitAspect = 140
	splitPitch  = 0.75
)

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

// byX orders groups left to right.
func byX(a, b group) int { return a.x0 - b.x0 }
