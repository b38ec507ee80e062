package preprocess

import "image"

// Scorer classifies n candidate model inputs (consecutive Height×Width
// blocks of in, normalized like Digit.Input) and writes to conf[i] how
// probable it is that input i is one digit (0..1: the probability of its
// most probable digit class; a model with a "not a digit" class gives
// that class its share). The recognizer sets one (SetScorer) so that
// Multi segments a row by recognition (segment.go).
type Scorer func(in []float32, n int, conf []float32) error

// SetScorer sets (or, with nil, clears) the Scorer used by Multi.
func (p *Preprocessor) SetScorer(s Scorer) { p.scorer = s }

// candInk returns a scratch ink buffer of n values.
func (p *Preprocessor) candInk(n int) []float32 {
	p.candBuf = grow(p.candBuf, n)
	return p.candBuf
}

// JudgeScore is a Judge's answer for one candidate input.
type JudgeScore struct {
	// One is how probable it is that the input holds exactly one whole
	// digit (not a piece of one, not two or more side by side).
	One float32
	// Pair is the probability of the most probable pair of two touching
	// digits, First then Second (0..9); Pair 0 for none.
	Pair          float32
	First, Second int8
}

// Judge writes to out[i] its answer for each of n candidate inputs like
// Scorer's. It is a second opinion on the segmentation, from a model
// trained on the segmenter's own candidates (docs/training.md "The
// segmentation judge").
type Judge func(in []float32, n int, out []JudgeScore) error

// SetJudge sets (or, with nil, clears) the Judge used by Multi. With a
// Judge the segmenter also tries candidates up to judgeMaxW row heights
// wide (two touching digits), adds judgeWeight·log One to each
// candidate's score, and may read a candidate as the Judge's pair
// (Digit.Pair) when no cut separates the two digits better.
func (p *Preprocessor) SetJudge(j Judge) { p.judge = j }

// CandidateFunc sees a rendered segment candidate: its box in the
// processed region's pixels and its ink (Height×Width, 0..1, before
// normalization). It must not keep ink.
type CandidateFunc func(box image.Rectangle, ink []float32)

// SetCandidateFunc sets (or clears) a function that sees every candidate
// Multi renders, at the width a Judge allows; it is how the judge's
// training data is drawn (train/judge).
func (p *Preprocessor) SetCandidateFunc(f CandidateFunc) { p.candFunc = f }

// maxW is the widest candidate, in row heights.
func (p *Preprocessor) maxW() float64 {
	if p.judge != nil || p.candFunc != nil {
		return judgeMaxW
	}
	return segMaxW
}
