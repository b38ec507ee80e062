package preprocess

import (
	"cmp"
	"fmt"
	"image"
	"math"
	"slices"
)

// Recognition-based segmentation of a row of handwritten digits (Multi
// with a Scorer): touching digits, digits broken into pieces side by side
// and digits of unequal size are all handled by one search.
//
//  1. Over-segment: each cluster of the row is cut by candidate cut
//     paths (cutPaths): top-to-bottom paths of least ink, started at the
//     minima of its column projection and at evenly spaced columns, so
//     they follow the gap between two slanted or overlapping digits
//     (moving up to segPathStep columns a row, so also under a bar).
//     The clusters and cut paths make elementary pieces, left to right.
//  2. Every run of 1..segMaxPieces adjacent pieces that could be one
//     digit (not wider than segMaxW row heights; judgeMaxW with a
//     Judge) is rendered like a single digit and all of them are scored
//     by the classifier in one batch (and by the Judge, when set).
//  3. A dynamic program picks the partition of the pieces into digits
//     (small pieces may be left out as specks) with the best total
//     score: per digit, log p(best digit) plus segBonus (plus
//     judgeWeight·log p(one whole digit) with a Judge), less the ink
//     its cuts cross and a penalty for a box wider than tall; leaving a
//     piece out costs more the more ink it holds. With the number's
//     length known (Config.Digits) it counts the digits and takes the
//     best partition of that many (partition, lengthMargin).
//  4. With a Judge, a candidate of one cluster at least pairMinW row
//     heights wide may also be read whole as the Judge's most probable
//     pair of touching digits (p ≥ pairMin), scoring log p(pair) plus
//     pairBonus and its cuts and shape as two digits: two digits that no
//     cut path separates. A row read as nothing but one pair is read
//     again without pairs (a letter or a scribble is no number).

// Segmentation parameters (chosen on the tuning split of the number
// photos, camera/internal/cambench numbers -split tune).
var (
	segMaxPieces = 4
	segMaxW      = 1.3  // a digit is at most this many row heights wide
	segCutFrom   = 0.7  // clusters at least this many row heights wide get cut paths
	segMinH      = 0.4  // a digit is at least this many row heights tall
	segBonus     = 0.0  // score per digit read (against reading too few)
	segCutW      = 0.1  // per crossed stroke (ink / (0.1·row height)) of a cut
	segAspectW   = 2.0  // per unit of width/height above segAspect
	segAspect    = 1.0  // widest digit without penalty
	segSkip      = 0.5  // cost of leaving out a small piece (a speck)
	segSkipInk   = 0.3  // and this per 0.1·H² pixels of full ink it holds (H: row height)
	segFloor     = 1e-4 // lowest probability (log floor)
	segJoinW     = 0.3  // per extra cluster at least segJoinH row heights tall in one digit
	segJoinH     = 0.45
	segCutGap    = float32(0.18) // cut paths of a cluster are at least this many row heights apart
	segPathStep  = 3             // a cut path moves at most this many columns per row
	segPathMove  = 0.06          // path cost per column moved (ink crossed: 1 per pixel)
	segCross     = 0.2           // per pixel of a stroke a path steps across between rows
	segMinInk    = 0.02          // a cut leaves at least this many h² pixels of full ink on each side
	judgeMaxW    = 2.2           // with a Judge: the widest candidate (two touching digits)
	judgeWeight  = 1.0           // with a Judge: weight of log p(one whole digit)
)

// Reading a pair of touching digits whole (with a Judge; chosen on the
// tuning split: bonus −0.5 / −1 / −1.5 read 894 / 896 / 893 of 1,000
// handwritten numbers before the width rule, least p 0.3 / 0.5 / 0.7
// read 896 / 900 / 898; the narrowest pair 0.65 / 0.8 row heights wide
// reads 908 / 898 with the committed judge, which has seen display
// digits: with one that had not, 0.8 kept seven-segment rows, whose
// digits it read as pairs, from falling 290 → 281 at 0.65).
var (
	pairBonus = -1.0 // added to log p(pair) of a pair read whole
	pairMin   = 0.5  // the least p(pair) of a pair read whole
	pairMinW  = 0.65 // the narrowest pair read whole, in row heights
)

