package native

import (
	"math"

	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// Input quantization of the int8 graphs (the QUANTIZE step that turns the
// float input into int8), split over the workers.

const quantChunk = 4096 // values per work unit

// quantParams are the constants of quantizeAsm (layout fixed by
// quant_amd64.s).
type quantParams struct {
	inv, vlo, vhi, half, eps float64
	abs                      uint64
	zp, lo, hi               int32
}

// quantizeI8 writes dst[i] = qmath.QuantizeValue(src[i], s, zp, lo, hi)
// for every i (len(dst) ≥ len(src)).
//
// The vector kernel multiplies by 1/s instead of dividing, and rounds
// half away from zero. That is exact away from ties: x and s are float32,
// so x/s is either exactly a tie k+½ or at least 2^-26 away from every
// tie in the range that matters (|x/s| < 2^9: the numerator of
// x/s − (k+½) is a nonzero multiple of a power of two that bounds it
// below), while x·fl(1/s) is within |x/s|·2^-52 < 2^-43 of x/s: both
// round the same way. Values within 2^-30 of a tie, and values outside
// (lo−zp−1, hi−zp+1) (clamped, NaN, ±Inf: QuantizeValue's own,
// architecture-defined results) take QuantizeValue itself.
func quantizeI8(dst []int8, src []float32, s float32, zp, lo, hi int32) {
	dst = dst[:len(src)]
	i := 0
	if hasQuantizeAsm && len(src) >= 16 {
		p := quantParams{inv: 1 / float64(s), vlo: float64(lo - zp - 1), vhi: float64(hi - zp + 1), half: 0.5, eps: 0x1p-30,
			abs: math.MaxInt64, zp: zp, lo: lo, hi: hi}
		for i+16 <= len(src) {
			i += 16 * quantizeAsm(&dst[i], &src[i], (len(src)-i)/16, &p)
			if i+16 <= len(src) { // a block the kernel left: in Go
				for j := i; j < i+16; j++ {
					dst[j] = int8(qmath.QuantizeValue(src[j], s, zp, lo, hi))
				}
				i += 16
			}
		}
	}
	for ; i < len(src); i++ {
		dst[i] = int8(qmath.QuantizeValue(src[i], s, zp, lo, hi))
	}
}

// quantizeStep is the QUANTIZE step float32 → int8, in units of
// quantChunk values shared by the workers.
func (e *Engine) quantizeStep(k int, x, y *tval, s float32, zp, lo, hi int32) step {
	fn := func(_, u0, u1 int) {
		a, b := u0*quantChunk, min(u1*quantChunk, x.n)
		quantizeI8(y.i8[a:b], x.f32[a:b], s, zp, lo, hi)
	}
	return step{op: k, run: func(batch int) {
		e.pool.run((x.n+quantChunk-1)/quantChunk, fn)
	}}
}
