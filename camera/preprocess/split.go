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
)

// chooseSplits decides, for each cluster of the row wide enough to hold
// touching digits, into how many pieces to cut it: every k from 1 to
// about w / 0.45h is cut at the projection minima, each piece rendered
// and scored, and the k whose weakest piece is most confidently a digit
// wins (ties to the shape's default).
func (p *Preprocessor) chooseSplits(fr *frameInfo) error {
	oN := p.cfg.Width * p.cfg.Height
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
			p.cand = grow(p.cand, k*oN)
			p.candC = grow(p.candC, k)
			ok := true
			for i, pc := range pieces {
				if pc.w()*100 < pc.h()*12 {
					ok = false
					break
				}
				ink := p.candInk(oN)
				if _, good := p.render(pc, fr, ink); !good {
					ok = false
					break
				}
				p.normalize(ink, p.cand[i*oN:(i+1)*oN])
			}
			if !ok {
				scores[k] = -1
				continue
			}
			if err := p.scorer(p.cand[:k*oN], k, p.candC[:k]); err != nil {
				return fmt.Errorf("preprocess: scoring split candidates: %w", err)
			}
			s := float32(1)
			for _, c := range p.candC[:k] {
				s = min(s, c)
			}
			scores[k] = s
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
		p.cgs = p.cut(g, bestK, fr.ww, p.cgs[:0])
		out = append(out, p.cgs...)
	}
	if changed {
		p.groups = append(p.groups[:0], out...)
		sort.Slice(p.groups, func(i, j int) bool { return p.groups[i].x0 < p.groups[j].x0 })
	}
	return nil
}

// candInk returns a scratch ink buffer of n values.
func (p *Preprocessor) candInk(n int) []float32 {
	p.candBuf = grow(p.candBuf, n)
	return p.candBuf
}
