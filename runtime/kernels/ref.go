// Package kernels holds edgecnn's reference operator kernels: plain Go NHWC
// loops with TFLite's reference semantics (lite/kernels/internal/reference
// and reference/integer_ops). They are the definition every fast path
// (runtime/kernels/qgemm, the native engine's fused paths) is tested
// against, and they use runtime/qmath for all int8 arithmetic.
//
// Layouts: activations NHWC, convolution filters OHWI, fully connected
// weights [out][in]. Quantized values follow real = scale·(q − zero point).
package kernels

import (
	"fmt"
	"math"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// ConvGeom is the geometry of a 2-D convolution or pooling over a batch of
// NHWC images.
type ConvGeom struct {
	N, H, W, C int // input batch, height, width, channels
	OH, OW, OC int // output height, width, channels (OC = C for pooling)
	KH, KW     int // filter size
	SH, SW     int // strides
	PadT, PadL int // zero padding before the first row / column
}

// OutSize returns TFLite's output size and leading padding of one spatial
// dimension (ComputeOutSize / ComputePaddingHeightWidth, dilation 1):
// SAME gives ceil(in/stride) and pads (total/2) before; VALID gives
// (in−filter+stride)/stride and no padding.
func OutSize(in, filter, stride int, pad model.Padding) (out, before int, err error) {
	if stride < 1 || filter < 1 || in < 1 {
		return 0, 0, fmt.Errorf("kernels: bad size in=%d filter=%d stride=%d", in, filter, stride)
	}
	switch pad {
	case model.PadSame:
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+filter-in, 0)
		before = total / 2
	case model.PadValid:
		out = (in - filter + stride) / stride
	default:
		return 0, 0, fmt.Errorf("kernels: unknown padding %d", pad)
	}
	if out < 1 {
		return 0, 0, fmt.Errorf("kernels: filter %d larger than input %d (VALID padding)", filter, in)
	}
	return out, before, nil
}

// Requant holds the int8 requantization of an output: per-channel (or one,
// broadcast) Q31 multipliers and shifts from qmath.QuantizeMultiplier, the
// output zero point and the activation clamp range.
type Requant struct {
	Mult     []int32
	Shift    []int
	Scale    []float32 // float32 s_in·s_w[c]/s_out, for qmath.FP32
	ZpOut    int32
	Lo, Hi   int32
	Rounding qmath.Rounding
}

// At requantizes accumulator acc of channel c.
func (r *Requant) At(c int, acc int32) int8 {
	if len(r.Mult) == 1 {
		c = 0
	}
	if r.Rounding == qmath.FP32 {
		v := qmath.MulFP32(acc, r.Scale[c]) + r.ZpOut
		return int8(min(max(v, r.Lo), r.Hi))
	}
	return qmath.Requantize(r.Rounding, acc, r.Mult[c], r.Shift[c], r.ZpOut, r.Lo, r.Hi)
}

// ConvInt8Ref is TFLite's reference_integer_ops::ConvPerChannel:
//
//	acc[c] = bias[c] + Σ_{ky,kx,ic} w[c][ky][kx][ic]·(x[iy][ix][ic] − zpIn)
//	out    = clamp(zpOut + Mul(acc, M[c], shift[c]), lo, hi)
//
// positions outside the input are skipped (they contribute as x = zpIn).
// bias may be nil. Accumulation wraps in int32 like the C++ code.
func ConvInt8Ref(g ConvGeom, x []int8, zpIn int32, w []int8, bias []int32, rq *Requant, out []int8) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				for oc := 0; oc < g.OC; oc++ {
					var acc int32
					for ky := 0; ky < g.KH; ky++ {
						iy := oy*g.SH - g.PadT + ky
						if iy < 0 || iy >= g.H {
							continue
						}
						for kx := 0; kx < g.KW; kx++ {
							ix := ox*g.SW - g.PadL + kx
							if ix < 0 || ix >= g.W {
								continue
							}
							xi := ((n*g.H+iy)*g.W + ix) * g.C
							wi := ((oc*g.KH+ky)*g.KW + kx) * g.C
							for ic := 0; ic < g.C; ic++ {
								acc += int32(w[wi+ic]) * (int32(x[xi+ic]) - zpIn)
							}
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					out[((n*g.OH+oy)*g.OW+ox)*g.OC+oc] = rq.At(oc, acc)
				}
			}
		}
	}
}

// FullyConnectedInt8Ref is TFLite's reference FullyConnected for int8
// (per-tensor or per-channel multipliers): for each of rows input rows of
// length in,
//
//	acc[o] = bias[o] + Σ_i w[o][i]·(x[i] − zpIn);  out = clamp(zpOut + Mul(acc), lo, hi).
func FullyConnectedInt8Ref(rows, in, outN int, x []int8, zpIn int32, w []int8, bias []int32, rq *Requant, out []int8) {
	for r := 0; r < rows; r++ {
		xr := x[r*in : (r+1)*in]
		for o := 0; o < outN; o++ {
			wr := w[o*in : (o+1)*in]
			var acc int32
			for i, v := range xr {
				acc += int32(wr[i]) * (int32(v) - zpIn)
			}
			if bias != nil {
				acc += bias[o]
			}
			out[r*outN+o] = rq.At(o, acc)
		}
	}
}