// With the number's length known (Config.Digits), the best reading of
// that many digits is kept when it scores at most lengthMargin below the
// best reading of any length: a row that only reads as N digits by
// cutting a digit in two is no N-digit number (a lone 7 cut into "?7" for
// N = 2). Chosen on the tuning split: 6 / 4 / 2 / 1 keep 12 / 11 / 7 / 7
// of the 12 numbers that knowing the length reads right, and answer "no
// digit" instead of a misread number 3 / 6 / 11 / 14 times.
const lengthMargin = 6

// Limits of the search (bounded work per frame).
const (
	segMaxCuts      = 10 // cut paths per cluster
	segMaxPiecesRow = 48
)

// cutPath is a cut through one cluster from its top row to its bottom
// row: x = p.pathX[off+y−y0] is the first column right of the cut in row
// y (rows outside repeat the ends).
type cutPath struct {
	y0, off, n int
	cost       float32 // ink crossed (0..1 per pixel)
	mean       float32 // mean column
}

func (p *Preprocessor) pathAt(id, y int) int {
	c := p.paths[id]
	return int(p.pathX[c.off+clampi(y-c.y0, 0, c.n-1)])
}

// selItem: the pixels of cluster cl right of cut path lo and left of cut
// path hi (−1: no bound) belong to a segment.
type selItem struct{ cl, lo, hi int }

// piece is an elementary piece of a row: the part of a cluster between
// two of its cut paths.
type piece struct {
	cl, lo, hi     int
	x0, y0, x1, y1 int // tight box
	ink            int
	xc             float32 // centre of ink (ordering)
}

// segCand is a run of pieces [i, j] scored as one digit and, with a
// Judge, as a pair of touching digits read whole.
type segCand struct {
	i, j  int
	slot  int // its input in the scored batch, −1: not rendered
	score float32
	// pair: it may be read whole as the pair of digits first, second
	// (probability pairP), scoring pairScore.
	pair          bool
	first, second int8
	pairP         float32
	pairScore     float32
}

