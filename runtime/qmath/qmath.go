// Package qmath is the single home of edgecnn's int8 fixed-point arithmetic:
// TFLite's quantized multiplier and its requantization rules. Every int8
// kernel (reference and SIMD, native runtime and quantizer) uses these
// functions or is tested against them.
//
// Two rounding rules exist:
//   - Double (TFLite's default): SaturatingRoundingDoublingHighMul followed
//     by RoundingDivideByPOT, as in gemmlowp and lite/kernels/internal/common.h.
//   - Single (TFLITE_SINGLE_ROUNDING builds and XNNPACK): one rounding of
//     x·M by 2^(31−shift), ties toward +inf (see MulSingle).
package qmath

import (
	"fmt"
	"math"
)

// Rounding selects a requantization rule.
type Rounding int

// Rounding rules.
const (
	Double Rounding = iota // TFLite reference default
	Single                 // XNNPACK / TFLITE_SINGLE_ROUNDING
	// Ruy is the rule of TFLite's optimized CPU kernels (ruy, used by the
	// TFLite C library's default CONV_2D/FULLY_CONNECTED): like Double, but
	// the final rounding right shift rounds ties toward +inf (see MulRuy).
	Ruy
	// FP32 is XNNPACK's requantization: float32(acc)·scale in float32,
	// rounded to nearest even (see MulFP32). It needs the float scale, so
	// Mul cannot apply it.
	FP32
)

func (r Rounding) String() string {
	switch r {
	case Single:
		return "single"
	case Ruy:
		return "ruy"
	case FP32:
		return "fp32"
	}
	return "double"
}

// MetaKey is the model-metadata key that records the rounding rule a graph
// was quantized and evaluated with; runtimes default to it.
const MetaKey = "edgecnn.rounding"

// ParseRounding maps "double", "single", "ruy" and "fp32" to a rule.
func ParseRounding(s string) (Rounding, error) {
	for _, r := range []Rounding{Double, Single, Ruy, FP32} {
		if r.String() == s {
			return r, nil
		}
	}
	return Double, fmt.Errorf("unknown rounding %q (want double, single, ruy or fp32)", s)
}

// QuantizeMultiplier splits a real multiplier into a Q31 fixed-point
// mantissa M in [2^30, 2^31) and a power-of-two shift, so that
// real ≈ M·2^(shift−31). It follows TFLite's QuantizeMultiplier: frexp,
// round(q·2^31) half away from zero, renormalize when M reaches 2^31, and
// flush to zero below 2^-31.
func QuantizeMultiplier(real float64) (m int32, shift int) {
	if real == 0 {
		return 0, 0
	}
	q, exp := math.Frexp(real)
	qf := int64(math.Round(q * (1 << 31))) // math.Round: half away from zero
	if qf == 1<<31 {
		qf /= 2
		exp++
	}
	if exp < -31 {
		return 0, 0
	}
	return int32(qf), exp
}

// SaturatingRoundingDoublingHighMul returns a·b / 2^31 rounded half toward
// +inf (gemmlowp's nudge then truncation), saturating the single overflow case
// MinInt32·MinInt32. It equals arm64 SQRDMULH.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == math.MinInt32 && b == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31)) // Go's / truncates toward zero, as C++ does
}

// RoundingDivideByPOT returns x / 2^exp rounded half away from zero.
func RoundingDivideByPOT(x int32, exp int) int32 {
	mask := int32(1)<<uint(exp) - 1
	rem := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> uint(exp)
	if rem > threshold {
		r++
	}
	return r
}

// MulDouble is TFLite's MultiplyByQuantizedMultiplier (double rounding).
func MulDouble(x, m int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x*(int32(1)<<uint(left)), m), right)
}

// MulSingle is the single-rounding requantization: round(x·M / 2^(31−shift))
// with ties rounded up (toward +inf), as TFLITE_SINGLE_ROUNDING does
// (it adds 2^(total_shift−1) and shifts arithmetically).
func MulSingle(x, m int32, shift int) int32 {
	total := 31 - shift
	if total <= 0 {
		// Unusual: multiplier ≥ 2^31·2^0; saturate like a wide shift-left.
		v := int64(x) * int64(m) << uint(-total)
		return sat32(v)
	}
	v := int64(x)*int64(m) + int64(1)<<uint(total-1)
	return sat32(v >> uint(total))
}

// MulRuy is ruy's ApplyMultiplier as its x86 (AVX2/AVX-512) kernels
// implement it: x·2^left, SaturatingRoundingDoublingHighMul by m, then a
// right shift that adds 2^(right−1) and shifts arithmetically (ties toward
// +inf, where RoundingDivideByPOT rounds them away from zero), computed
// without overflow.
func MulRuy(x, m int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	y := int64(SaturatingRoundingDoublingHighMul(x*(int32(1)<<uint(left)), m))
	if right > 0 {
		y = (y + int64(1)<<uint(right-1)) >> uint(right)
	}
	return int32(y)
}

// MulFP32 is XNNPACK's fp32 requantization of an accumulator: the float32
// product float32(x)·scale rounded to the nearest integer, ties to even
// (XNNPACK's magic-bias or lrintf rounding), saturated to int32. scale is
// the float32 value s_in·s_w/s_out computed in float32, left to right.
func MulFP32(x int32, scale float32) int32 {
	v := math.RoundToEven(float64(float32(x) * scale))
	return sat32(int64(max(min(v, math.MaxInt32), math.MinInt32)))
}

// Mul requantizes with the given rule. It panics for FP32, which needs
// the float scale (MulFP32).
func Mul(r Rounding, x, m int32, shift int) int32 {
	switch r {
	case FP32:
		panic("qmath: Mul cannot apply the FP32 rule; use MulFP32")
	case Single:
		return MulSingle(x, m, shift)
	case Ruy:
		return MulRuy(x, m, shift)
	}
	return MulDouble(x, m, shift)
}

func sat32(v int64) int32 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int32(v)
}

// Requantize converts an int32 accumulator to int8: multiply, add the output
// zero point, clamp to [lo, hi].
func Requantize(r Rounding, acc, m int32, shift int, zpOut, lo, hi int32) int8 {
	v := Mul(r, acc, m, shift) + zpOut
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return int8(v)
}

// ActivationRange returns TFLite's clamp range for an int8 output with
// zero point zp and scale s: full range, or max(-128, zp)..127 with ReLU,
// and min(127, zp+round(6/s)) as upper bound with ReLU6.
func ActivationRange(relu, relu6 bool, scale float32, zp int32) (lo, hi int32) {
	lo, hi = -128, 127
	if relu || relu6 {
		lo = max(lo, zp)
	}
	if relu6 {
		hi = min(hi, zp+int32(math.Round(6/float64(scale))))
	}
	return lo, hi
}

// QuantizeValue is TFLite's QUANTIZE for one float: round half away from
// zero of x/scale, plus zp, saturated to [lo, hi].
func QuantizeValue(x, scale float32, zp, lo, hi int32) int32 {
	v := int64(math.Round(float64(x)/float64(scale))) + int64(zp)
	if v < int64(lo) {
		return lo
	}
	if v > int64(hi) {
		return hi
	}
	return int32(v)
}