// MaxPoolInt8Ref is TFLite's reference int8 MaxPool: the maximum over the
// window clipped to the input (padding is ignored), then clamped to
// [lo, hi] (the fused activation range). Input and output share scale and
// zero point.
func MaxPoolInt8Ref(g ConvGeom, x []int8, lo, hi int32, out []int8) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				y0, x0 := oy*g.SH-g.PadT, ox*g.SW-g.PadL
				for c := 0; c < g.C; c++ {
					best := int32(-128)
					for ky := max(0, -y0); ky < min(g.KH, g.H-y0); ky++ {
						for kx := max(0, -x0); kx < min(g.KW, g.W-x0); kx++ {
							best = max(best, int32(x[((n*g.H+y0+ky)*g.W+x0+kx)*g.C+c]))
						}
					}
					out[((n*g.OH+oy)*g.OW+ox)*g.C+c] = int8(min(max(best, lo), hi))
				}
			}
		}
	}
}

// ActivationF32 applies a fused float activation.
func ActivationF32(a model.Activation, v float32) float32 {
	switch a {
	case model.ActReLU:
		return max(v, 0)
	case model.ActReLU6:
		return min(max(v, 0), 6)
	}
	return v
}

// ConvF32Ref is the float reference convolution: out = act(bias + Σ w·x),
// padding contributes zero. bias may be nil.
func ConvF32Ref(g ConvGeom, x, w, bias []float32, act model.Activation, out []float32) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				for oc := 0; oc < g.OC; oc++ {
					var acc float32
					for ky := 0; ky < g.KH; ky++ {
						iy := oy*g.SH - g.PadT + ky
						if iy < 0 || iy >= g.H {
							continue
						}
						for kx := 0; kx < g.KW; kx++ {
							ix := ox*g.SW - g.PadL + kx
							if ix < 0 || ix >= g.W {
								continue
							}
							xi := ((n*g.H+iy)*g.W + ix) * g.C
							wi := ((oc*g.KH+ky)*g.KW + kx) * g.C
							for ic := 0; ic < g.C; ic++ {
								acc += w[wi+ic] * x[xi+ic]
							}
						}
					}
					if bias != nil {
						acc += bias[oc]
					}
					out[((n*g.OH+oy)*g.OW+ox)*g.OC+oc] = ActivationF32(act, acc)
				}
			}
		}
	}
}

// FullyConnectedF32Ref is the float reference fully connected layer.
func FullyConnectedF32Ref(rows, in, outN int, x, w, bias []float32, act model.Activation, out []float32) {
	for r := 0; r < rows; r++ {
		xr := x[r*in : (r+1)*in]
		for o := 0; o < outN; o++ {
			wr := w[o*in : (o+1)*in]
			var acc float32
			for i, v := range xr {
				acc += wr[i] * v
			}
			if bias != nil {
				acc += bias[o]
			}
			out[r*outN+o] = ActivationF32(act, acc)
		}
	}
}

// MaxPoolF32Ref is the float reference max pooling (window clipped to the
// input), followed by the fused activation.
func MaxPoolF32Ref(g ConvGeom, x []float32, act model.Activation, out []float32) {
	for n := 0; n < g.N; n++ {
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				y0, x0 := oy*g.SH-g.PadT, ox*g.SW-g.PadL
				for c := 0; c < g.C; c++ {
					best := float32(math.Inf(-1))
					for ky := max(0, -y0); ky < min(g.KH, g.H-y0); ky++ {
						for kx := max(0, -x0); kx < min(g.KW, g.W-x0); kx++ {
							best = max(best, x[((n*g.H+y0+ky)*g.W+x0+kx)*g.C+c])
						}
					}
					out[((n*g.OH+oy)*g.OW+ox)*g.C+c] = ActivationF32(act, best)
				}
			}
		}
	}
}

// SoftmaxF32 is TFLite's float softmax over the last dimension (depth):
// exp(beta·(x − max)) / Σ, computed in float32.
func SoftmaxF32(rows, depth int, beta float32, x, out []float32) {
	for r := 0; r < rows; r++ {
		xr, or := x[r*depth:(r+1)*depth], out[r*depth:(r+1)*depth]
		m := xr[0]
		for _, v := range xr {
			m = max(m, v)
		}
		var sum float32
		for i, v := range xr {
			e := float32(math.Exp(float64((v - m) * beta)))
			or[i] = e
			sum += e
		}
		for i := range or {
			or[i] /= sum
		}
	}
}

// QuantizeF32 is TFLite's QUANTIZE from float to int8 (lo=−128, hi=127) or
// uint8 (0, 255): q = clamp(round_half_away(x/scale) + zp). dst receives the
// values as int32 for the caller to narrow.
func QuantizeF32(x []float32, scale float32, zp, lo, hi int32, dst func(i int, q int32)) {
	for i, v := range x {
		dst(i, qmath.QuantizeValue(v, scale, zp, lo, hi))
	}
}

// Dequantize is TFLite's reference DEQUANTIZE of one value:
// float32(double(scale)·(q − zp)).
func Dequantize(q int32, scale float32, zp int32) float32 {
	return float32(float64(scale) * float64(q-zp))
}

// RequantizeValue is TFLite's int8/uint8 requantizing QUANTIZE of one
// value: clamp(zpOut + MulDouble(q − zpIn, M, shift), lo, hi), with
// M, shift = QuantizeMultiplier(s_in/s_out). TFLite always uses the double
// rounding rule here.
func RequantizeValue(q, zpIn, m int32, shift int, zpOut, lo, hi int32) int32 {
	v := qmath.MulDouble(q-zpIn, m, shift) + zpOut
	return min(max(v, lo), hi)
}
