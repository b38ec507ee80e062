package quantize

import (
	"fmt"
	"math"
	"strings"
)

// Method is a calibration method: how an activation's clipping range is
// chosen from the values observed on the calibration images.
type Method string

// Calibration methods.
const (
	MinMax     Method = "minmax"     // the observed minimum and maximum
	Percentile Method = "percentile" // clip to the p-th percentile (Options.Percentile)
	Entropy    Method = "entropy"    // minimize KL divergence (TensorRT / ONNX Runtime)
	MSE        Method = "mse"        // minimize the expected squared quantization error
	Auto       Method = "auto"       // try each, keep the best on a validation slice
)

// Methods lists the concrete calibration methods in the order Auto tries them.
func Methods() []Method { return []Method{MinMax, Percentile, Entropy, MSE} }

// ParseMethod validates a method name.
func ParseMethod(s string) (Method, error) {
	m := Method(strings.ToLower(strings.TrimSpace(s)))
	switch m {
	case MinMax, Percentile, Entropy, MSE, Auto:
		return m, nil
	}
	return "", fmt.Errorf("quantize: unknown calibration method %q (want minmax, percentile, entropy, mse or auto)", s)
}

// histBins is the number of histogram bins over [-r, r]; folded to |x| it
// gives the 2048 bins of the TensorRT / ONNX Runtime entropy calibrator.
const histBins = 4096

// observer collects the statistics of one activation tensor in a single
// pass: the exact minimum and maximum, and a histogram of histBins bins
// over the symmetric range [-r, r]. r starts at the first batch's largest
// magnitude and doubles whenever a later batch exceeds it; doubling merges
// pairs of bins exactly, so no value is ever re-binned approximately.
type observer struct {
	min, max float64
	n        int64
	r        float64   // histogram half-range (0: every value so far was 0)
	zeros    float64   // values seen while r was 0
	hist     []float64 // histBins counts over [-r, r]
}

func newObserver() *observer {
	return &observer{min: math.Inf(1), max: math.Inf(-1), hist: make([]float64, histBins)}
}

// observe adds a batch of values.
func (o *observer) observe(xs []float32) {
	mn, mx := math.Inf(1), math.Inf(-1)
	for _, v := range xs {
		f := float64(v)
		if f < mn {
			mn = f
		}
		if f > mx {
			mx = f
		}
	}
	o.min, o.max = math.Min(o.min, mn), math.Max(o.max, mx)
	o.n += int64(len(xs))
	a := math.Max(math.Abs(mn), math.Abs(mx))
	if math.IsNaN(a) || math.IsInf(a, 0) {
		return // reported by rangeFor
	}
	if a > o.r {
		if o.r == 0 {
			o.r = a
		} else {
			for o.r < a {
				o.grow()
			}
		}
	}
	if o.r == 0 {
		o.zeros += float64(len(xs))
		return
	}
	if o.zeros > 0 {
		o.hist[histBins/2] += o.zeros
		o.zeros = 0
	}
	scale := float64(histBins) / (2 * o.r)
	for _, v := range xs {
		i := int((float64(v) + o.r) * scale)
		if i < 0 {
			i = 0
		} else if i >= histBins {
			i = histBins - 1
		}
		o.hist[i]++
	}
}

// grow doubles r: old bin i covers [-r + i·w, -r + (i+1)·w), which lies
// exactly inside new bin (histBins/2 + i)/2 of width 2w.
func (o *observer) grow() {
	h := make([]float64, histBins)
	for i, c := range o.hist {
		h[(histBins/2+i)/2] += c
	}
	o.hist = h
	o.r *= 2
}

// binWidth is the width of one histogram bin.
func (o *observer) binWidth() float64 { return 2 * o.r / histBins }

// nonNegative reports whether every observed value was ≥ 0 (e.g. after a
// fused ReLU); such tensors use all 256 int8 levels for [0, hi].
func (o *observer) nonNegative() bool { return o.min >= 0 }

