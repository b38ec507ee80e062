package train

import (
	"math"

	"github.com/edgecnn/edgecnn/train/internal/vec"

	"github.com/edgecnn/edgecnn/model"
)

// The kernels below work on a batch of n images in NHWC layout. They are
// plain loops; the heavy arithmetic (convolution and dense layers) goes
// through internal/sgemm, which reads convolution patches while packing
// (sgemm.Patches): no im2col buffer.

// col2im is the adjoint of im2col: it sums every row of dcol back into the
// input positions it came from (dx is overwritten).
func col2im(dcol []float32, in model.Shape, k, stride, pad int, out model.Shape, n int, dx []float32) {
	clear(dx[:n*in.Size()])
	C := in.C
	K := k * k * C
	ri := 0
	for b := 0; b < n; b++ {
		xb := dx[b*in.Size() : (b+1)*in.Size()]
		for oy := 0; oy < out.H; oy++ {
			for ox := 0; ox < out.W; ox++ {
				row := dcol[ri*K : (ri+1)*K]
				ri++
				for ky := 0; ky < k; ky++ {
					iy := oy*stride - pad + ky
					if iy < 0 || iy >= in.H {
						continue
					}
					for kx := 0; kx < k; kx++ {
						ix := ox*stride - pad + kx
						if ix < 0 || ix >= in.W {
							continue
						}
						vec.Add(xb[(iy*in.W+ix)*C:(iy*in.W+ix+1)*C], row[(ky*k+kx)*C:(ky*k+kx+1)*C])
					}
				}
			}
		}
	}
}

// addBias adds b to every row of y (rows of len(b)).
func addBias(y []float32, b []float32) {
	nc := len(b)
	for i := 0; i+nc <= len(y); i += nc {
		r := y[i : i+nc]
		for c, v := range b {
			r[c] += v
		}
	}
}

// sumRows writes the column sums of dy (rows of len(db)) into db.
func sumRows(dy []float32, db []float32) {
	clear(db)
	nc := len(db)
	for i := 0; i+nc <= len(dy); i += nc {
		r := dy[i : i+nc]
		for c, v := range r {
			db[c] += v
		}
	}
}

// reluPool computes y = maxpool(x + bias) (then ReLU when relu is set;
// ReLU commutes with max), adding the per-channel bias (nil: none) after
// pooling, which equals adding it before. For each output it records in win
// which window position (ky·k+kx) won, or -1 where ReLU clipped the
// output to zero (gradient zero). Windows must lie inside the input.
func reluPool(x []float32, in model.Shape, k, stride int, out model.Shape, n int, bias []float32, y []float32, win []int32, relu bool) {
	C := in.C
	if k == 2 && stride == 2 && C <= len(zeroBias) {
		if bias == nil {
			bias = zeroBias[:C]
		}
		pool2x2(x, in, out, n, bias, y, win, relu)
		return
	}
	{
		oi := 0
		for b := 0; b < n; b++ {
			base := b * in.Size()
			for oy := 0; oy < out.H; oy++ {
				for ox := 0; ox < out.W; ox++ {
					yr := y[oi : oi+C]
					wr := win[oi : oi+C]
					oi += C
					first := base + (oy*stride*in.W+ox*stride)*C
					copy(yr, x[first:first+C])
					clear(wr)
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							off := base + ((oy*stride+ky)*in.W+ox*stride+kx)*C
							for c, v := range x[off : off+C] {
								if v > yr[c] {
									yr[c] = v
									wr[c] = int32(ky*k + kx)
								}
							}
						}
					}
				}
			}
		}
	}
	if bias == nil && !relu {
		return
	}
	for i := 0; i+C <= len(y); i += C {
		yr := y[i : i+C]
		wr := win[i : i+C]
		if bias != nil {
			b := bias[:C]
			for c := range yr {
				yr[c] += b[c]
			}
		}
		if relu {
			for c, v := range yr {
				if !(v > 0) {
					yr[c] = 0
					wr[c] = -1
				}
			}
		}
	}
}

// pool2x2 is the 2×2 stride-2 case of reluPool (vec.Pool2x2Row per output
// row: one SIMD call per row on amd64).
func pool2x2(x []float32, in, out model.Shape, n int, bias []float32, y []float32, win []int32, relu bool) {
	C := in.C
	rowStride := in.W * C
	span := 2 * out.W * C
	oi := 0
	for b := 0; b < n; b++ {
		base := b * in.Size()
		for oy := 0; oy < out.H; oy++ {
			p := base + 2*oy*rowStride
			vec.Pool2x2Row(x[p:p+span], x[p+rowStride:p+rowStride+span], bias, y[oi:oi+out.W*C], win[oi:oi+out.W*C], C, out.W, relu)
			oi += out.W * C
		}
	}
}

