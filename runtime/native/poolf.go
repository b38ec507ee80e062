package native

import (
	"math"

	"github.com/edgecnn/edgecnn/model"
)

// Fused 2×2 max pooling of four GEMM output rows with bias and a clamp
// (the activations: ReLU is [0, +Inf), ReLU6 [0, 6], none (−Inf, +Inf)).

// clampRange is the range of act1 followed by act2 (both monotonic clamps
// whose ranges nest, so one clamp to the intersection equals the two).
func clampRange(acts ...model.Activation) (lo, hi float32) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	for _, a := range acts {
		switch a {
		case model.ActReLU:
			lo = 0
		case model.ActReLU6:
			lo, hi = 0, 6
		}
	}
	return lo, hi
}

// mx and mn are MAXPS/MINPS with the first operand as src1: a NaN in v
// passes through the clamp (lo > NaN is false).
func mx(a, b float32) float32 {
	if a > b {
		return a
	}
	return b
}

func mn(a, b float32) float32 {
	if a < b {
		return a
	}
	return b
}

// pool4Go is the reference for pool4Asm: for i < n,
//
//	v := mx(mx(a[i], b[i]), mx(c[i], d[i])) + bias[i]
//	out[i] = mn(hi, mx(lo, v))
func pool4Go(a, b, c, d, bias, out []float32, lo, hi float32) {
	n := len(out)
	a, b, c, d, bias = a[:n], b[:n], c[:n], d[:n], bias[:n]
	for i := range out {
		v := mx(mx(a[i], b[i]), mx(c[i], d[i])) + bias[i]
		out[i] = mn(hi, mx(lo, v))
	}
}

// pool4 computes pool4Go with the assembly kernel on whole groups of 8
// where available.
func pool4(a, b, c, d, bias, out []float32, lo, hi float32) {
	n := len(out)
	_, _, _, _, _ = a[:n], b[:n], c[:n], d[:n], bias[:n]
	v := 0
	if hasPoolAsm {
		v = n &^ 7
		if v > 0 {
			pool4Asm(v, &a[0], &b[0], &c[0], &d[0], &bias[0], &out[0], lo, hi)
		}
	}
	if v < n {
		pool4Go(a[v:n], b[v:n], c[v:n], d[v:n], bias[v:n], out[v:n], lo, hi)
	}
}
