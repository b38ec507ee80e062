package agent

import (
	"context"
	"fmt"
	"image"
	"math"

	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// score is the recognizer's preprocess.Scorer (Multi): how confidently
// each candidate piece of a row is one digit, the probability of the
// most probable digit class (a reject class, "not a digit", takes its
// share of the probability).
func (r *Recognizer) score(in []float32, n int, conf []float32) error {
	if cap(r.scoreOut) < n*r.classes {
		r.scoreOut = make([]float32, n*r.classes)
	}
	out := r.scoreOut[:n*r.classes]
	if err := r.run(context.Background(), in, n, out); err != nil {
		return err
	}
	for i := range conf {
		conf[i] = r.digitProb(out[i*r.classes : (i+1)*r.classes])
	}
	return nil
}

// digitProb is the probability of the most probable digit class of one
// output (probabilities, or logits: softmax).
func (r *Recognizer) digitProb(scores []float32) float32 {
	_, best, _ := r.digitMass(scores)
	return float32(best)
}

// digitMass returns, for one output (probabilities, or logits: softmax),
// the most probable digit class (−1: none), its probability and the
// probability of all the digit classes together (0, 0 when the output
// sums to nothing).
func (r *Recognizer) digitMass(scores []float32) (int, float64, float64) {
	m := float32(math.Inf(-1))
	for _, v := range scores {
		m = max(m, v)
	}
	var z, zd, best float64
	bi := -1
	for i, v := range scores {
		e := float64(v)
		if !r.probs {
			e = math.Exp(float64(v - m))
		}
		z += e
		if l := r.labels[i]; len(l) == 1 && l[0] >= '0' && l[0] <= '9' {
			zd += e
			if bi < 0 || e > best {
				bi, best = i, e
			}
		}
	}
	if !(z > 0) {
		return bi, 0, 0
	}
	return bi, best / z, zd / z
}

// RegionBox is a configured digit region as the preview draws it.
type RegionBox struct {
	Name string `json:"name,omitempty"`
	Box  [4]int `json:"box"` // x, y, width, height
}

type regionDigit struct {
	region int
	box    image.Rectangle
	seg    preprocess.SegDigit // its seven-segment reading (kept for a display)
}

// recognizeRegions reads one digit per configured region (--rois). The
// text has one character per region, left to right in file order: the
// digit, or "?" where the region holds no digit or its digit is rejected
// (below the minimum confidence); when no region is read the text is ""
// (no digit). A region outside the frame is an error.
func (r *Recognizer) recognizeRegions(ctx context.Context, img image.Image) (Result, error) {
	res := Result{Rejection: r.Note()}
	r.last, r.located = nil, r.located[:0] // no crops to collect: ProcessRegion reuses its buffers per region
	if img == nil {
		return res, fmt.Errorf("%w: nil image", preprocess.ErrImage)
	}
	if err := preprocess.CheckRegions(r.regions, img.Bounds()); err != nil {
		return res, err
	}
	for _, g := range r.regions {
		res.ROIs = append(res.ROIs, RegionBox{Name: g.Name, Box: [4]int{g.X, g.Y, g.W, g.H}})
	}
	found := r.digitsV[:0]
	sz := 0
	for i, g := range r.regions {
		pr, err := r.pre.ProcessRegion(img, g.Rect().Add(img.Bounds().Min))
		if err != nil {
			return Result{}, err
		}
		if len(pr.Digits) == 0 {
			continue
		}
		d := pr.Digits[0]
		sz = len(d.Input)
		copy(r.in[len(found)*sz:], d.Input)
		found = append(found, regionDigit{region: i, box: d.Box, seg: d.Seg})
	}
	r.digitsV = found[:0]
	r.regionSegs(found)
	n := len(found)
	text := make([]byte, len(r.regions))
	for i := range text {
		text[i] = '?'
	}
	if n > 0 {
		if err := r.run(ctx, r.in[:n*sz], n, r.out[:n*r.classes]); err != nil {
			return Result{}, err
		}
	}
	res.Confidence = 1
	notDigit := false
	for i, f := range found {
		best, conf := r.regionConfidence(r.out[i*r.classes:(i+1)*r.classes], regionRejectX)
		best, conf, speck := r.segAnswer(f.seg, best, conf)
		l := r.labels[best]
		if best == r.reject {
			notDigit = true
		}
		if speck || conf < r.minConf || len(l) != 1 || l[0] < '0' || l[0] > '9' {
			res.Rejected++
			continue
		}
		text[f.region] = l[0]
		b := f.box
		res.Digits = append(res.Digits, Prediction{Label: l, Confidence: conf, Box: b,
			BoxXYWH: [4]int{b.Min.X, b.Min.Y, b.Dx(), b.Dy()}, Name: r.regions[f.region].Name})
		res.Confidence = min(res.Confidence, conf)
	}
	if len(res.Digits) == 0 {
		res.Confidence = 0
		switch {
		case n == 0:
			res.Reason = ReasonNoInk
		case notDigit:
			res.Reason = ReasonNotDigit
		default:
			res.Reason = ReasonLowConfidence
		}
		return res, nil
	}
	res.Text = string(text)
	return res, nil
}

// SetRegions replaces the configured digit regions (nil: none, back to
// Process's own search).
func (r *Recognizer) SetRegions(rs []preprocess.Region) error {
	if len(rs) > preprocess.MaxRegions {
		return fmt.Errorf("agent: %d regions (at most %d)", len(rs), preprocess.MaxRegions)
	}
	n := r.pre.Config().Height * r.pre.Config().Width
	if need := max(r.pre.Config().MaxDigits, len(rs)); len(r.in) < need*n {
		r.in = make([]float32, need*n)
		r.out = make([]float32, need*r.classes)
	}
	r.regions = rs
	return nil
}

// regionSegs keeps the seven-segment readings of the regions' digits when
// together they are the cells of a display (preprocess.DisplayRow) and
// clears them otherwise, as a row of --multi does.
func (r *Recognizer) regionSegs(found []regionDigit) {
	ds := r.segCells[:0]
	for _, f := range found {
		ds = append(ds, preprocess.Digit{Box: f.box, Seg: f.seg})
	}
	r.segCells = ds[:0]
	if preprocess.DisplayRow(ds) {
		return
	}
	for i := range found {
		found[i].seg = preprocess.SegDigit{}
	}
}

// regionRejectX is the probability of the reject class from which a
// region's digit is "not a digit". A region holds one digit by the
// user's configuration; what a reject-class model calls "x" there is
// mostly a digit with a piece of its neighbour inside the box, so
// below this the region reads the most probable digit, with its
// probability among the digits as the confidence (the minimum
// confidence still applies). Chosen on the tuning photos
// (docs/camera.md).
const regionRejectX = 0.99

// rowRejectX is regionRejectX for a piece of a --multi row that reads as
// a number (numberRow). It is lower than in a region: a row's piece is
// cut by the segmentation, not placed by the user, and a number read
// wrong with no '?' is worse than one read with a '?'. On the tuning
// photos 0.9 read as many handwritten numbers as 0.99 (174 of 200) with
// 19 instead of 21 of them wrong with no '?' (odometer 189 instead of
// 190, seven-segment 193 either way).
const rowRejectX = 0.9

// numberRow reports whether the n pieces of a --multi row (outputs in
// out) read as a number: at least two of them, and at least half, are
// sure digits (a digit class at or above the minimum confidence). Then a
// piece that the reject class wins is more likely a digit the
// segmentation cut badly, or a digit written unlike MNIST's, than a
// stray shape: on the tuning photos this read 167 of 200 handwritten
// numbers instead of 160, 180 odometers instead of 176 and 193
// seven-segment displays instead of 190 (with p(x) ≥ 0.99 as the bar),
// and non-digit photos read with --multi kept their rate.
func (r *Recognizer) numberRow(out []float32, n int) bool {
	if r.reject < 0 || n < 2 {
		return false
	}
	sure := 0
	for i := 0; i < n; i++ {
		if best, conf := Confidence(out[i*r.classes:(i+1)*r.classes], r.probs); best != r.reject && conf >= r.minConf {
			sure++
		}
	}
	return sure >= 2 && 2*sure >= n
}

// regionConfidence is Confidence for a region's digit: the reject class
// wins only with a probability of at least rejectX (regionRejectX, or
// rowRejectX for a piece of a number).
func (r *Recognizer) regionConfidence(scores []float32, rejectX float64) (int, float32) {
	best, conf := Confidence(scores, r.probs)
	if r.reject < 0 {
		return best, conf
	}
	bi, pb, pd := r.digitMass(scores)
	if bi < 0 || !(pd > 0) || 1-pd >= rejectX {
		return best, conf
	}
	return bi, float32(pb / pd)
}
