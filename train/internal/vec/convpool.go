package vec

// ConvTaps and ConvCols are the taps (3×3 window) and output channels of
// one Conv3x3Pool2x2Row call.
const (
	ConvTaps = 9
	ConvCols = 32
)

// ConvPoolFused reports whether Conv3x3Pool2x2Row runs its AVX-512 kernel,
// whose convolution outputs are FMA chains over the taps from zero: those
// of internal/sgemm's direct one-channel 3×3 convolution (and its GEMM) on
// the same CPU, so that the fused row equals the convolution followed by
// Pool2x2Row bit for bit. Without it callers keep the two steps.
func ConvPoolFused() bool { return UseAsm && UseAVX512 }

// Conv3x3Pool2x2Row computes one pooled output row of a one-channel 3×3
// stride-1 convolution (32 output channels) followed by Pool2x2Row, without
// storing the convolution's output: for px < wd, the convolution outputs
// at columns 2px and 2px+1 of the two rows whose windows start at x[2px]
// and x[ldx+2px] (window rows ldx apart: x holds four input rows) are
// Σ_t x[(t/3+r)·ldx + 2px+c+t%3]·w[t·32+j] over the taps t in order (w
// tap-major), pooled with bias and relu into y[px·ldy : px·ldy+32] and
// win likewise (ldy ≥ 32), as Pool2x2Row would pool them.
func Conv3x3Pool2x2Row(x []float32, ldx int, w *[ConvTaps * ConvCols]float32, bias, y []float32, win []int32, ldy, wd int, relu bool) {
	if wd == 0 {
		return
	}
	if ldy < ConvCols {
		panic("vec: Conv3x3Pool2x2Row: ldy < 32")
	}
	_ = x[3*ldx+2*wd+1]
	n := (wd-1)*ldy + ConvCols
	bias, y, win = bias[:ConvCols], y[:n], win[:n]
	if ConvPoolFused() {
		conv3x3Pool2x2RowAsm512(&x[0], ldx, &w[0], &bias[0], &y[0], &win[0], ldy, wd, relu)
		return
	}
	conv3x3Pool2x2RowGo(x, ldx, w, bias, y, win, ldy, wd, relu)
}

// conv3x3Pool2x2RowGo is the reference of conv3x3Pool2x2RowAsm512: the
// four convolution outputs of each pooled pixel as multiply-add chains
// over the taps from zero (fused or not as the compiler does `s += v*w`,
// so equal to the assembly to rounding on amd64), then pool2x2Go.
func conv3x3Pool2x2RowGo(x []float32, ldx int, w *[ConvTaps * ConvCols]float32, bias, y []float32, win []int32, ldy, wd int, relu bool) {
	var c [4][ConvCols]float32
	for px := range wd {
		for i := range c {
			r, col := i/2, 2*px+i%2
			s := &c[i]
			*s = [ConvCols]float32{}
			for t := range ConvTaps {
				v := x[(t/3+r)*ldx+col+t%3]
				wt := w[t*ConvCols : (t+1)*ConvCols]
				for j, wv := range wt {
					s[j] += v * wv
				}
			}
		}
		o := px * ldy
		pool2x2Go(c[0][:], c[1][:], c[2][:], c[3][:], bias, y[o:o+ConvCols], win[o:o+ConvCols], relu)
	}
}

// DWUnpool adds, for the n convolution outputs of one row starting at
// column ox0 (row parity py: 0 or 1), the outer product of each one's 3×3
// window (at x+q, window rows ldx apart) and its 32 output gradients
// into acc (tap-major, acc[t·32+j]), as internal/sgemm's direct weight
// gradient adds them, where the gradients are those Unpool2x2Row routes
// back from the pooled row: dz[(ox/2)·ldz + j] where win (same layout)
// is 2·py + ox%2, else +0. Unpooling and weight gradient in one pass: the
// convolution's output gradient is never stored.
func DWUnpool(n int, x []float32, ldx int, dz []float32, win []int32, ldz, ox0, py int, acc *[ConvTaps * ConvCols]float32) {
	if n == 0 {
		return
	}
	_ = x[2*ldx+n+1]
	last := (ox0+n-1)/2*ldz + ConvCols
	dz, win = dz[:last], win[:last]
	if ConvPoolFused() && ldz == ConvCols {
		o := ox0 / 2 * ldz
		dwUnpoolAsm512(n, &x[0], ldx, &dz[o], &win[o], 2*py+ox0%2, &acc[0])
		return
	}
	dwUnpoolGo(n, x, ldx, dz, win, ldz, ox0, py, acc)
}

// dwUnpoolGo is the reference of dwUnpoolAsm512 (see DWUnpool): the
// gradients routed as unpool2x2Go routes them, the sums as sgemm's
// dwConv3x3Go computes them (the same expression `s += v*d`).
func dwUnpoolGo(n int, x []float32, ldx int, dz []float32, win []int32, ldz, ox0, py int, acc *[ConvTaps * ConvCols]float32) {
	var d [ConvCols]float32
	for q := range n {
		ox := ox0 + q
		tap := int32(2*py + ox%2)
		o := ox / 2 * ldz
		for j := range d {
			d[j] = 0
			if win[o+j] == tap {
				d[j] = dz[o+j]
			}
		}
		for ky := range 3 {
			row := x[ky*ldx+q : ky*ldx+q+3]
			for kx, v := range row {
				s := acc[(ky*3+kx)*ConvCols : (ky*3+kx+1)*ConvCols]
				for j, dv := range d {
					s[j] += v * dv
				}
			}
		}
	}
}

// UnpoolBias adds dz where win ≠ -1 into dbias (c values), pixel by pixel
// over npix pixels of c values each: the bias gradient Unpool2x2Row adds,
// bit for bit, without routing the gradients.
func UnpoolBias(dz []float32, win []int32, dbias []float32, c, npix int) {
	if npix == 0 || c == 0 {
		return
	}
	dz, win, dbias = dz[:c*npix], win[:c*npix], dbias[:c]
	if UseAsm && UseAVX512 && c%16 == 0 {
		unpoolBiasAsm512(&dz[0], &win[0], &dbias[0], c, npix)
		return
	}
	unpoolBiasGo(dz, win, dbias, c, npix)
}

// unpoolBiasGo is the reference of unpoolBiasAsm512.
func unpoolBiasGo(dz []float32, win []int32, dbias []float32, c, npix int) {
	for p := range npix {
		for j := range c {
			v := float32(0)
			if win[p*c+j] != -1 {
				v = dz[p*c+j]
			}
			dbias[j] += v
		}
	}
}
