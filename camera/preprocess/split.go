package preprocess

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
