package model

import (
	"fmt"
	"math"
)

// Ranges of quantization parameters that Graph.Validate accepts: a scale
// is a finite, normal float32 in [MinScale, MaxScale]; a zero point lies in
// the range of its tensor's type (int8 [-128, 127], uint8 [0, 255], int32
// and others [-2^31, 2^31-1]).
const (
	MinScale = 0x1p-126 // the smallest normal float32
	MaxScale = 1e30
)

// checkRanges range-checks scales, zero points and the informational
// calibration range, so that a model file cannot smuggle NaN, infinite,
// zero, negative or absurd values into the requantization arithmetic.
func (q *Quant) checkRanges(dt DType) error {
	for i, s := range q.Scale {
		f := float64(s)
		if math.IsNaN(f) || f < MinScale || f > MaxScale {
			return fmt.Errorf("quantization scale %d is %v, want a finite value in [%g, %g]", i, s, MinScale, MaxScale)
		}
	}
	lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
	switch dt {
	case Int8:
		lo, hi = -128, 127
	case UInt8:
		lo, hi = 0, 255
	}
	for i, z := range q.ZeroPoint {
		if z < lo || z > hi {
			return fmt.Errorf("zero point %d is %d, outside [%d, %d] of %v", i, z, lo, hi, dt)
		}
	}
	for _, v := range append(append([]float32(nil), q.Min...), q.Max...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("calibration range holds %v", v)
		}
	}
	return nil
}
