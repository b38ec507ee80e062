package preprocess

import (
	"math"
	"slices"
)

// Seven-segment decoding (issue 11). A row that selectRow judged to be a
// seven-segment display (sevenSegRow: mostly solid bars, lying and
// standing) is read from the segments themselves, not only by the model
// (MNIST never shows boxy display digits): every digit cell is decoded
// from which of its seven segment zones hold ink. Nothing here runs for
// any other row, so a handwritten digit is never read this way.
//
// The cell is read from its full-resolution ink crop (render's p.crop,
// before thickening; longer side 40–80 pixels):
//
//  1. the stroke thickness is the median length of the horizontal ink runs
//     (most rows of a digit cross standing segments only);
//  2. the italic slant is the shear that lines up the centres of the
//     short runs (the standing segments) best, searched in [−0.15, 0.35];
//  3. in the sheared (upright) frame, the ink box of the cell, less a
//     trailing speck (a decimal point or colon dots: a block of columns
//     separated by an empty column, narrow, with no vertical run of ink
//     longer than a fifth of the row), is the digit box;
//  4. a box narrower than 30 % of the row height is a "1" when ink covers
//     its upper and lower halves; a box lower than 60 % of the row, or a
//     narrow one that is not a "1", is a speck (SegDigit.Digit −1);
//  5. otherwise each segment zone scores the fraction of its lines that
//     hold ink: a, g, d count the columns of the middle 40 % of the width
//     with ink in the top, middle and bottom band; f, b, e, c count the
//     rows of the upper and lower halves with ink in the left or right
//     third;
//  6. the digit is the segment pattern nearest the scores (L1 distance;
//     6 and 9 with or without their tail, 7 with or without f), and the
//     confidence 0.5 + 0.5·min(1, d₂ − d₁) where d₁, d₂ are the distances
//     of the best and of the best other digit: 1 when every zone is
//     clearly lit or dark, 0.5 when two digits fit equally.

// SegDigit is the seven-segment reading of a digit cell.
type SegDigit struct {
	// Valid: the row is a seven-segment display and the cell was decoded;
	// false for every other row and for single digits.
	Valid bool
	// Digit is 0..9, or −1 for a speck that is no digit (a colon, a
	// decimal point standing alone).
	Digit int8
	// Segments are the zones read as lit, bits a (top), b (upper right),
	// c (lower right), d (bottom), e (lower left), f (upper left), g
	// (middle) from bit 0.
	Segments uint8
	// Confidence is 0.5 + 0.5·min(1, margin): 1 when the nearest digit's
	// pattern fits clearly better than any other.
	Confidence float32
	// fit is the fraction of the cell's ink inside the segment bands
	// (the box's border and middle bar, 1.5 strokes wide); clear: the
	// cell looks like a display digit (segDisplayCell).
	fit    float32
	bend   float32 // segBend
	clear  bool
	aspect float32 // upright width / height of the digit box
}

// Segment bits of SegDigit.Segments.
const (
	SegA uint8 = 1 << iota
	SegB
	SegC
	SegD
	SegE
	SegF
	SegG
)

// segPatterns are the lit segments of each digit, with common variants
// (6 and 9 with or without their tail, 7 with the upper left segment).
var segPatterns = [...]struct {
	digit int8
	mask  uint8
}{
	{0, SegA | SegB | SegC | SegD | SegE | SegF},
	{1, SegB | SegC},
	{2, SegA | SegB | SegG | SegE | SegD},
	{3, SegA | SegB | SegG | SegC | SegD},
	{4, SegF | SegG | SegB | SegC},
	{5, SegA | SegF | SegG | SegC | SegD},
	{6, SegA | SegF | SegG | SegE | SegD | SegC},
	{6, SegF | SegG | SegE | SegD | SegC},
	{7, SegA | SegB | SegC},
	{7, SegF | SegA | SegB | SegC},
	{8, SegA | SegB | SegC | SegD | SegE | SegF | SegG},
	{9, SegA | SegB | SegC | SegD | SegF | SegG},
	{9, SegA | SegB | SegC | SegF | SegG},
}

