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