// absHist folds the histogram to |x|: histBins/2 bins over [0, r].
func (o *observer) absHist() []float64 {
	h := make([]float64, histBins/2)
	mid := histBins / 2
	for k := range h {
		h[k] = o.hist[mid+k] + o.hist[mid-1-k]
	}
	return h
}

// Range is a float clipping range [Lo, Hi] that always contains 0.
type Range struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// rangeFor chooses the clipping range of the tensor with method m.
func (o *observer) rangeFor(m Method, percentile float64) (Range, error) {
	if o.n == 0 {
		return Range{}, fmt.Errorf("quantize: no values observed")
	}
	if math.IsNaN(o.min) || math.IsNaN(o.max) || math.IsInf(o.min, 0) || math.IsInf(o.max, 0) {
		return Range{}, fmt.Errorf("quantize: activation range [%v, %v] is not finite", o.min, o.max)
	}
	full := Range{Lo: math.Min(o.min, 0), Hi: math.Max(o.max, 0)}
	if o.r == 0 || m == MinMax {
		return full, nil // constant zero, or nothing to search
	}
	var r Range
	switch m {
	case Percentile:
		if !(percentile > 0 && percentile <= 100) {
			return Range{}, fmt.Errorf("quantize: percentile %v out of range (0, 100]", percentile)
		}
		r = o.percentileRange(percentile)
	case Entropy:
		r = o.entropyRange()
	case MSE:
		r = o.mseRange()
	default:
		return Range{}, fmt.Errorf("quantize: method %q has no single range", m)
	}
	// Never widen beyond what was observed, always contain 0.
	r.Lo = math.Min(math.Max(r.Lo, full.Lo), 0)
	r.Hi = math.Max(math.Min(r.Hi, full.Hi), 0)
	return r, nil
}

// quantile returns the value below which a fraction f of the observations
// lie, interpolating linearly inside a bin.
func (o *observer) quantile(f float64) float64 {
	var total float64
	for _, c := range o.hist {
		total += c
	}
	target := f * total
	w := o.binWidth()
	var cum float64
	for i, c := range o.hist {
		if cum+c >= target && c > 0 {
			frac := (target - cum) / c
			return -o.r + (float64(i)+frac)*w
		}
		cum += c
	}
	return o.r
}

func (o *observer) percentileRange(p float64) Range {
	hi := o.quantile(p / 100)
	lo := 0.0
	if !o.nonNegative() {
		lo = o.quantile(1 - p/100)
	}
	// Within one bin of an extreme the histogram cannot tell the
	// difference: use the exact value (always for the 100th percentile).
	w := o.binWidth()
	if p >= 100 || hi >= o.max-w {
		hi = o.max
	}
	if p >= 100 || lo <= o.min+w {
		lo = o.min
	}
	return Range{Lo: lo, Hi: hi}
}

// entropyRange is the KL-divergence threshold search of TensorRT's entropy
// calibrator (as implemented in ONNX Runtime and MXNet): over the |x|
// histogram with 2048 bins, for each candidate threshold bin i, compare the
// reference distribution P (bins below i, outliers added to the last bin)
// with Q, the same bins merged into the number of int8 levels available and
// expanded back; keep the threshold with the smallest KL(P‖Q).
func (o *observer) entropyRange() Range {
	h := o.absHist()
	nq := 128 // symmetric signed: 128 levels per side
	if o.nonNegative() {
		nq = 256 // [0, hi] uses all 256 levels
		// The spike of exact zeros a ReLU produces carries no information
		// about the threshold but dominates the divergence; like NVIDIA's
		// pytorch-quantization, give the zero bin its neighbour's count.
		h[0] = h[1]
	}
	nb := len(h)
	suffix := make([]float64, nb+1)
	for i := nb - 1; i >= 0; i-- {
		suffix[i] = suffix[i+1] + h[i]
	}
	best, bestKL := nb, math.Inf(1)
	p := make([]float64, nb)
	q := make([]float64, nb)
	for i := nq; i <= nb; i++ {
		copy(p[:i], h[:i])
		p[i-1] += suffix[i]
		merged := float64(i) / float64(nq)
		for j := 0; j < nq; j++ {
			start := int(float64(j) * merged)
			end := int(float64(j+1) * merged)
			if j == nq-1 {
				end = i
			}
			if end <= start {
				end = start + 1
			}
			var sum float64
			nonzero := 0
			for k := start; k < end; k++ {
				sum += h[k]
				if h[k] != 0 {
					nonzero++
				}
			}
			for k := start; k < end; k++ {
				q[k] = 0
				if h[k] != 0 {
					q[k] = sum / float64(nonzero)
				}
			}
		}
		kl := klDivergence(p[:i], q[:i])
		if kl < bestKL {
			best, bestKL = i, kl
		}
	}
	t := float64(best) * o.r / float64(nb)
	if o.nonNegative() {
		return Range{Lo: 0, Hi: t}
	}
	return Range{Lo: -t, Hi: t}
}