// Zone bands in the upright digit box (fractions of its width u and
// height v).
const (
	segMidU0, segMidU1   = 0.3, 0.7   // columns sampled for a, g, d
	segTopV, segBotV     = 0.22, 0.78 // a above, d below
	segMidV0, segMidV1   = 0.38, 0.62 // g
	segSideU             = 0.35       // f, e left of it; b, c right of 1 − it
	segUpV0, segUpV1     = 0.18, 0.34 // rows sampled for f, b
	segLoV0, segLoV1     = 0.66, 0.82 // rows sampled for e, c
	segOneW              = 0.3        // a cell narrower than this × row height: a "1" or a speck
	segLowH              = 0.6        // a cell lower than this × row height: a speck
	segSpeckRun          = 0.2        // a speck block has no vertical ink run above this × row height
	segBendV0, segBendV1 = 0.12, 0.42 // rows of the upper half whose outer edges segBend measures (lower: mirrored)
)

// A cell is read as a clear display digit (segDisplayRow) when its
// pattern's confidence is at least segClearConf, at least segClearFit of
// its ink lies in the segment bands, and every zone is lit or dark in at
// least segClearZone of its lines.
var (
	segClearConf float32 = 0.95
	segClearFit  float32 = 0.99
	segClearZone float32 = 0.9
	segClearBend float32 = 0.2
)

// segRowHeight is the row height (working pixels) of a row of digits:
// the tallest digit cell; in a region (ProcessRegion) the height of its
// digit, as a region holds one cell of its display; 0 when reading a
// single digit.
func (p *Preprocessor) segRowHeight() int {
	h := 0
	p.segFail = false
	if p.cfg.Multi || p.inRegion {
		for _, g := range p.groups {
			h = max(h, g.h())
		}
	}
	return h
}

// readSegments decodes the dw×dh ink crop of a cell of a row or of a
// region's digit (cellH: working rows of the crop) into p.seg; p.seg is
// left zero for single digits and segmentation candidates. Whether the
// reading is kept is decided for the whole row (segDisplayRow), or for
// all the regions of a frame by the caller (DisplayRow).
func (p *Preprocessor) readSegments(dw, dh, cellH int) {
	p.seg = SegDigit{}
	if p.segH <= 0 || p.segFail || p.sampled || cellH <= 0 || dw < 2 || dh < 2 {
		return
	}
	rowH := float32(p.segH) * float32(dh) / float32(cellH) // crop pixels
	p.seg = decodeSegments(p.crop[:dw*dh], dw, dh, rowH, &p.segBuf)
	// An unclear digit cell fails the row (segDisplayRow): the other
	// cells need not be read.
	p.segFail = p.seg.Digit >= 0 && !p.seg.clear
}

// segDisplayRow keeps the segment readings of the row's digits when the
// row is a seven-segment display and clears them otherwise. A row is a
// display when it has at least segRowMin digit cells, every one of them
// a clear display digit (straight strokes in the segment bands, every
// zone plainly lit or dark, one digit's pattern) of one font (segUniform);
// specks (a colon, a decimal point alone) may stand between them. This
// holds also for rows selectRow grouped as seven-segment bars
// (p.sevenSeg): handwriting fails it, as curved and slanted strokes leave
// ink between the bands and zones half lit.
func (p *Preprocessor) segDisplayRow(ds []Digit) {
	if p.inRegion {
		return // one cell: the regions together are the row (DisplayRow)
	}
	DisplayRow(ds)
}

// DisplayRow keeps the segment readings of ds, the cells of one row (the
// digits of a frame's --rois regions, left to right), when together they
// are a seven-segment display, by the rules of segDisplayRow, and clears
// them otherwise. It reports whether they were kept.
func DisplayRow(ds []Digit) bool {
	if segUniform(ds) {
		return true
	}
	for i := range ds {
		ds[i].Seg = SegDigit{}
	}
	return false
}