// zeroBias is the bias of a pooling step without one.
var zeroBias [1024]float32

// poolBackward routes dy to the window positions recorded by reluPool and
// zero elsewhere; dx (n images of in) is overwritten. If dbias is not nil
// it receives the per-channel sums of the routed gradients (the bias
// gradient of a convolution whose bias reluPool added).
func poolBackward(dy []float32, win []int32, in model.Shape, k, stride int, out model.Shape, n int, dx, dbias []float32) {
	C := in.C
	if dbias != nil {
		clear(dbias)
	}
	if !(k == 2 && stride == 2 && in.H == 2*out.H && in.W == 2*out.W) {
		clear(dx[:n*in.Size()])
	}
	if k == 2 && stride == 2 {
		unpool2x2(dy, win, in, out, n, dx, dbias)
		return
	}
	oi := 0
	for b := 0; b < n; b++ {
		base := b * in.Size()
		for oy := 0; oy < out.H; oy++ {
			for ox := 0; ox < out.W; ox++ {
				p := base + (oy*stride*in.W+ox*stride)*C
				dr := dy[oi : oi+C]
				wr := win[oi : oi+C]
				oi += C
				for c, w := range wr {
					if w < 0 {
						continue
					}
					ky, kx := int(w)/k, int(w)%k
					dx[p+(ky*in.W+kx)*C+c] += dr[c]
				}
				if dbias != nil {
					db := dbias[:len(wr)]
					for c, w := range wr {
						if w >= 0 {
							db[c] += dr[c]
						}
					}
				}
			}
		}
	}
}

// unpool2x2 is the 2×2 stride-2 case of poolBackward after its clearing:
// vec.Unpool2x2Row per output row (one SIMD call per row on amd64).
func unpool2x2(dy []float32, win []int32, in, out model.Shape, n int, dx, dbias []float32) {
	C := in.C
	rs := in.W * C
	span := 2 * out.W * C
	ow := out.W * C
	var db []float32
	if dbias != nil {
		db = dbias[:C]
	}
	oi := 0
	for b := 0; b < n; b++ {
		base := b * in.Size()
		for oy := 0; oy < out.H; oy++ {
			p := base + 2*oy*rs
			vec.Unpool2x2Row(dy[oi:oi+ow], win[oi:oi+ow], dx[p:p+span], dx[p+rs:p+rs+span], db, C, out.W)
			oi += ow
		}
	}
}

// relu computes y = max(x, 0).
func relu(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = 0
		}
	}
}

// reluBackward computes dx = dy where y > 0, else 0.
func reluBackward(y, dy, dx []float32) {
	dy = dy[:len(y)]
	dx = dx[:len(y)]
	for i, v := range y {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// channelSums accumulates per-channel Σx and Σx² (float64) over rows of C.
func channelSums(x []float32, C int, sum, sq []float64) {
	clear(sum)
	clear(sq)
	// Accumulate a row block in float32 lanes, then flush to float64: keeps
	// the inner loop fast and the totals accurate.
	var s32, q32 [256]float32
	if C > len(s32) {
		for i := 0; i+C <= len(x); i += C {
			for c, v := range x[i : i+C] {
				sum[c] += float64(v)
				sq[c] += float64(v) * float64(v)
			}
		}
		return
	}
	const block = 64
	rows := len(x) / C
	for r0 := 0; r0 < rows; r0 += block {
		r1 := min(rows, r0+block)
		s, q := s32[:C], q32[:C]
		clear(s)
		clear(q)
		for r := r0; r < r1; r++ {
			for c, v := range x[r*C : (r+1)*C] {
				s[c] += v
				q[c] += v * v
			}
		}
		for c := range s {
			sum[c] += float64(s[c])
			sq[c] += float64(q[c])
		}
	}
}

// softmaxXent computes, for n rows of logits with C classes, the summed
// cross-entropy loss and number of correct argmax predictions, and writes
// the gradient (softmax − onehot)·scale into dl.
func softmaxXent(logits []float32, labels []uint8, C int, scale float32, dl []float32) (loss float64, correct int) {
	for i, lab := range labels {
		z := logits[i*C : (i+1)*C]
		m := z[0]
		arg := 0
		for c, v := range z {
			if v > m {
				m, arg = v, c
			}
		}
		if arg == int(lab) {
			correct++
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v - m))
		}
		loss += math.Log(s) - float64(z[lab]-m)
		if dl != nil {
			d := dl[i*C : (i+1)*C]
			inv := 1 / s
			for c, v := range z {
				d[c] = float32(math.Exp(float64(v-m))*inv) * scale
			}
			d[lab] -= scale
		}
	}
	return loss, correct
}