// segmentRow replaces the row's clusters in p.groups by the digits of
// the best segmentation (see the comment above).
func (p *Preprocessor) segmentRow(fr *frameInfo) error {
	if len(p.groups) == 0 {
		return nil
	}
	H := 0
	for _, g := range p.groups {
		H = max(H, g.h())
	}
	p.paths, p.pathX, p.pieces, p.selItems = p.paths[:0], p.pathX[:0], p.pieces[:0], p.selItems[:0]
	p.clH = grow(p.clH, maxClusters)
	for _, g := range p.groups {
		p.clH[g.cl] = g.h()
	}
	for _, g := range p.groups {
		first := len(p.paths)
		if float64(g.w()) >= segCutFrom*float64(H) {
			p.cutPaths(g, H, fr)
		}
		lo := -1
		for id := first; id <= len(p.paths); id++ {
			hi := id
			if id == len(p.paths) {
				hi = -1
			}
			if pc, ok := p.pieceOf(g, lo, hi, fr); ok && len(p.pieces) < segMaxPiecesRow {
				p.pieces = append(p.pieces, pc)
				lo = hi
			}
		}
	}
	pieces := p.pieces
	slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(a.xc, b.xc) })
	// Candidates.
	oN := p.cfg.Width * p.cfg.Height
	p.cands = p.cands[:0]
	maxW := p.maxW()
	for i := range pieces {
		x0, y0, x1, y1 := pieces[i].x0, pieces[i].y0, pieces[i].x1, pieces[i].y1
		for j := i; j < len(pieces) && j < i+segMaxPieces; j++ {
			pj := pieces[j]
			x0, y0, x1, y1 = min(x0, pj.x0), min(y0, pj.y0), max(x1, pj.x1), max(y1, pj.y1)
			w, h := x1-x0+1, y1-y0+1
			if float64(w) > maxW*float64(H) {
				break
			}
			if float64(h) < segMinH*float64(H) || w*100 < h*8 {
				continue
			}
			p.cands = append(p.cands, segCand{i: i, j: j})
		}
	}
	n := len(p.cands)
	p.cand = grow(p.cand, n*oN)
	p.candC = grow(p.candC, n)
	rendered := 0
	for ci := range p.cands {
		c := &p.cands[ci]
		g := p.segGroup(c.i, c.j)
		ink := p.candInk(oN)
		p.sampled = true
		g2, ok := p.render(g, fr, ink)
		p.sampled = false
		c.slot, c.score, c.pair = -1, float32(math.Inf(-1)), false
		if ok {
			p.normalize(ink, p.cand[rendered*oN:(rendered+1)*oN])
			if p.candFunc != nil {
				f := fr.f
				p.candFunc(image.Rect(g2.x0*f, g2.y0*f, (g2.x1+1)*f, (g2.y1+1)*f), ink)
			}
			c.slot, c.score = rendered, p.segPrior(c.i, c.j, g2, H, 1)
			if p.judge != nil && g.nsel == 1 && float64(g2.w()) >= pairMinW*float64(H) {
				// a pair read whole is two digits that touch: one cluster
				c.pair, c.pairScore = true, p.segPrior(c.i, c.j, g2, H, 2)
			}
			rendered++
		}
		p.selItems = p.selItems[:g.sel] // the winners' items are rebuilt below
	}
	if rendered > 0 {
		if err := p.scorer(p.cand[:rendered*oN], rendered, p.candC[:rendered]); err != nil {
			return fmt.Errorf("preprocess: scoring segment candidates: %w", err)
		}
	}
	if p.judge != nil && rendered > 0 {
		p.candJ = grow(p.candJ, rendered)
		if err := p.judge(p.cand[:rendered*oN], rendered, p.candJ[:rendered]); err != nil {
			return fmt.Errorf("preprocess: judging segment candidates: %w", err)
		}
	}
	for ci := range p.cands {
		if c := &p.cands[ci]; c.slot >= 0 {
			c.score += float32(math.Log(max(float64(p.candC[c.slot]), segFloor))) + float32(segBonus)
			if p.judge != nil {
				js := p.candJ[c.slot]
				c.score += float32(judgeWeight * math.Log(max(float64(js.One), segFloor)))
				c.pair = c.pair && float64(js.Pair) >= pairMin && js.First >= 0 && js.Second >= 0
				if c.pair {
					c.first, c.second, c.pairP = js.First, js.Second, js.Pair
					c.pairScore += float32(math.Log(float64(js.Pair)) + pairBonus)
				}
			}
		}
	}
	p.partition(H)
	return nil
}

// partition leaves the digits of the best partition in p.groups: of
// Config.Digits digits when that is set and some partition of as many
// scores within lengthMargin of the best.
// A row read as nothing but one pair is read again without pairs (unless
// its length is known): a letter or a scribble can read as a pair, and a
// number of two digits written apart does not need one.
func (p *Preprocessor) partition(H int) {
	if n := p.cfg.Digits; n > 0 {
		best, _ := p.bestPartition(H, true, 0)
		if s, ok := p.bestPartition(H, true, n); ok && s >= best-lengthMargin {
			return
		}
	}
	p.bestPartition(H, true, 0)
	if len(p.groups) == 2 && p.groups[0].half != 0 && p.cfg.Digits == 0 {
		p.bestPartition(H, false, 0)
	}
}