// klDivergence computes KL(P‖Q) of two unnormalized histograms, smoothing
// the bins where Q is zero but P is not (as ONNX Runtime does).
func klDivergence(p, q []float64) float64 {
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.Inf(1)
	}
	const eps = 1e-4
	var kl float64
	for i := range p {
		if p[i] == 0 {
			continue
		}
		pi := p[i] / sp
		qi := q[i] / sq
		if qi == 0 {
			qi = eps / sq
		}
		kl += pi * math.Log(pi/qi)
	}
	return kl
}

// mseRange searches the clipping range that minimizes the expected squared
// error of int8 quantization over the histogram: values inside the range
// contribute the rounding noise s²/12 (s = (hi−lo)/255), values outside
// their squared clipping distance. Candidates shrink the observed range by
// a common factor from 1 down to 1/256 of it.
func (o *observer) mseRange() Range {
	full := Range{Lo: math.Min(o.min, 0), Hi: math.Max(o.max, 0)}
	w := o.binWidth()
	best, bestErr := full, math.Inf(1)
	for k := 512; k >= 2; k-- {
		a := float64(k) / 512
		r := Range{Lo: full.Lo * a, Hi: full.Hi * a}
		s := (r.Hi - r.Lo) / 255
		noise := s * s / 12
		var e float64
		for i, c := range o.hist {
			if c == 0 {
				continue
			}
			x := -o.r + (float64(i)+0.5)*w
			switch {
			case x > r.Hi:
				e += c * (x - r.Hi) * (x - r.Hi)
			case x < r.Lo:
				e += c * (x - r.Lo) * (x - r.Lo)
			default:
				e += c * noise
			}
		}
		if e < bestErr {
			best, bestErr = r, e
		}
	}
	return best
}

// displayHist returns a coarse histogram (n bins over [lo, hi] of the
// observed values) for the report.
func (o *observer) displayHist(n int) Histogram {
	h := Histogram{Lo: math.Min(o.min, 0), Hi: math.Max(o.max, 0), Counts: make([]int64, n)}
	if o.r == 0 || h.Hi <= h.Lo {
		h.Counts[0] = o.n
		return h
	}
	w := o.binWidth()
	for i, c := range o.hist {
		if c == 0 {
			continue
		}
		x := -o.r + (float64(i)+0.5)*w
		j := int((x - h.Lo) / (h.Hi - h.Lo) * float64(n))
		j = min(max(j, 0), n-1)
		h.Counts[j] += int64(c)
	}
	return h
}

// clippedFraction is the fraction of observed values outside r (by
// histogram bin centre).
func (o *observer) clippedFraction(r Range) float64 {
	if o.r == 0 || o.n == 0 || (r.Lo <= o.min && r.Hi >= o.max) {
		return 0
	}
	w := o.binWidth()
	var out, total float64
	for i, c := range o.hist {
		total += c
		x := -o.r + (float64(i)+0.5)*w
		if x > r.Hi || x < r.Lo {
			out += c
		}
	}
	if total == 0 {
		return 0
	}
	return out / total
}
