package native

// Direct convolution of a one-channel input (conv1 of an MNIST network):
// no im2col and no packing, the 16-column weight panels stay in registers.

// conv1Go is the reference for conv1Asm: for i < npix, j < 16,
//
//	s := float32(0)
//	for t := range offs { s += x[i+offs[t]] * w[t*16+j] }
//	out[i*ldo+j] = s
func conv1Go(npix int, x []float32, offs []int, w, out []float32, ldo int) {
	w = w[:16*len(offs)]
	for i := 0; i < npix; i++ {
		var s [16]float32
		for t, o := range offs {
			v := x[i+o]
			wt := (*[16]float32)(w[t*16:])
			for j := range s {
				s[j] += v * wt[j]
			}
		}
		copy(out[i*ldo:i*ldo+16], s[:])
	}
}

// conv1 runs conv1Asm (AVX-512) or conv1Go on npix pixels for one panel,
// after checking every access.
func conv1(npix int, x []float32, offs []int, w, out []float32, ldo int) {
	if npix == 0 {
		return
	}
	hiOff := 0
	for _, o := range offs {
		hiOff = max(hiOff, o)
	}
	_ = x[npix-1+hiOff]
	_ = w[16*len(offs)-1]
	_ = out[(npix-1)*ldo+15]
	if hasConv1Asm {
		conv1Asm(npix, &x[0], &offs[0], len(offs), &w[0], &out[0], ldo)
		return
	}
	conv1Go(npix, x, offs, w, out, ldo)
}

// convIndirectGo is the reference for convIndirectAsm: a 6×32 output tile
// of a convolution read straight from the (padded) input, without im2col:
// for i < 6, j < 32, with B(k, j) = b[(j/16)·bs + k·16 + j%16],
//
//	s := float32(0)
//	for t, o := range offs { for ch < kc { s += x[pix[i]+o+ch] * B(t·kc+ch, j) } }
//	c[i*ldc+j] = s
func convIndirectGo(kc int, offs []int, x []float32, pix *[6]int, b []float32, bs int, c []float32, ldc int) {
	for i := range 6 {
		var s [32]float32
		for t, o := range offs {
			xs := x[pix[i]+o:][:kc]
			for ch, v := range xs {
				k := t*kc + ch
				b0 := (*[16]float32)(b[k*16:])
				b1 := (*[16]float32)(b[bs+k*16:])
				for j := range 16 {
					s[j] += v * b0[j]
					s[16+j] += v * b1[j]
				}
			}
		}
		copy(c[i*ldc:i*ldc+32], s[:])
	}
}

// convIndirect runs convIndirectAsm (AVX-512) or convIndirectGo after
// checking every access.
func convIndirect(kc int, offs []int, x []float32, pix *[6]int, b []float32, bs int, c []float32, ldc int) {
	hi := 0
	for _, o := range offs {
		hi = max(hi, o)
	}
	for _, p := range pix {
		if p < 0 {
			panic("native: negative pixel offset")
		}
		_ = x[p+hi+kc-1]
	}
	_ = b[bs+len(offs)*kc*16-1]
	_ = c[5*ldc+31]
	if hasConv1Asm {
		convIndirectAsm(kc, len(offs), &offs[0], &x[0], pix, &b[0], 4*bs, &c[0], ldc)
		return
	}
	convIndirectGo(kc, offs, x, pix, b, bs, c, ldc)
}
