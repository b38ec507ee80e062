package agent

import (
	"strconv"

	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// Seven-segment cells (issue 11). A digit of a row the preprocessor
// judged to be a seven-segment display carries its segment reading
// (preprocess.SegDigit, Valid). MNIST models read boxy display digits
// poorly (a 6 as 5; a reject-class model calls a boxy 0 "x"), so a clear
// segment reading overrides the model's answer for that cell; an unclear
// one leaves the model's answer. Cells of any other row never carry a
// segment reading and are read by the model alone.

// SegMinConfidence is the segment reading's confidence from which it
// overrides the model's answer (0.5: two digits fit equally; 1: clear).
const SegMinConfidence = 0.75

// segLabelIndex returns, per digit 0..9, the index of its label among
// labels (−1 when the model has no such label).
func segLabelIndex(labels []string) [10]int {
	var idx [10]int
	for d := range idx {
		idx[d] = -1
		for i, l := range labels {
			if l == strconv.Itoa(d) {
				idx[d] = i
			}
		}
	}
	return idx
}

// segAnswer combines a cell's segment reading with the model's answer
// (class best, confidence conf). skip: the cell is a speck of the display
// (a colon, a decimal point), no digit and no place in the number.
func (r *Recognizer) segAnswer(s preprocess.SegDigit, best int, conf float32) (int, float32, bool) {
	if !s.Valid {
		return best, conf, false
	}
	if s.Digit < 0 {
		return best, conf, true
	}
	li := r.segLabel[s.Digit]
	switch {
	case li < 0:
		return best, conf, false
	case li == best:
		return best, max(conf, s.Confidence), false
	case s.Confidence >= SegMinConfidence:
		return li, s.Confidence, false
	}
	return best, conf, false
}
