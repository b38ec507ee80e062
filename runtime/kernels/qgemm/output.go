package qgemm

import (
	"fmt"
	"unsafe"

	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// OutputStage is the requantization that follows a GEMM: for channel i,
//
//	out[i] = clamp(ZpOut + qmath.Mul(Rounding, acc + Bias[i], Mult[i], Shift[i]), Lo, Hi)
//
// where acc is a GEMM result or, for a fused max pooling, the maximum of
// several (see Max4). Per-channel slices are padded to a multiple of 16.
type OutputStage struct {
	N        int
	Bias     []int32
	Mult     []int32
	Shift    []int
	Scale    []float32 // for qmath.FP32
	params   []int64   // per-channel constants of the kernel (see vecParams)
	ZpOut    int32
	Lo, Hi   int32
	Rounding qmath.Rounding
	kern     outputKernel // the kernel of the one-rounding formula; fn nil: max4Go
}

// outputFunc is an output stage kernel: max4Go for Double and Ruy rounding
// and multipliers < 1 (shift ≤ 0) over count pixels whose rows are cstep
// bytes apart and outputs ostep bytes apart, with the per-channel
// constants of OutputStage.vecParams; pool false reads c0 only.
type outputFunc func(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool)

// outputKernel names an output stage kernel; outputKernels lists those
// this CPU can run, best first: vector kernels, then outputFormula.
type outputKernel struct {
	name string
	fn   outputFunc
}

// NewOutputStage copies the per-channel parameters (n channels; mult and
// shift may have length 1 for per-tensor quantization).
//
// scale (same length as mult) is only used by the qmath.FP32 rule.
func NewOutputStage(n int, bias, mult []int32, shift []int, scale []float32, zp, lo, hi int32, r qmath.Rounding) (*OutputStage, error) {
	if n < 1 || len(bias) != n || len(mult) != len(shift) || (len(mult) != 1 && len(mult) != n) || (r == qmath.FP32 && len(scale) != len(mult)) {
		return nil, fmt.Errorf("qgemm: output stage: %d channels, %d biases, %d multipliers, %d shifts, %d scales", n, len(bias), len(mult), len(shift), len(scale))
	}
	np := (n + 15) &^ 15
	o := &OutputStage{N: n, Bias: make([]int32, np), Mult: make([]int32, np), Shift: make([]int, np), Scale: make([]float32, np),
		ZpOut: zp, Lo: lo, Hi: hi, Rounding: r}
	copy(o.Bias, bias)
	vec := (r == qmath.Double || r == qmath.Ruy) && len(outputKernels) > 0
	for i := 0; i < n; i++ {
		j := i
		if len(mult) == 1 {
			j = 0
		}
		o.Mult[i], o.Shift[i] = mult[j], shift[j]
		if r == qmath.FP32 {
			o.Scale[i] = scale[j]
		}
		if shift[j] > 0 || mult[j] < 0 {
			vec = false // the kernels handle multipliers < 1 only
		}
	}
	if vec {
		o.kern = outputKernels[0]
		o.params = o.vecParams()
	}
	return o, nil
}

// Kernel names the implementation used: a vector kernel, "go-formula", or "go" (max4Go).
func (o *OutputStage) Kernel() string {
	if o.kern.fn != nil {
		return o.kern.name
	}
	return "go"
}

// Row requantizes one GEMM row: out[i] for i < N from c[i]. len(c) must
// be at least N rounded up to 16 (a GEMM row of 16·NBlk values is).
func (o *OutputStage) Row(c []int32, out []int8) { o.Max4(c, c, c, c, out) }

// Max4 requantizes the element-wise maximum of four GEMM rows (a 2×2 max
// pooling window; pass a row several times for smaller windows).
func (o *OutputStage) Max4(c0, c1, c2, c3 []int32, out []int8) {
	np := (o.N + 15) &^ 15
	if len(c0) < np || len(c1) < np || len(c2) < np || len(c3) < np || len(out) < o.N {
		panic(fmt.Sprintf("qgemm: output stage: rows of %d/%d/%d/%d, out %d for %d channels", len(c0), len(c1), len(c2), len(c3), len(out), o.N))
	}
	if o.kern.fn != nil {
		o.kern.fn(&c0[0], &c1[0], &c2[0], &c3[0], o.N, &o.Bias[0], &o.params[0], (*int8)(unsafe.Pointer(&out[0])), o.ZpOut, o.Lo, o.Hi, 1, 0, 0, true)
		return
	}
	o.max4Go(c0, c1, c2, c3, out)
}

// vecParams lays out the kernels' per-channel constants: for each
// 16 channels, 8 qwords each of M, K, A and S for the even channels, then
// the same for the odd channels, such that for the int64 product p = x·M
//
//	qmath.Mul(rounding, x, M, −e) = (p + K − [p < 0]·A) >> S
//
// Derivation (M ≥ 0, e = −shift ≥ 0, floor division throughout):
// SaturatingRoundingDoublingHighMul is y = (p + 2^30) >> 31 for every p
// (for p < 0 TFLite adds 1 − 2^30 and truncates toward zero, which is
// the floor of (p + 1 − 2^30 + 2^31 − 1)/2^31); the rounding right shift
// by e is (y + c) >> e with c = 2^(e−1) (ruy: ties up) or 2^(e−1) − [y < 0]
// (ties away from zero), c = 0 for e = 0; and since
// ⌊(⌊a/2^31⌋ + c)/2^e⌋ = ⌊(a + c·2^31)/2^(31+e)⌋, both are one shift by
// S = 31 + e of p + 2^30 + c·2^31. y < 0 exactly when p < −2^30; for
// −2^30 ≤ p < 0 subtracting 2^31 anyway changes nothing (the numerator
// stays in [0, 2^(31+e)) either way, e ≥ 1), so the test is the sign of p.
// So K = 2^30 + 2^(30+e) (2^30 for e = 0), A = 2^31 for ties away from
// zero with e > 0 (else 0). |p| < 2^62 and K < 2^61: no overflow.
func (o *OutputStage) vecParams() []int64 {
	np := (o.N + 15) &^ 15
	q := make([]int64, 4*np)
	for i := 0; i < np; i++ {
		g, l := i/16, (i%16)/2
		if i%2 == 1 {
			l += 32 // the odd channels' half
		}
		e := -o.Shift[i]
		k, a := int64(1)<<30, int64(0)
		if e > 0 {
			k += int64(1) << (30 + e)
			if o.Rounding != qmath.Ruy {
				a = 1 << 31
			}
		}
		q[64*g+l] = int64(o.Mult[i])
		q[64*g+8+l] = k
		q[64*g+16+l] = a
		q[64*g+24+l] = int64(31 + e)
	}
	return q
}

// Pool2x2 requantizes count pixels of a 2×2 max pooling over GEMM rows
// (stride ldc ≥ N rounded up to 16): pooled pixel p is the maximum of rows
// 2p, 2p+1, rowW+2p and rowW+2p+1 of c, written to out[p·ostride:][:N].
// It equals count calls of Max4, in one call of the kernel.
func (o *OutputStage) Pool2x2(c []int32, ldc, rowW, count int, out []int8, ostride int) {
	if count <= 0 {
		return
	}
	np := (o.N + 15) &^ 15
	if ldc < np || rowW < 0 || ostride < o.N || len(c) < (rowW+2*count-1)*ldc+np || len(out) < (count-1)*ostride+o.N {
		panic(fmt.Sprintf("qgemm: output stage: pool of %d pixels (ldc %d, row %d, out stride %d) over %d values into %d for %d channels", count, ldc, rowW, ostride, len(c), len(out), o.N))
	}
	if o.kern.fn != nil {
		o.kern.fn(&c[0], &c[ldc], &c[rowW*ldc], &c[(rowW+1)*ldc], o.N, &o.Bias[0], &o.params[0], (*int8)(unsafe.Pointer(&out[0])), o.ZpOut, o.Lo, o.Hi, count, 8*ldc, ostride, true)
		return
	}
	for p := 0; p < count; p++ {
		o.max4Go(c[(2*p)*ldc:], c[(2*p+1)*ldc:], c[(rowW+2*p)*ldc:], c[(rowW+2*p+1)*ldc:], out[p*ostride:])
	}
}

// Rows requantizes count GEMM rows (stride ldc ≥ N rounded up to 16):
// row p of c to out[p·ostride:][:N]. It equals count calls of Row, in one
// call of the kernel.
func (o *OutputStage) Rows(c []int32, ldc, count int, out []int8, ostride int) {
	if count <= 0 {
		return
	}
	np := (o.N + 15) &^ 15
	if ldc < np || ostride < o.N || len(c) < (count-1)*ldc+np || len(out) < (count-1)*ostride+o.N {
		panic(fmt.Sprintf("qgemm: output stage: %d rows (ldc %d, out stride %d) over %d values into %d for %d channels", count, ldc, ostride, len(c), len(out), o.N))
	}
	if o.kern.fn != nil {
		o.kern.fn(&c[0], &c[0], &c[0], &c[0], o.N, &o.Bias[0], &o.params[0], (*int8)(unsafe.Pointer(&out[0])), o.ZpOut, o.Lo, o.Hi, count, 4*ldc, ostride, false)
		return
	}
	for p := 0; p < count; p++ {
		r := c[p*ldc:]
		o.max4Go(r, r, r, r, out[p*ostride:])
	}
}

// max4Go is the reference the kernels must equal.
func (o *OutputStage) max4Go(c0, c1, c2, c3 []int32, out []int8) {
	n := o.N
	c0, c1, c2, c3, out = c0[:n], c1[:n], c2[:n], c3[:n], out[:n]
	bias, mult, shift := o.Bias[:n], o.Mult[:n], o.Shift[:n]
	if o.Rounding == qmath.FP32 {
		scale := o.Scale[:n]
		for i := range out {
			acc := max(max(c0[i], c1[i]), max(c2[i], c3[i])) + bias[i]
			v := qmath.MulFP32(acc, scale[i]) + o.ZpOut
			out[i] = int8(min(max(v, o.Lo), o.Hi))
		}
		return
	}
	for i := range out {
		acc := max(max(c0[i], c1[i]), max(c2[i], c3[i])) + bias[i]
		v := qmath.Mul(o.Rounding, acc, mult[i], shift[i]) + o.ZpOut
		out[i] = int8(min(max(v, o.Lo), o.Hi))
	}
}
