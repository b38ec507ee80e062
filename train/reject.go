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

// negMix adds freshly generated negatives (label 10, "x") to the training
// pool, new ones every epoch. They sit right after the pool's 8-bit
// images (data.Set keeps 8-bit images first), so a pool of MNIST alone
// keeps its indices and the negatives follow it.
type negMix struct {
	gen     *negatives.Generator
	set     *data.Set // the pool with the negatives
	digits  *data.Set // the pool's 8-bit digit images (fragments, touching pairs)
	off, k  int       // negatives are images [off, off+k) of set
	seed    uint64
	threads int
}

// negativesPerEpoch is how many negatives make share frac of an epoch of
// n digits.
func negativesPerEpoch(n int, frac float64) int {
	return int(math.Round(float64(n) * frac / (1 - frac)))
}

func newNegMix(pool *data.Set, frac float64, seed uint64, threads int) (*negMix, error) {
	const size = negatives.Size * negatives.Size
	if pool.H*pool.W != size {
		return nil, fmt.Errorf("train: --negatives needs 28x28 images, data is %dx%d", pool.H, pool.W)
	}
	digits := &data.Set{H: pool.H, W: pool.W}
	for i := 0; i < pool.N8; i++ {
		if pool.Labels[i] < RejectClasses-1 {
			digits.Pix = append(digits.Pix, pool.Pix[i*size:(i+1)*size]...)
			digits.Labels = append(digits.Labels, pool.Labels[i])
		}
	}
	digits.N, digits.N8 = len(digits.Labels), len(digits.Labels)
	gen, err := negatives.New(digits.Pix, digits.Labels)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	k := negativesPerEpoch(pool.N, frac)
	neg := &data.Set{N: k, H: pool.H, W: pool.W, N8: k, Pix: make([]uint8, k*size), Labels: make([]uint8, k)}
	for i := range neg.Labels {
		neg.Labels[i] = RejectClasses - 1
	}
	set, err := data.Concat(pool, neg)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &negMix{gen: gen, set: set, digits: digits, off: pool.N8, k: k, seed: seed, threads: threads}, nil
}

// epoch draws the negatives of epoch e into the pool.
func (m *negMix) epoch(e int) {
	const size = negatives.Size * negatives.Size
	r := NewRNG(m.seed, streamNegatives, uint64(e))
	renderNegatives(m.gen, r.Uint64(), m.set.Pix[m.off*size:(m.off+m.k)*size], m.k, m.threads)
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
// data: val's digits as they are and, for its 8-bit images,
// robust-augmented, and as many negatives drawn from a stream of their own
// (never trained on; digits feeds their fragments and touching pairs).
// Validation images labelled "x" count as negatives. Ties go to the lower
// threshold. The model must have the reject class.
func ChooseRejectThreshold(ctx context.Context, m *model.Model, val, digits *data.Set, seed uint64, threads int) (RejectStats, []RejectStats, error) {
	rej := model.RejectIndex(m.Labels)
	if rej < 0 {
		return RejectStats{}, nil, fmt.Errorf("train: reject threshold: the model has no %q class", model.RejectLabel)
	}
	size := m.Input().Size()
	if val.H*val.W != size || size != negatives.Size*negatives.Size || digits.H*digits.W != size {
		return RejectStats{}, nil, fmt.Errorf("train: reject threshold: %w", model.ErrShape)
	}
	gen, err := negatives.New(digits.Pix[:digits.N8*size], digits.Labels[:digits.N8])
	if err != nil {
		return RejectStats{}, nil, err
	}
	nn := val.N
	total := val.N + val.N8 + nn
	x := make([]float32, total*size)
	want := make([]int, 0, total) // class, or -1 for a negative
	copy(x, val.Inputs(m.Norm))
	for i := 0; i < val.N; i++ {
		want = append(want, int(val.Labels[i]))
	}
	img, tmp := make([]float32, size), make([]float32, size)
	mean, inv := m.Norm.Mean, 1/m.Norm.Std
	for i := 0; i < val.N8; i++ {
		r := NewRNG(seed, streamValRobust, uint64(i))
		robustAugment(val.Pix[i*size:(i+1)*size], val.H, val.W, &r, img, tmp)
		for j, v := range img {
			x[(val.N+i)*size+j] = (v - mean) * inv
		}
		want = append(want, int(val.Labels[i]))
	}
	negPix := make([]uint8, nn*size)
	r := NewRNG(seed, streamValNegatives)
	renderNegatives(gen, r.Uint64(), negPix, nn, threads)
	Normalize(m, negPix, x[(val.N+val.N8)*size:])
	for i := 0; i < nn; i++ {
		want = append(want, -1)
	}
	C := m.Arch.Classes
	logits := make([]float32, total*C)
	if err := Predict(ctx, m, x, total, threads, logits); err != nil {
		return RejectStats{}, nil, err
	}
	probs := make([]float32, len(logits))
	for i := 0; i < total; i++ {
		softmaxInto(logits[i*C:(i+1)*C], probs[i*C:(i+1)*C])
	}
	var all []RejectStats
	best := RejectStats{Threshold: -1}
	for _, t := range thresholdCandidates {
		st := RejectStats{Threshold: t}
		var nd, nneg int
		for i, w := range want {
			d := Decide(probs[i*C:(i+1)*C], rej, float32(t))
			if w < 0 || w == rej {
				nneg++
				if d < 0 {
					st.NegativesRejected++
				}
				continue
			}
			nd++
			if d == w {
				st.DigitsAccepted++
			}
		}
		st.DigitsAccepted *= 100 / float64(max(nd, 1))
		st.NegativesRejected *= 100 / float64(max(nneg, 1))
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

// WithNegatives returns set followed by a tenth as many negatives (label
// RejectClasses-1, "x", rounded up) of stream seed; the 8-bit digit
// images of digits feed the fragment and touching kinds.
func WithNegatives(set, digits *data.Set, seed uint64, threads int) (*data.Set, error) {
	const size = negatives.Size * negatives.Size
	if set.H*set.W != size || digits.H*digits.W != size {
		return nil, fmt.Errorf("train: negatives: %w: images are %dx%d", model.ErrShape, set.H, set.W)
	}
	var pix, lab []uint8
	for i := 0; i < digits.N8; i++ {
		if digits.Labels[i] < RejectClasses-1 {
			pix = append(pix, digits.Pix[i*size:(i+1)*size]...)
			lab = append(lab, digits.Labels[i])
		}
	}
	gen, err := negatives.New(pix, lab)
	if err != nil {
		return nil, err
	}
	k := (set.N + 9) / 10
	neg := &data.Set{N: k, H: set.H, W: set.W, N8: k, Pix: make([]uint8, k*size), Labels: make([]uint8, k)}
	for i := range neg.Labels {
		neg.Labels[i] = RejectClasses - 1
	}
	renderNegatives(gen, seed, neg.Pix, k, max(threads, 1))
	return data.Concat(set, neg)
}