// segUniform reports whether the cells ds are clear display digits of
// one font: at least segRowMin digit cells besides specks, every one at least segRowHeightPct % of the tallest;
// the cells lit on all four sides (a, d, and f or e, and b or c) of one
// height and one upright aspect within segRowSpreadPct %.
func segUniform(ds []Digit) bool {
	maxH, n := 0, 0
	for _, d := range ds {
		maxH = max(maxH, d.Box.Dy())
	}
	for _, d := range ds {
		switch {
		case d.Seg.Valid && d.Seg.Digit < 0 && d.Box.Dy()*100 <= maxH*segSpeckPct:
			continue // a speck
		case !d.Seg.Valid || !d.Seg.clear:
			return false
		}
		n++
	}
	if n < segRowMin || len(ds)-n > 1 {
		return false // at most one speck (a colon) among the digits
	}
	bar := false
	for _, d := range ds {
		bar = bar || d.Seg.Digit >= 0 && d.Seg.Segments&SegG != 0
	}
	if !bar {
		return false // only 0, 1 and 7: straight strokes a hand may draw as well
	}
	hLo, hHi := math.MaxInt32, 0
	aLo, aHi := float32(math.MaxFloat32), float32(0)
	for _, d := range ds {
		h, m := d.Box.Dy(), d.Seg.Segments
		if d.Seg.Digit < 0 {
			continue
		}
		if h*100 < maxH*segRowHeightPct {
			return false
		}
		if m&(SegA|SegD) == SegA|SegD && m&(SegE|SegF) != 0 && m&(SegB|SegC) != 0 {
			hLo, hHi = min(hLo, h), max(hHi, h)
			aLo, aHi = min(aLo, d.Seg.aspect), max(aHi, d.Seg.aspect)
		}
	}
	return hHi == 0 || (hHi-hLo)*100 <= hHi*segRowSpreadPct && (aHi-aLo)*100 <= aHi*segRowSpreadPct
}

// A row found by its cells (segDisplayRow) has at least segRowMin digits,
// each at least segRowHeightPct % of the tallest, heights and widths
// within segRowSpreadPct %.
const (
	segRowMin       = 3
	segRowHeightPct = 65
	segRowSpreadPct = 15
	segSpeckPct     = 55 // a speck between the digits is at most this % of the tallest
)

// segBuffers are decodeSegments' reusable buffers.
type segBuffers struct {
	runX  []float32 // centres of the short runs
	runY  []int32
	lens  []int32 // run length histogram
	bins  []int32 // slant search histogram
	cols  []uint8 // per upright column: ink bits (a, g, d zones), any ink
	rows  []uint8 // per row: ink bits (f, b, e, c zones)
	colLo []int32 // per upright column: first and last ink row
	colHi []int32
	edgeL []int32 // per row: leftmost ink column of the left third
	edgeR []int32 // per row: rightmost ink column of the right third
	edges []int32 // the outer edge of one standing segment
}

// decodeSegments reads one seven-segment digit from ink (dw×dh, 0 paper
// … 1 ink); rowH is the row height in its pixels.
func decodeSegments(ink []float32, dw, dh int, rowH float32, b *segBuffers) SegDigit {
	const on = 0.5
	thick, nshort := segRuns(ink, dw, dh, b)
	if thick == 0 {
		return SegDigit{Valid: true, Digit: -1}
	}
	// Two estimates of the slant; the one whose reading is clearer wins
	// (the second is only searched when the first reading is unclear).
	s1 := segSlant(b, nshort, dw, dh, thick)
	sd := decodeSlanted(ink, dw, dh, rowH, thick, s1, b)
	if sd.clear {
		return sd
	}
	s2 := segShear(b, nshort, dw, dh, thick)
	if abs32(s2-s1) < 0.01 {
		return sd
	}
	if sd2 := decodeSlanted(ink, dw, dh, rowH, thick, s2, b); segBetter(sd2, sd) {
		return sd2
	}
	return sd
}

// segBetter reports whether reading a is better than b: clear before
// unclear, then the higher confidence, then the straighter edges.
func segBetter(a, b SegDigit) bool {
	switch {
	case a.clear != b.clear:
		return a.clear
	case a.Confidence != b.Confidence:
		return a.Confidence > b.Confidence
	}
	return a.bend < b.bend
}

