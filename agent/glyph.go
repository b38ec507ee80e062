package agent

import (
	"context"
	"fmt"
	"image"

	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// A --multi row of at most glyphMaxPieces pieces that is no wider than
// glyphMaxAspect times its height may be one glyph the segmentation cut
// into digit-like strokes (a letter H read as "11", an A as "14"). Such a
// row is read once more as a single digit (the single-digit
// preprocessing: the largest component and the pieces near it); when that
// reading covers glyphCover of the row and answers "not a digit", so does
// the row. Numbers are wider than that, so they are never read twice.
//
// Three compact digits can be as narrow (798, 1.28 row heights wide), so
// a row of three pieces with at least glyphShapes of them read as sure
// (≥ glyphSure) digits other than 1 is a number, not read twice: a glyph
// cut into strokes reads as 1s (an m as "111", an H as "11") or as
// unsure digits.
const (
	glyphMaxPieces = 3
	glyphMaxAspect = 1.3 // width / height, as segMaxW in camera/preprocess
	glyphCover     = 0.7 // share of the row's box inside the single reading's box
	glyphShapes    = 2
	glyphSure      = 0.95
)

// glyphRow applies the rule above to res, the reading of the pieces
// digits of img with polarity pol; it changes res to "not a digit" where
// the rule says so.
func (r *Recognizer) glyphRow(ctx context.Context, img image.Image, digits []preprocess.Digit, res *Result, pol preprocess.Polarity) error {
	if !r.pre.Config().Multi || r.reject < 0 || len(res.Digits) == 0 || len(digits) > glyphMaxPieces {
		return nil
	}
	var u image.Rectangle
	for _, d := range digits {
		u = u.Union(d.Box)
	}
	if float64(u.Dx()) > glyphMaxAspect*float64(u.Dy()) || len(digits) == glyphMaxPieces && sureShapes(res) >= glyphShapes {
		return nil
	}
	if pol < 0 || int(pol) >= len(r.glyph) {
		return fmt.Errorf("agent: polarity %d", pol)
	}
	if r.glyph[pol] == nil {
		c := r.pre.Config()
		c.Multi, c.Polarity = false, pol
		g, err := preprocess.New(c)
		if err != nil {
			return err
		}
		r.glyph[pol], r.glyphOut = g, make([]float32, r.classes)
	}
	pr, err := r.glyph[pol].Process(img)
	if err != nil || len(pr.Digits) == 0 {
		return err
	}
	in := pr.Digits[0].Box.Intersect(u)
	if float64(in.Dx()*in.Dy()) < glyphCover*float64(u.Dx()*u.Dy()) {
		return nil
	}
	if err := r.run(ctx, pr.Digits[0].Input, 1, r.glyphOut); err != nil {
		return err
	}
	if best, _ := Confidence(r.glyphOut, r.probs); best == r.reject {
		res.Digits = res.Digits[:0]
		res.Text, res.Confidence, res.Reason = "", 0, ReasonNotDigit
	}
	return nil
}

// sureShapes counts the digits of res other than 1 read with confidence
// at least glyphSure.
func sureShapes(res *Result) int {
	n := 0
	for _, d := range res.Digits {
		if d.Label != "1" && d.Confidence >= glyphSure {
			n++
		}
	}
	return n
}
