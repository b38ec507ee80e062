package train

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/edgecnn/edgecnn/train/mnist"
	"github.com/edgecnn/edgecnn/train/negatives"
)

// RejectClasses is the class count of a model trained with negatives: the
// ten digits and model.RejectLabel.
const RejectClasses = 11

// negSource is the generated negatives as one more training source: a
// data.Set of k 28×28 images labelled RejectClasses-1 ("x"), redrawn every
// epoch in place in the training pool (from pool image first on).
type negSource struct {
	gen     *negatives.Generator
	digits  *mnist.Set // digit images that feed fragments and touching pairs
	set     *data.Set
	frac    float64
	index   int // position among the pool's sets
	first   int // pool index of its first image
	seed    uint64
	threads int
}

// negativesPerEpoch is how many negatives make share frac of an epoch of
// n digits.
func negativesPerEpoch(n int, frac float64) int {
	return int(math.Round(float64(n) * frac / (1 - frac)))
}

// newNegSource prepares the negatives for an epoch of sum(sizes) images;
// train (the first --data source) provides the digits they are drawn
// from.
func newNegSource(train *data.Set, sizes []int, frac float64, seed uint64, threads int) (*negSource, error) {
	const size = negatives.Size * negatives.Size
	digits := DigitsOf(train)
	if digits == nil || train.H*train.W != size {
		return nil, fmt.Errorf("train: --negatives needs 28x28 digit images (MNIST) as the first --data source")
	}
	gen, err := negatives.New(digits.Images, digits.Labels)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	total := 0
	for _, n := range sizes {
		total += n
	}
	k := max(1, negativesPerEpoch(total, frac))
	set := &data.Set{N: k, N8: k, H: negatives.Size, W: negatives.Size, Pix: make([]uint8, k*size), Labels: make([]uint8, k)}
	for i := range set.Labels {
		set.Labels[i] = RejectClasses - 1
	}
	return &negSource{gen: gen, digits: digits, set: set, frac: frac, seed: seed, threads: max(1, threads)}, nil
}

// epoch draws the negatives of epoch e into the pool.
func (n *negSource) epoch(pool *data.Set, e int) {
	const size = negatives.Size * negatives.Size
	r := NewRNG(n.seed, streamNegatives, uint64(e))
	renderNegatives(n.gen, r.Uint64(), pool.Pix[n.first*size:(n.first+n.set.N)*size], n.set.N, n.threads)
}

// weights gives the negatives share frac of every batch and the sources
// the rest, in their own proportions (w nil: equal).
func (n *negSource) weights(w []float64, sources int) []float64 {
	if w == nil {
		w = make([]float64, sources)
		for i := range w {
			w[i] = 1
		}
	}
	var sum float64
	for _, v := range w {
		sum += v
	}
	out := make([]float64, 0, len(w)+1)
	for _, v := range w {
		out = append(out, v/sum*(1-n.frac))
	}
	return append(out, n.frac)
}

// DigitsOf returns the 8-bit images of s with digit labels (0–9) as an
// MNIST set (copies), or nil when it has none: the digits that feed the
// negatives' fragments and touching pairs.
func DigitsOf(s *data.Set) *mnist.Set {
	if s == nil || s.N8 == 0 {
		return nil
	}
	size := s.Size()
	out := &mnist.Set{H: s.H, W: s.W}
	for i := 0; i < s.N8; i++ {
		if s.Labels[i] <= 9 {
			out.Images = append(out.Images, s.Pix[i*size:(i+1)*size]...)
			out.Labels = append(out.Labels, s.Labels[i])
			out.N++
		}
	}
	if out.N == 0 {
		return nil
	}
	return out
}

// renderNegatives draws k negatives of stream seed into dst, in parallel.
func renderNegatives(gen *negatives.Generator, seed uint64, dst []uint8, k, threads int) {
	const size = negatives.Size * negatives.Size
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			for i := t; i < k; i += threads {
				gen.Render(seed, uint64(i), dst[i*size:(i+1)*size])
			}
		}(t)
	}
	wg.Wait()
}

// RejectStats is how a reject threshold does on validation data.
type RejectStats struct {
	Threshold float64 `json:"threshold"`
	// DigitsAccepted is the percentage of validation digits (plain and
	// robust-augmented) answered with the right digit.
	DigitsAccepted float64 `json:"digits_correct"`
	// NegativesRejected is the percentage of validation negatives
	// answered "no digit".
	NegativesRejected float64 `json:"negatives_rejected"`
}

// Decide applies the reject rule every recognizer uses: the answer is the
// arg max class unless it is the reject class or its probability is below
// threshold; then it is -1 ("no digit"). reject is the reject class
// index (-1: none).
func Decide(probs []float32, reject int, threshold float32) int {
	best := 0
	for c, v := range probs {
		if v > probs[best] {
			best = c
		}
	}
	if best == reject || probs[best] < threshold {
		return -1
	}
	return best
}

// thresholdCandidates are the thresholds ChooseRejectThreshold tries.
var thresholdCandidates = []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99}