// decodeSlanted is decodeSegments for the given slant and thickness.
func decodeSlanted(ink []float32, dw, dh int, rowH float32, thick int, slant float32, b *segBuffers) SegDigit {
	const on = 0.5
	// Upright columns: x' = x + slant·(y − dh/2), shifted to start at 0.
	off := int(math.Ceil(math.Abs(float64(slant)) * float64(dh)))
	nc := dw + 2*off + 1
	b.cols = grow(b.cols, nc)
	b.colLo = grow(b.colLo, nc)
	b.colHi = grow(b.colHi, nc)
	clear(b.cols)
	for i := range b.colLo {
		b.colLo[i], b.colHi[i] = math.MaxInt32, -1
	}
	T, B := dh, -1
	for y := 0; y < dh; y++ {
		sh := slant*(float32(y)-float32(dh)/2) + float32(off)
		for x, v := range ink[y*dw : (y+1)*dw] {
			if v < on {
				continue
			}
			c := int(float32(x) + sh + 0.5)
			b.cols[c] = 1
			b.colLo[c], b.colHi[c] = min(b.colLo[c], int32(y)), max(b.colHi[c], int32(y))
			T, B = min(T, y), max(B, y)
		}
	}
	if B < 0 {
		return SegDigit{Valid: true, Digit: -1}
	}
	L, R := segExtent(b, nc, T, B, rowH)
	H, W := float32(B-T+1), float32(R-L+1)
	if H < segLowH*rowH {
		return SegDigit{Valid: true, Digit: -1}
	}
	var zones [7]float32
	fit := segZones(ink, dw, dh, slant, off, L, R, T, B, thick, b, &zones)
	if W < segOneW*rowH {
		// A "1" (standing segments only) or a speck.
		up, lo := segRowCover(b, T, B)
		if up < on || lo < on {
			return SegDigit{Valid: true, Digit: -1}
		}
		sd := SegDigit{Valid: true, Digit: 1, Segments: SegB | SegC, Confidence: 0.5 + 0.5*min(1, 4*(min(up, lo)-on)), fit: fit}
		sd.clear = min(up, lo) >= 0.9 && fit >= segClearFit
		return sd
	}
	sd := matchSegments(&zones)
	sd.fit, sd.aspect, sd.bend = fit, W/H, segBend(b, &zones, T, B, thick)
	sd.clear = sd.Confidence >= segClearConf && fit >= segClearFit && sd.bend <= segClearBend
	for _, z := range zones {
		sd.clear = sd.clear && (z <= 1-segClearZone || z >= segClearZone)
	}
	return sd
}