// pieceOf returns the part of cluster g between cut paths lo and hi, false
// when it holds no pixel.
func (p *Preprocessor) pieceOf(g group, lo, hi int, fr *frameInfo) (piece, bool) {
	pc := piece{cl: g.cl, lo: lo, hi: hi, x0: math.MaxInt32, y0: math.MaxInt32, x1: -1, y1: -1}
	sel := group{x0: g.x0, y0: g.y0, x1: g.x1, y1: g.y1, sel: len(p.selItems), nsel: 1}
	p.selItems = append(p.selItems, selItem{g.cl, lo, hi})
	var sx float64
	for y := g.y0; y <= g.y1; y++ {
		for x := g.x0; x <= g.x1; x++ {
			i := y*fr.ww + x
			if l := p.labels[i]; l != 0 && p.owns(&sel, x, y, l) {
				pc.x0, pc.y0, pc.x1, pc.y1 = min(pc.x0, x), min(pc.y0, y), max(pc.x1, x), max(pc.y1, y)
				pc.ink += int(p.ink[i])
				sx += float64(x) * float64(p.ink[i])
			}
		}
	}
	p.selItems = p.selItems[:sel.sel]
	if pc.x1 < 0 || pc.ink == 0 {
		return pc, false
	}
	pc.xc = float32(sx / float64(pc.ink))
	return pc, true
}

// segGroup appends the selection of pieces [i, j] to p.selItems (one
// item per cluster: its first piece's left cut to its last piece's right
// cut) and returns the group that owns it.
func (p *Preprocessor) segGroup(i, j int) group {
	g := group{x0: math.MaxInt32, y0: math.MaxInt32, x1: -1, y1: -1, sel: len(p.selItems), cl: -1}
	for _, pc := range p.pieces[i : j+1] {
		g.x0, g.y0, g.x1, g.y1 = min(g.x0, pc.x0), min(g.y0, pc.y0), max(g.x1, pc.x1), max(g.y1, pc.y1)
		g.inkSum += pc.ink
		found := false
		for k := g.sel; k < len(p.selItems); k++ {
			if it := &p.selItems[k]; it.cl == pc.cl {
				// pieces of one cluster come left to right
				if it.lo >= 0 && (pc.lo < 0 || p.paths[pc.lo].mean < p.paths[it.lo].mean) {
					it.lo = pc.lo
				}
				if it.hi >= 0 && (pc.hi < 0 || p.paths[pc.hi].mean > p.paths[it.hi].mean) {
					it.hi = pc.hi
				}
				found = true
				break
			}
		}
		if !found {
			p.selItems = append(p.selItems, selItem{pc.cl, pc.lo, pc.hi})
		}
	}
	g.nsel = len(p.selItems) - g.sel
	g.area, g.peak, g.ncomp = 1, 255, g.nsel
	return g
}

// segPrior is the part of a candidate's score that is not the
// classifier's: the cuts it crosses and its shape (g: its tight box),
// read as that many digits (1, or 2 for a pair read whole).
func (p *Preprocessor) segPrior(i, j int, g group, H, digits int) float32 {
	var s float64
	unit := max(1, 0.1*float64(H))
	first, last := p.pieces[i], p.pieces[j]
	if first.lo >= 0 {
		s -= segCutW * 0.5 * float64(p.paths[first.lo].cost) / unit
	}
	if last.hi >= 0 {
		s -= segCutW * 0.5 * float64(p.paths[last.hi].cost) / unit
	}
	if a := float64(g.w()) / float64(H*digits); a > segAspect {
		s -= segAspectW * (a - segAspect) * float64(digits)
	}
	// Two digit-tall clusters side by side are two digits more often
	// than the broken halves of one.
	tall := 0
	for _, it := range p.selItems[g.sel : g.sel+g.nsel] {
		if float64(p.clH[it.cl]) >= segJoinH*float64(H) {
			tall++
		}
	}
	if tall > 1 {
		s -= segJoinW * float64(tall-1)
	}
	return float32(s)
}

