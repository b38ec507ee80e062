package native

import "github.com/edgecnn/edgecnn/runtime/qmath"

// Input quantization of the int8 graphs (the QUANTIZE step that turns the
// float input into int8), split over the workers: at batch 256 it is one
// float64 division per input value, about a tenth of the int8 work, and
// run on one thread it limited the two-thread speed-up.

const quantChunk = 4096 // values per work unit

// quantizeI8 writes dst[i] = qmath.QuantizeValue(src[i], s, zp, lo, hi).
func quantizeI8(dst []int8, src []float32, s float32, zp, lo, hi int32) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = int8(qmath.QuantizeValue(x, s, zp, lo, hi))
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