// segRuns collects the horizontal ink runs of ink: their length
// histogram, and the centres of the short ones (at most twice the
// median length: crossings of standing segments) into b.runX/runY. It
// returns the median run length (the stroke thickness; 0 without ink)
// and the count of short runs.
func segRuns(ink []float32, dw, dh int, b *segBuffers) (thick, nshort int) {
	b.lens = grow(b.lens, dw+1)
	clear(b.lens)
	n := 0
	for y := 0; y < dh; y++ {
		row := ink[y*dw : (y+1)*dw]
		for x0, x1 := inkRun(row, 0); x0 < dw; x0, x1 = inkRun(row, x1) {
			b.lens[x1-x0]++
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	for l, s := 1, int32(0); l <= dw; l++ {
		s += b.lens[l]
		if int(s)*2 >= n {
			thick = l
			break
		}
	}
	b.runX, b.runY = b.runX[:0], b.runY[:0]
	for y := 0; y < dh; y++ {
		row := ink[y*dw : (y+1)*dw]
		for x0, x1 := inkRun(row, 0); x0 < dw; x0, x1 = inkRun(row, x1) {
			if x1-x0 <= 2*thick {
				b.runX = append(b.runX, float32(x0+x1-1)/2)
				b.runY = append(b.runY, int32(y))
			}
		}
	}
	return thick, len(b.runX)
}

// inkRun returns the next run of ink (values ≥ 0.5) in row at or after
// x: [x0, x1), or x0 = len(row) when there is none.
func inkRun(row []float32, x int) (x0, x1 int) {
	for x < len(row) && row[x] < 0.5 {
		x++
	}
	x0 = x
	for x < len(row) && row[x] >= 0.5 {
		x++
	}
	return x0, x
}

// segShear returns the shear (x shift per row, positive: the top leans
// right) under which the short runs' centres line up best: the sum of
// squares of their histogram (bins of about half the thickness) is
// largest. It is precise over long standing segments, but may line up
// the upper right and lower left segments of a 2 or 5 (segSlant does
// not). Few short runs: no slant.
func segShear(b *segBuffers, n, dw, dh, thick int) float32 {
	if n < dh/4 {
		return 0
	}
	bw := float32(max(1, thick/2))
	nb := int(float32(dw+dh)/bw) + 3
	b.bins = grow(b.bins, nb)
	best, bestS := int64(-1), float32(0)
	for k := -15; k <= 35; k++ {
		s := float32(k) / 100
		clear(b.bins)
		for i, x := range b.runX {
			u := x + s*(float32(b.runY[i])-float32(dh)/2) + float32(dh)*0.35 + bw
			b.bins[min(max(int(u/bw), 0), nb-2)]++
		}
		var sc int64
		for j := 0; j+1 < nb; j++ {
			v := int64(b.bins[j] + b.bins[j+1])
			sc += v * v
		}
		if sc > best || sc == best && abs32(s) < abs32(bestS) {
			best, bestS = sc, s
		}
	}
	return bestS
}

// segSlant returns the shear (x shift per row, positive: the top leans
// right) of the standing segments: the short runs' centres are split
// into four groups (upper and lower half of the cell, left and right of
// the middle of their x range in that half), the slope of x over y is
// fitted in each group by least squares, and the slopes are averaged
// weighted by the runs of each group. One fit over all runs would line
// up the upper right and the lower left segment of a 2 or 5. Few short
// runs: no slant. The result lies in [−0.15, 0.35].
func segSlant(b *segBuffers, n, dw, dh, thick int) float32 {
	if n < dh/4 {
		return 0
	}
	var lo, hi [2]float32
	lo[0], lo[1], hi[0], hi[1] = math.MaxFloat32, math.MaxFloat32, -1, -1
	for i, x := range b.runX {
		h := min(int(2*b.runY[i])/dh, 1)
		lo[h], hi[h] = min(lo[h], x), max(hi[h], x)
	}
	// Σ n, Σ y, Σ x, Σ yy, Σ xy per group.
	var st [4][5]float64
	for i, x := range b.runX {
		h := min(int(2*b.runY[i])/dh, 1)
		g := 2 * h
		if x > (lo[h]+hi[h])/2 {
			g++
		}
		y := float64(b.runY[i])
		st[g][0]++
		st[g][1] += y
		st[g][2] += float64(x)
		st[g][3] += y * y
		st[g][4] += y * float64(x)
	}
	var sum, wsum float64
	for _, g := range st {
		n := g[0]
		if n < 4 {
			continue
		}
		vy := g[3] - g[1]*g[1]/n
		if vy < 1 {
			continue
		}
		sum += n * -(g[4] - g[1]*g[2]/n) / vy
		wsum += n
	}
	if wsum == 0 {
		return 0
	}
	return float32(max(-0.15, min(0.35, sum/wsum)))
}

// segExtent returns the upright columns [L, R] of the digit (ink rows
// [T, B]), less a trailing speck: a decimal point close to the digit
// (columns on the right with ink in the bottom quarter only), or, on either side, a block of
// columns beyond an empty column, at most segOneW·rowH wide, whose
// columns hold no ink run taller than segSpeckRun·rowH (colon dots).
func segExtent(b *segBuffers, nc, T, B int, rowH float32) (L, R int) {
	L, R = 0, nc-1
	for L < nc && b.cols[L] == 0 {
		L++
	}
	for R > L && b.cols[R] == 0 {
		R--
	}
	speck := func(x0, x1 int) bool {
		if float32(x1-x0+1) > segOneW*rowH {
			return false
		}
		for x := x0; x <= x1; x++ {
			if b.cols[x] != 0 && float32(b.colHi[x]-b.colLo[x]+1) > segSpeckRun*rowH {
				return false
			}
		}
		return true
	}
	// A decimal point close to the digit: trailing columns with ink in
	// the bottom quarter only.
	if x := R; x > L {
		for x > L && b.cols[x] != 0 && float32(int(b.colLo[x])-T) >= 0.75*float32(B-T+1) {
			x--
		}
		if x < R && x > L && float32(R-x) <= segOneW*rowH {
			for R = x; R > L && b.cols[R] == 0; R-- {
			}
		}
	}
	// The trailing block: from R leftwards to the first empty column.
	if x := R; x > L {
		for x > L && b.cols[x] != 0 {
			x--
		}
		if x > L && speck(x+1, R) {
			for R = x; R > L && b.cols[R] == 0; R-- {
			}
		}
	}
	if x := L; x < R {
		for x < R && b.cols[x] != 0 {
			x++
		}
		if x < R && speck(L, x-1) {
			for L = x; L < R && b.cols[L] == 0; L++ {
			}
		}
	}
	return L, R
}

// segZones scores the seven zones of the upright box [L, R]×[T, B]
// (bits in zones' order a, b, c, d, e, f, g): the fraction of the
// sampled lines of each zone that hold ink.
func segZones(ink []float32, dw, dh int, slant float32, off, L, R, T, B, thick int, b *segBuffers, zones *[7]float32) (fit float32) {
	W, H := float32(R-L+1), float32(B-T+1)
	band := 1.5 * float32(thick)
	midY := float32(T+B) / 2
	var inBand, all float32
	b.rows = grow(b.rows, dh)
	clear(b.rows)
	b.edgeL, b.edgeR = grow(b.edgeL, dh), grow(b.edgeR, dh)
	for y := range b.edgeL {
		b.edgeL[y], b.edgeR[y] = math.MaxInt32, -1
	}
	for i := L; i <= R; i++ {
		b.cols[i] = 0
	}
	for y := T; y <= B; y++ {
		v := (float32(y-T) + 0.5) / H
		sh := slant*(float32(y)-float32(dh)/2) + float32(off)
		for x, iv := range ink[y*dw : (y+1)*dw] {
			if iv < 0.5 {
				continue
			}
			c := int(float32(x) + sh + 0.5)
			if c < L || c > R {
				continue
			}
			u := (float32(c-L) + 0.5) / W
			all++
			b.rows[y] |= segAny
			if fy, fc := float32(y), float32(c); fy <= float32(T)+band || fy >= float32(B)-band || abs32(fy-midY) <= band*2/3 ||
				fc <= float32(L)+band || fc >= float32(R)-band {
				inBand++
			}
			switch {
			case v < segTopV:
				b.cols[c] |= SegA
			case v > segBotV:
				b.cols[c] |= SegD
			case v >= segMidV0 && v <= segMidV1:
				b.cols[c] |= SegG
			}
			if u <= segSideU {
				b.edgeL[y] = min(b.edgeL[y], int32(c))
			} else if u >= 1-segSideU {
				b.edgeR[y] = max(b.edgeR[y], int32(c))
			}
			switch {
			case u <= segSideU && v < 0.5:
				b.rows[y] |= SegF
			case u <= segSideU:
				b.rows[y] |= SegE
			case u >= 1-segSideU && v < 0.5:
				b.rows[y] |= SegB
			case u >= 1-segSideU:
				b.rows[y] |= SegC
			}
		}
	}
	var nMid, na, nd, ng float32
	for c := L; c <= R; c++ {
		if u := (float32(c-L) + 0.5) / W; u < segMidU0 || u > segMidU1 {
			continue
		}
		nMid++
		m := b.cols[c]
		na += float32(m & SegA / SegA)
		nd += float32(m & SegD / SegD)
		ng += float32(m & SegG / SegG)
	}
	var nUp, nLo, nf, nb, ne, nc float32
	for y := T; y <= B; y++ {
		v := (float32(y-T) + 0.5) / H
		m := b.rows[y]
		switch {
		case v >= segUpV0 && v <= segUpV1:
			nUp++
			nf += float32(m & SegF / SegF)
			nb += float32(m & SegB / SegB)
		case v >= segLoV0 && v <= segLoV1:
			nLo++
			ne += float32(m & SegE / SegE)
			nc += float32(m & SegC / SegC)
		}
	}
	nMid, nUp, nLo = max(nMid, 1), max(nUp, 1), max(nLo, 1)
	*zones = [7]float32{na / nMid, nb / nUp, nc / nLo, nd / nMid, ne / nLo, nf / nUp, ng / nMid}
	return inBand / max(all, 1)
}

// segBend returns how far the outer edges of the lit standing segments
// (zones ≥ 0.5) stray from straight: the largest mean distance of a
// segment's edge from its median over the rows segBendV0..segBendV1 of
// its half, in strokes (thick). Display segments are straight bars
// (about 0); a handwritten loop's sides curve.
func segBend(b *segBuffers, zones *[7]float32, T, B, thick int) float32 {
	H := float32(B - T + 1)
	bend := float32(0)
	for _, z := range [4]struct {
		zone   int
		right  bool
		v0, v1 float32
	}{{5, false, segBendV0, segBendV1}, {4, false, 1 - segBendV1, 1 - segBendV0}, {1, true, segBendV0, segBendV1}, {2, true, 1 - segBendV1, 1 - segBendV0}} {
		if zones[z.zone] < 0.5 {
			continue
		}
		b.edges = b.edges[:0]
		for y := T; y <= B; y++ {
			if v := (float32(y-T) + 0.5) / H; v < z.v0 || v > z.v1 {
				continue
			}
			e := b.edgeL[y]
			if z.right {
				e = b.edgeR[y]
			}
			if e >= 0 && e < math.MaxInt32 {
				b.edges = append(b.edges, e)
			}
		}
		if len(b.edges) < 2 {
			continue
		}
		slices.Sort(b.edges)
		med := b.edges[len(b.edges)/2]
		var dev float32
		for _, e := range b.edges {
			dev += float32(max(e-med, med-e))
		}
		bend = max(bend, dev/float32(len(b.edges))/float32(max(thick, 1)))
	}
	return bend
}

// segAny marks a row of segBuffers.rows with ink.
const segAny = 0x80

// segRowCover returns the fraction of the rows sampled for the upper
// (f, b) and for the lower (e, c) segments that hold ink (after segZones).
func segRowCover(b *segBuffers, T, B int) (up, lo float32) {
	H := float32(B - T + 1)
	var nUp, nLo float32
	for y := T; y <= B; y++ {
		v := (float32(y-T) + 0.5) / H
		in := float32(b.rows[y] / segAny)
		switch {
		case v >= segUpV0 && v <= segUpV1:
			nUp++
			up += in
		case v >= segLoV0 && v <= segLoV1:
			nLo++
			lo += in
		}
	}
	return up / max(nUp, 1), lo / max(nLo, 1)
}

// matchSegments returns the digit whose pattern is nearest the zone
// scores (L1), with the confidence from the margin to the best other
// digit.
func matchSegments(zones *[7]float32) SegDigit {
	var lit uint8
	for i, z := range zones {
		if z >= 0.5 {
			lit |= 1 << i
		}
	}
	var dist [10]float32
	for i := range dist {
		dist[i] = math.MaxFloat32
	}
	for _, pt := range segPatterns {
		var d float32
		for i, z := range zones {
			if pt.mask&(1<<i) != 0 {
				d += 1 - z
			} else {
				d += z
			}
		}
		dist[pt.digit] = min(dist[pt.digit], d)
	}
	best := 0
	for i, d := range dist {
		if d < dist[best] {
			best = i
		}
	}
	second := float32(math.MaxFloat32)
	for i, d := range dist {
		if i != best {
			second = min(second, d)
		}
	}
	return SegDigit{Valid: true, Digit: int8(best), Segments: lit, Confidence: 0.5 + 0.5*min(1, second-dist[best])}
}