// bestPartition runs the dynamic program over p.cands and leaves the
// digits of the best partition of p.pieces in p.groups: of exactly n
// digits (a pair read whole counts two) when n > 0, of any number else.
// It returns the partition's score, or false, leaving no group, when no
// partition fits.
func (p *Preprocessor) bestPartition(H int, pairs bool, n int) (float32, bool) {
	m := len(p.pieces)
	// State (k, c): pieces [0, k) read as c digits; with n = 0 the count
	// is not kept (c = 0 throughout).
	nc := n + 1
	st := func(k, c int) int { return k*nc + c }
	p.dpScore = grow(p.dpScore, (m+1)*nc)
	p.dpFrom = grow(p.dpFrom, (m+1)*nc)
	p.dpPair = grow(p.dpPair, (m+1)*nc)
	neg := float32(math.Inf(-1))
	for k := range p.dpScore[:(m+1)*nc] {
		p.dpScore[k], p.dpFrom[k], p.dpPair[k] = neg, -2, false
	}
	p.dpScore[0] = 0
	// next is the state after c digits and d more (false: over n).
	next := func(k, c, d int) (int, bool) {
		if n == 0 {
			return st(k, 0), true
		}
		return st(k, c+d), c+d <= n
	}
	set := func(to int, s float32, from int32, pair bool) {
		if s > p.dpScore[to] {
			p.dpScore[to], p.dpFrom[to], p.dpPair[to] = s, from, pair
		}
	}
	// candidates sorted by their first piece already (built in order)
	for k := 0; k < m; k++ {
		for c := 0; c < nc; c++ {
			at := p.dpScore[st(k, c)]
			if at == neg {
				continue
			}
			if pc := p.pieces[k]; float64(pc.y1-pc.y0+1) < segMinH*float64(H) {
				// a speck is cheap to leave out, a piece of a digit is not
				cost := segSkip + segSkipInk*float64(pc.ink)/(25.5*float64(H*H))
				set(st(k+1, c), at-float32(cost), -1, false)
			}
			for ci, cd := range p.cands {
				if cd.i != k {
					continue
				}
				if to, ok := next(cd.j+1, c, 1); ok && cd.score != neg {
					set(to, at+cd.score, int32(ci), false)
				}
				if to, ok := next(cd.j+1, c, 2); ok && pairs && cd.pair {
					set(to, at+cd.pairScore, int32(ci), true)
				}
			}
		}
	}
	p.groups = p.groups[:0]
	p.selItems = p.selItems[:0]
	if p.dpScore[st(m, n)] == neg {
		return 0, false
	}
	for k, c := m, n; k > 0; {
		s := st(k, c)
		from := p.dpFrom[s]
		if from == -1 {
			k--
			continue
		}
		cd := p.cands[from]
		g := p.segGroup(cd.i, cd.j)
		if p.dpPair[s] {
			// right half first: the groups are reversed below
			g.pairP = cd.pairP
			r, l := g, g
			r.half, r.pairD = 2, cd.second
			l.half, l.pairD = 1, cd.first
			p.groups = append(p.groups, r, l)
		} else {
			p.groups = append(p.groups, g)
		}
		if n > 0 {
			c -= 1 + int(b2u(p.dpPair[s]))
		}
		k = cd.i
	}
	for a, b := 0, len(p.groups)-1; a < b; a, b = a+1, b-1 {
		p.groups[a], p.groups[b] = p.groups[b], p.groups[a]
	}
	if len(p.groups) > p.cfg.MaxDigits {
		slices.SortStableFunc(p.groups, func(a, b group) int { return b.inkSum - a.inkSum })
		p.groups = p.groups[:p.cfg.MaxDigits]
		slices.SortStableFunc(p.groups, byX)
	}
	return p.dpScore[st(m, n)], true
}