// ChooseRejectThreshold picks the confidence threshold that maximizes
// 2·(digits answered right) + (negatives answered "no digit") on validation
// data: val's digits as they are and robust-augmented, and as many
// negatives drawn from a stream of their own (never trained on). With
// breaks (a model trained with Config.Breaks) the robust copies get the
// broken strokes too, as its training digits did. Ties go to the lower
// threshold. The model must have the reject class.
func ChooseRejectThreshold(ctx context.Context, m *model.Model, val *mnist.Set, train *mnist.Set, seed uint64, threads int, breaks bool) (RejectStats, []RejectStats, error) {
	rej := model.RejectIndex(m.Labels)
	if rej < 0 {
		return RejectStats{}, nil, fmt.Errorf("train: reject threshold: the model has no %q class", model.RejectLabel)
	}
	size := m.Input().Size()
	if val.H*val.W != size || size != negatives.Size*negatives.Size {
		return RejectStats{}, nil, fmt.Errorf("train: reject threshold: %w", model.ErrShape)
	}
	gen, err := negatives.New(train.Images[:train.N*size], train.Labels[:train.N])
	if err != nil {
		return RejectStats{}, nil, err
	}
	nd, nn := 2*val.N, val.N
	x := make([]float32, (nd+nn)*size)
	Normalize(m, val.Images[:val.N*size], x)
	img, tmp := make([]float32, size), make([]float32, size)
	mean, inv := m.Norm.Mean, 1/m.Norm.Std
	for i := 0; i < val.N; i++ {
		r := NewRNG(seed, streamValRobust, uint64(i))
		robustAugment(val.Images[i*size:(i+1)*size], val.H, val.W, &r, img, tmp, robustStyle{})
		if breaks {
			b := NewRNG(seed, streamValBreaks, uint64(i))
			breakStrokes(img, val.H, val.W, &b)
		}
		for j, v := range img {
			x[(val.N+i)*size+j] = (v - mean) * inv
		}
	}
	negPix := make([]uint8, nn*size)
	r := NewRNG(seed, streamValNegatives)
	renderNegatives(gen, r.Uint64(), negPix, nn, threads)
	Normalize(m, negPix, x[nd*size:])
	C := m.Arch.Classes
	logits := make([]float32, (nd+nn)*C)
	if err := Predict(ctx, m, x, nd+nn, threads, logits); err != nil {
		return RejectStats{}, nil, err
	}
	probs := make([]float32, len(logits))
	for i := 0; i < nd+nn; i++ {
		softmaxInto(logits[i*C:(i+1)*C], probs[i*C:(i+1)*C])
	}
	var all []RejectStats
	best := RejectStats{Threshold: -1}
	for _, t := range thresholdCandidates {
		st := RejectStats{Threshold: t}
		for i := 0; i < nd+nn; i++ {
			d := Decide(probs[i*C:(i+1)*C], rej, float32(t))
			switch {
			case i < nd && d == int(val.Labels[i%val.N]):
				st.DigitsAccepted++
			case i >= nd && d < 0:
				st.NegativesRejected++
			}
		}
		st.DigitsAccepted *= 100 / float64(nd)
		st.NegativesRejected *= 100 / float64(nn)
		all = append(all, st)
		if best.Threshold < 0 || score(st) > score(best)+1e-9 {
			best = st
		}
	}
	return best, all, nil
}

// score weighs a digit answered right twice as much as a negative
// rejected: a reader that drops real digits is no better than one that
// reads noise.
func score(s RejectStats) float64 { return 2*s.DigitsAccepted + s.NegativesRejected }

func softmaxInto(z, p []float32) {
	m := z[0]
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	for i, v := range z {
		e := math.Exp(float64(v - m))
		p[i] = float32(e)
		s += e
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / s)
	}
}

// AppendNegatives returns pixels and labels with k negatives (label
// RejectClasses-1, "x") of stream seed appended; digits (28×28 MNIST
// training images) feed the fragment and touching kinds. Calibration and
// test sets of a model with the reject class use it, so that its "x"
// output is calibrated and measured too.
func AppendNegatives(pixels, labels []uint8, k int, digits *mnist.Set, seed uint64, threads int) ([]uint8, []uint8, error) {
	const size = negatives.Size * negatives.Size
	if len(pixels) != len(labels)*size || k < 0 {
		return nil, nil, fmt.Errorf("train: append negatives: %w: %d pixel bytes for %d images", model.ErrShape, len(pixels), len(labels))
	}
	if digits.H*digits.W != size {
		return nil, nil, fmt.Errorf("train: append negatives: %w: digits are %dx%d", model.ErrShape, digits.H, digits.W)
	}
	gen, err := negatives.New(digits.Images[:digits.N*size], digits.Labels[:digits.N])
	if err != nil {
		return nil, nil, err
	}
	n := len(labels)
	p := make([]uint8, (n+k)*size)
	copy(p, pixels)
	l := make([]uint8, n+k)
	copy(l, labels)
	for i := n; i < n+k; i++ {
		l[i] = RejectClasses - 1
	}
	renderNegatives(gen, seed, p[n*size:], k, max(threads, 1))
	return p, l, nil
}
