package preprocess

import (
	"fmt"
	"sort"
)

// Scorer classifies n candidate model inputs (consecutive Height×Width
// blocks of in, normalized like Digit.Input) and writes to conf[i] how
// confident the classifier is that input i is one digit (0..1). The
// recognizer sets one (SetScorer) so that Multi can judge where touching
// digits are cut.
type Scorer func(in []float32, n int, conf []float32) error

// SetScorer sets (or, with nil, clears) the Scorer used by Multi.
func (p *Preprocessor) SetScorer(s Scorer) { p.scorer = s }

// Candidate splits are judged when a cluster is at least scoreAspect %
// as wide as tall; another number of pieces than the shape suggests wins
// only by splitMargin of the lowest piece confidence.
var (
	scoreAspect = 70
	splitMargin = float32(0.05)
	// A cluster at least pairAspect % as wide as tall is cut in two when
	// both halves are digits with at least pairConf and no less
	// confidence than the whole.
	pairAspect = 90
	pairConf   = float32(0.95)
	// Two-piece cuts scored below altCutBelow, of a cluster scored below
	// altWholeBelow whole (a reject class says "not one digit"), try up to altCuts other cut columns, at least
	// altCutLo % of the width from an edge.
	altCutBelow   = float32(0.9)
	altWholeBelow = float32(0.5)
	altCutLo      = 15
)

const altCuts = 3

// chooseSplits decides, for each cluster of the row wide enough to hold
// touching digits, into how many pieces to cut it: every k from 1 to
// about w / 0.45h is cut at the projection minima, each piece rendered
// and scored, and the k whose weakest piece is most confidently a digit
// wins (ties to the shape's default).
func (p *Preprocessor) chooseSplits(fr *frameInfo) error {
	out := p.groups[:0:0] // a fresh list only when something changes
	changed := false
	for gi, g := range p.groups {
		w, h := g.w(), g.h()
		if w*100 < h*scoreAspect {
			if changed {
				out = append(out, g)
			}
			continue
		}
		kmax := clampi(int(float64(w)/(0.45*float64(h))+0.5), 2, 4)
		k0 := min(defaultPieces(g), kmax)
		scores := [5]float32{}
		for k := 1; k <= kmax; k++ {
			var pieces []group
			if k == 1 {
				pieces = append(p.cgs[:0], g)
			} else {
				pieces = p.cut(g, k, fr.ww, p.cgs[:0])
			}
			p.cgs = pieces
			if len(pieces) != k {
				scores[k] = -1
				continue
			}
			s, err := p.scorePieces(pieces, fr)
			if err != nil {
				return err
			}
			scores[k] = s
		}
		// Two touching digits of unequal width (a "1" beside a "4") are
		// not cut near the middle: when neither the whole nor the middle
		// cut reads confidently, try the deepest other minima of the
		// projection as the cut too and keep the best scored.
		cut2 := -1
		if kmax >= 2 && scores[2] < altCutBelow && scores[1] < altWholeBelow {
			var alts [altCuts]int
			for _, c := range p.altCuts(g, fr.ww, alts[:0]) {
				p.cgs = append(p.cgs[:0], g, g)
				p.cgs[0].x1, p.cgs[1].x0 = c-1, c
				p.cgs[0].inkSum, p.cgs[1].inkSum = g.inkSum/2, g.inkSum/2
				s, err := p.scorePieces(p.cgs, fr)
				if err != nil {
					return err
				}
				if s > scores[2] {
					scores[2], cut2 = s, c
				}
			}
		}
		bestK, bestS := k0, scores[k0]
		for k := 1; k <= kmax; k++ {
			if scores[k] > bestS+splitMargin {
				bestK, bestS = k, scores[k]
			}
		}
		// A cluster wide enough for two digits whose halves are both
		// confidently digits is cut even when the whole reads as one
		// digit (the classifier is confident on two touching digits).
		if bestK == 1 && w*100 >= h*pairAspect && scores[2] >= pairConf && scores[2] >= scores[1] {
			bestK = 2
		}
		if bestK <= 1 {
			if changed {
				out = append(out, g)
			}
			continue
		}
		if !changed {
			out = append(out, p.groups[:gi]...)
			changed = true
		}
		if bestK == 2 && cut2 >= 0 {
			p.cgs = append(p.cgs[:0], g, g)
			p.cgs[0].x1, p.cgs[1].x0 = cut2-1, cut2
			p.cgs[0].inkSum, p.cgs[1].inkSum = g.inkSum/2, g.inkSum/2
		} else {
			p.cgs = p.cut(g, bestK, fr.ww, p.cgs[:0])
		}
		out = append(out, p.cgs...)
	}
	if changed {
		p.groups = append(p.groups[:0], out...)
		sort.Slice(p.groups, func(i, j int) bool { return p.groups[i].x0 < p.groups[j].x0 })
	}
	return nil
}

// scorePieces renders and scores pieces: the lowest confidence of a
// piece, or -1 when a piece is too thin or holds no ink.
func (p *Preprocessor) scorePieces(pieces []group, fr *frameInfo) (float32, error) {
	oN := p.cfg.Width * p.cfg.Height
	k := len(pieces)
	p.cand = grow(p.cand, k*oN)
	p.candC = grow(p.candC, k)
	for i, pc := range pieces {
		if pc.w()*100 < pc.h()*12 {
			return -1, nil
		}
		ink := p.candInk(oN)
		if _, good := p.render(pc, fr, ink); !good {
			return -1, nil
		}
		p.normalize(ink, p.cand[i*oN:(i+1)*oN])
	}
	if err := p.scorer(p.cand[:k*oN], k, p.candC[:k]); err != nil {
		return 0, fmt.Errorf("preprocess: scoring split candidates: %w", err)
	}
	s := float32(1)
	for _, c := range p.candC[:k] {
		s = min(s, c)
	}
	return s, nil
}

// altCuts appends to dst up to altCuts columns where g could be cut in
// two besides cut's own: the deepest local minima of its column
// projection between altCutLo % and 100 − altCutLo % of its width
// (p.proj as cut left it for g).
func (p *Preprocessor) altCuts(g group, ww int, dst []int) []int {
	w := g.w()
	p.cgs = p.cut(g, 2, ww, p.cgs[:0]) // fills p.proj; its own cut is already scored
	own := -1
	if len(p.cgs) == 2 {
		own = p.cgs[1].x0 - g.x0
	}
	proj := p.proj[:w]
	lo, hi := max(2, w*altCutLo/100), min(w-3, w-w*altCutLo/100)
	for c := lo; c <= hi; c++ {
		if c == own || proj[c] > proj[c-1] || proj[c] > proj[c+1] {
			continue
		}
		// keep the altCuts deepest, in dst sorted by depth
		if len(dst) == cap(dst) && proj[c] >= proj[dst[len(dst)-1]-g.x0] {
			continue
		}
		if len(dst) < cap(dst) {
			dst = append(dst, 0)
		}
		i := len(dst) - 1
		for ; i > 0 && proj[dst[i-1]-g.x0] > proj[c]; i-- {
			dst[i] = dst[i-1]
		}
		dst[i] = c + g.x0
	}
	return dst
}

// candInk returns a scratch ink buffer of n values.
func (p *Preprocessor) candInk(n int) []float32 {
	p.candBuf = grow(p.candBuf, n)
	return p.candBuf
}