// cutPaths appends to p.paths the candidate cut paths of cluster g
// (sorted left to right, not crossing): least-ink paths from the top to
// the bottom row, each within a band around its start column.
func (p *Preprocessor) cutPaths(g group, H int, fr *frameInfo) {
	ww := fr.ww
	w := g.w()
	// Column projection of the cluster's ink.
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
	// Start columns: local minima (deepest first) and even splits.
	p.starts = p.starts[:0]
	lo, hi := max(2, w*12/100), min(w-3, w-w*12/100)
	for c := lo; c <= hi; c++ {
		if proj[c] <= proj[c-1] && proj[c] <= proj[c+1] && (proj[c] < proj[c-1] || proj[c] < proj[c+1]) {
			p.starts = append(p.starts, c)
		}
	}
	slices.SortStableFunc(p.starts, func(a, b int) int { return cmp.Compare(proj[a], proj[b]) })
	if len(p.starts) > segMaxCuts/2 {
		p.starts = p.starts[:segMaxCuts/2]
	}
	kmax := clampi(int(math.Round(float64(w)/(0.45*float64(H)))), 2, 6)
	for k := 2; k <= kmax; k++ {
		for j := 1; j < k; j++ {
			p.starts = append(p.starts, w*j/k)
		}
	}
	r := max(2, H*15/100)
	first := len(p.paths)
	maxCuts := min(segMaxCuts, max(1, int(float32(w)/(segCutGap*float32(H)))))
	for _, c := range p.starts {
		if c < 1 || c >= w {
			continue
		}
		p.leastInkPath(g, c+g.x0, r, fr)
		// drop a path near an edge or an earlier one of this cluster
		last := p.paths[len(p.paths)-1]
		gap := segCutGap * float32(H)
		drop := !p.splitsTall(g, len(p.paths)-1, fr)
		for id := first; id < len(p.paths)-1 && !drop; id++ {
			drop = p.nearPath(id, len(p.paths)-1, gap)
		}
		if drop {
			p.pathX = p.pathX[:last.off]
			p.paths = p.paths[:len(p.paths)-1]
		}
		if len(p.paths)-first >= maxCuts {
			break
		}
	}
	own := p.paths[first:]
	slices.SortStableFunc(own, func(a, b cutPath) int { return cmp.Compare(a.mean, b.mean) })
	// Not crossing: each path at least one column right of the previous.
	for k := 1; k < len(own); k++ {
		a, b := own[k-1], own[k]
		for i := 0; i < b.n; i++ {
			if v := p.pathX[a.off+i] + 1; p.pathX[b.off+i] < v {
				p.pathX[b.off+i] = v
			}
		}
	}
}

// splitsTall reports whether cut path id leaves pixels of g's cluster
// on both sides that span at least segMinH of g's height and hold at
// least segMinInk·h² pixels of full ink (h: g's height; a cut near an
// edge that would only shave off a sliver does not).
func (p *Preprocessor) splitsTall(g group, id int, fr *frameInfo) bool {
	ly0, ly1, ry0, ry1 := g.y1+1, -1, g.y1+1, -1
	var li, ri int
	for y := g.y0; y <= g.y1; y++ {
		c := p.pathAt(id, y)
		for x := g.x0; x <= g.x1; x++ {
			if l := p.labels[y*fr.ww+x]; l != 0 && int(p.cgroup[l]) == g.cl {
				if x < c {
					ly0, ly1 = min(ly0, y), max(ly1, y)
					li += int(p.ink[y*fr.ww+x])
				} else {
					ry0, ry1 = min(ry0, y), max(ry1, y)
					ri += int(p.ink[y*fr.ww+x])
				}
			}
		}
	}
	minH := int(segMinH * float64(g.h()))
	minInk := segMinInk * 255 * float64(g.h()*g.h())
	return ly1-ly0+1 >= minH && ry1-ry0+1 >= minH && float64(min(li, ri)) >= minInk
}

