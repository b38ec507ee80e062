package model

import "math"

// SatMul returns a·b for non-negative a and b, or math.MaxInt64 when the
// product overflows: byte counts computed from a file's declared shapes
// saturate instead of wrapping to a small (or negative) figure.
func SatMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// SatAdd returns a+b for non-negative a and b, or math.MaxInt64 when the
// sum overflows.
func SatAdd(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}
