package native

// Convolution with a fused 2×2 max pooling (stride 2), read straight from
// the padded input rows: three pooled pixels (twelve convolution pixels)
// by 32 output channels per call, so that every weight vector loaded is
// used twelve times and the convolution output never leaves the registers.

// convPoolGo is the reference for convPoolAsm and convPool1Asm. For pooled
// pixel j < m (m ≤ 3; the kernels do m = 3 and m = 1) the
// four convolution windows start at x[pp[j]+d], d ∈ {0, s, r, r+s} (top
// left, top right, bottom left, bottom right); window d's value in column
// c < 32 is, with B(k, c) = b[k·32+c] and k = t·kc+ch,
//
//	v_d := float32(0)
//	for t, o := range offs { for ch < kc { v_d += x[pp[j]+d+o+ch] * B(t·kc+ch, c) } }
//
// and the output is, as in pool4Go,
//
//	out[po[j]+c] = mn(hi, mx(lo, mx(mx(v_0, v_s), mx(v_r, v_rs)) + bias[c]))
func convPoolGo(kc int, offs []int, x []float32, pp *[3]int, m, s, r int, b, bias []float32, lo, hi float32, out []float32, po *[3]int) {
	k := len(offs) * kc
	b = b[:k*32]
	bias = bias[:32]
	for j := range m {
		var v [4][32]float32
		for w, d := range [4]int{0, s, r, r + s} {
			acc := &v[w]
			for t, o := range offs {
				xs := x[pp[j]+d+o:][:kc]
				for ch, xv := range xs {
					bk := (*[32]float32)(b[(t*kc+ch)*32:])
					for c := range acc {
						acc[c] += xv * bk[c]
					}
				}
			}
		}
		o := out[po[j]:][:32]
		for c := range o {
			u := mx(mx(v[0][c], v[1][c]), mx(v[2][c], v[3][c])) + bias[c]
			o[c] = mn(hi, mx(lo, u))
		}
	}
}

// convPool computes the first m (1 to 3) pooled pixels of pp/po with
// convPoolAsm (m = 3, AVX-512) or convPool1Asm per pixel (AVX-512, arm64
// NEON), else convPoolGo, after checking every access: offsets and
// strides must be non-negative and every window, weight, bias and output
// inside its slice.
func convPool(kc int, offs []int, x []float32, pp *[3]int, m, s, r int, b, bias []float32, lo, hi float32, out []float32, po *[3]int) {
	if kc < 1 || len(offs) < 1 || s < 0 || r < 0 || m < 1 || m > 3 {
		panic("native: convPool: bad geometry")
	}
	hiOff := 0
	for _, o := range offs {
		if o < 0 {
			panic("native: convPool: negative tap offset")
		}
		hiOff = max(hiOff, o)
	}
	for j := range m {
		if pp[j] < 0 || po[j] < 0 {
			panic("native: convPool: negative pixel offset")
		}
		_ = x[pp[j]+r+s+hiOff+kc-1]
		_ = out[po[j]+31]
	}
	_ = b[len(offs)*kc*32-1]
	_ = bias[31]
	if hasConvPoolAsm {
		if m == 3 && hasConvPool3Asm {
			convPoolAsm(kc, len(offs), &offs[0], &x[0], pp, s, r, &b[0], &bias[0], lo, hi, &out[0], po)
			return
		}
		for j := range m {
			convPool1Asm(kc, len(offs), &offs[0], &x[0], pp[j], s, r, &b[0], &bias[0], lo, hi, &out[0], po[j])
		}
		return
	}
	convPoolGo(kc, offs, x, pp, m, s, r, b, bias, lo, hi, out, po)
}