// nearPath reports two paths of one cluster less than d columns apart
// on average.
func (p *Preprocessor) nearPath(a, b int, d float32) bool {
	pa, pb := p.paths[a], p.paths[b]
	var sum int32
	for i := 0; i < pa.n; i++ {
		v := p.pathX[pa.off+i] - p.pathX[pb.off+i]
		if v < 0 {
			v = -v
		}
		sum += v
	}
	return float32(sum) < d*float32(pa.n)
}

// leastInkPath appends the path through g from its top to its bottom row
// that crosses the least ink of g's cluster, moving at most segPathStep
// columns per row (at segPathMove per column: the gap between two
// touching digits may run at a shallow slant, under a 7's bar or a 4's
// arm), within r columns of column c.
func (p *Preprocessor) leastInkPath(g group, c, r int, fr *frameInfo) {
	ww := fr.ww
	x0, x1 := max(g.x0+1, c-r), min(g.x1, c+r)
	bw, rows := x1-x0+1, g.h()
	p.pathCost = grow(p.pathCost, 3*bw+1)
	p.pathFrom = grow(p.pathFrom, bw*rows)
	prev, cur, sum := p.pathCost[:bw], p.pathCost[bw:2*bw], p.pathCost[2*bw:3*bw+1]
	ink := func(x, y int) float32 {
		i := y*ww + x
		if l := p.labels[i]; l != 0 && int(p.cgroup[l]) == g.cl {
			return float32(p.ink[i]) / 255
		}
		return 0
	}
	for i := range prev {
		prev[i] = ink(x0+i, g.y0) + 0.01*float32(abs(x0+i-c))
	}
	for y := 1; y < rows; y++ {
		from := p.pathFrom[y*bw : (y+1)*bw]
		p.rowInkSums(sum, x0, g.y0+y, ink)
		for i := range cur {
			best, bi := prev[i], int8(0)
			for d := 1; d <= segPathStep; d++ {
				// a move of d columns crosses the ink between its ends
				// that continues into the row above (segCross)
				mc := float32(segPathMove) * float32(d)
				if i-d >= 0 {
					if v := prev[i-d] + mc + sum[i] - sum[i-d+1]; v < best {
						best, bi = v, int8(-d)
					}
				}
				if i+d < bw {
					if v := prev[i+d] + mc + sum[i+d] - sum[i+1]; v < best {
						best, bi = v, int8(d)
					}
				}
			}
			cur[i] = best + ink(x0+i, g.y0+y) + 0.01*float32(abs(x0+i-c))
			from[i] = bi
		}
		prev, cur = cur, prev
	}
	bi := 0
	for i := range prev {
		if prev[i] < prev[bi] {
			bi = i
		}
	}
	off := len(p.pathX)
	p.pathX = slices.Grow(p.pathX, rows)[:off+rows]
	var cost, xs float32
	for y := rows - 1; y >= 0; y-- {
		p.pathX[off+y] = int32(x0 + bi)
		cost += ink(x0+bi, g.y0+y)
		xs += float32(x0 + bi)
		if y > 0 {
			d := int(p.pathFrom[y*bw+bi])
			for k := min(bi, bi+d) + 1; k < max(bi, bi+d); k++ {
				cost += float32(segCross) * min(ink(x0+k, g.y0+y), ink(x0+k, g.y0+y-1))
			}
			bi += d
		}
	}
	p.paths = append(p.paths, cutPath{y0: g.y0, off: off, n: rows, cost: cost, mean: xs / float32(rows)})
}

// rowInkSums sets sum[k] to the ink of row y in columns x0 … x0+k−1
// that continues into row y−1 (the smaller of the two; len(sum) − 1
// columns).
func (p *Preprocessor) rowInkSums(sum []float32, x0, y int, ink func(x, y int) float32) {
	sum[0] = 0
	for k := 1; k < len(sum); k++ {
		sum[k] = sum[k-1] + float32(segCross)*min(ink(x0+k-1, y), ink(x0+k-1, y-1))
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
