package quantize

import (
	"fmt"
	"math"

	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// Int8 ranges of TFLite's scheme.
const (
	qMin       = -128 // activations
	qMax       = 127
	wMax       = 127 // weights are symmetric in [-127, 127]
	minSpan    = 1e-6
	maxBiasAbs = math.MaxInt32
)

// activationParams chooses the per-tensor scale and zero point of an int8
// activation for the float range r (which contains 0), as TFLite's
// ChooseQuantizationParams does: scale = (hi−lo)/255, zero point nudged to
// an integer in [-128, 127] from the end with the smaller rounding error, so
// that 0.0 is exactly representable.
//
// A (nearly) constant zero tensor — a dead ReLU, for example — has no span:
// it gets scale 1 and the zero point of its lower end, a valid encoding in
// which every such value quantizes to the zero point exactly. This never
// divides by zero or yields NaN/Inf.
func activationParams(r Range) (scale float32, zp int32, err error) {
	lo, hi := math.Min(r.Lo, 0), math.Max(r.Hi, 0)
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 0, fmt.Errorf("quantize: activation range [%v, %v] is not finite", r.Lo, r.Hi)
	}
	if hi-lo < minSpan {
		if lo < 0 {
			return 1, qMax, nil
		}
		return 1, qMin, nil
	}
	s := (hi - lo) / float64(qMax-qMin)
	scale = float32(s)
	s = float64(scale) // compute the zero point with the stored scale
	zpFromMin := float64(qMin) - lo/s
	zpFromMax := float64(qMax) - hi/s
	errMin := math.Abs(float64(qMin)) + math.Abs(lo/s)
	errMax := math.Abs(float64(qMax)) + math.Abs(hi/s)
	z := zpFromMax
	if errMin < errMax {
		z = zpFromMin
	}
	switch {
	case z < qMin:
		zp = qMin
	case z > qMax:
		zp = qMax
	default:
		zp = int32(math.Round(z))
	}
	return scale, zp, nil
}

// weightScales returns the symmetric int8 scale of each output channel
// (max|w|/127) of weights laid out [channels][rest]. When perChannel is
// false one scale covers the whole tensor (repeated per channel in the
// result). An all-zero channel gets scale 1/127, as if its largest weight
// were 1: every weight quantizes to 0, and the scale stays finite and
// nonzero.
func weightScales(w []float32, channels int, perChannel bool) []float64 {
	per := len(w) / channels
	s := make([]float64, channels)
	var all float64
	for c := 0; c < channels; c++ {
		var m float64
		for _, v := range w[c*per : (c+1)*per] {
			m = math.Max(m, math.Abs(float64(v)))
		}
		s[c] = m
		all = math.Max(all, m)
	}
	for c := range s {
		if !perChannel {
			s[c] = all
		}
		if s[c] == 0 {
			s[c] = 1
		}
		s[c] /= wMax
	}
	return s
}

// quantizeLayer quantizes the weights and bias of one conv or dense layer.
// sIn is the input activation scale. The bias of channel c is stored as
// int32 with scale sIn·sW[c]; if it would not fit, sW[c] is raised until it
// does (the weights of that channel are then coarser, never wrong).
func quantizeLayer(w, b []float32, channels int, sIn float32, perChannel bool) (qw []int8, qb []int32, sW []float32, err error) {
	if channels <= 0 || len(w)%channels != 0 {
		return nil, nil, nil, fmt.Errorf("quantize: %d weights do not split into %d channels", len(w), channels)
	}
	if len(b) != channels {
		return nil, nil, nil, fmt.Errorf("quantize: %d biases for %d channels", len(b), channels)
	}
	if !(sIn > 0) || math.IsInf(float64(sIn), 0) {
		return nil, nil, nil, fmt.Errorf("quantize: input scale %v is not positive and finite", sIn)
	}
	for i, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, nil, fmt.Errorf("quantize: weight %d is %v", i, v)
		}
	}
	for i, v := range b {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, nil, fmt.Errorf("quantize: bias %d is %v", i, v)
		}
	}
	scales := weightScales(w, channels, perChannel)
	// Bias headroom: |b|/(sIn·sW) must stay below 2^31−1.
	need := 0.0
	for c := range scales {
		need = math.Max(need, math.Abs(float64(b[c]))/(float64(sIn)*maxBiasAbs*0.5))
	}
	for c := range scales {
		if perChannel {
			scales[c] = math.Max(scales[c], math.Abs(float64(b[c]))/(float64(sIn)*maxBiasAbs*0.5))
		} else {
			scales[c] = math.Max(scales[c], need)
		}
	}
	per := len(w) / channels
	qw = make([]int8, len(w))
	qb = make([]int32, channels)
	sW = make([]float32, channels)
	for c := 0; c < channels; c++ {
		sW[c] = float32(scales[c])
		if sW[c] == 0 { // underflow of a tiny scale to float32
			sW[c] = math.SmallestNonzeroFloat32
		}
		for i := c * per; i < (c+1)*per; i++ {
			qw[i] = int8(qmath.QuantizeValue(w[i], sW[c], 0, -wMax, wMax))
		}
		bs := float64(sIn) * float64(sW[c])
		v := math.Round(float64(b[c]) / bs)
		if v > maxBiasAbs || v < -maxBiasAbs || math.IsNaN(v) {
			return nil, nil, nil, fmt.Errorf("quantize: bias %v of channel %d does not fit int32 at scale %g", b[c], c, bs)
		}
		qb[c] = int32(v)
	}
	return qw, qb, sW, nil
}

// multiplierOK reports whether requantizing with real multiplier m is safe
// in TFLite's pipeline: representable (not flushed to zero when it should
// not be) and small enough that the left shift cannot overflow a realistic
// accumulator.
func multiplierOK(m float64) bool {
	if m <= 0 || math.IsNaN(m) || math.IsInf(m, 0) {
		return false
	}
	_, shift := qmath.QuantizeMultiplier(m)
	return shift <= 8
}
