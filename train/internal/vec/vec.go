// Package vec holds the trainer's small elementwise kernels that the Go
// compiler does not vectorize: 2×2 max pooling with winner tracking, its
// backward routing, a one-channel 3×3 convolution fused with that pooling
// (conv1 forward, see Conv3x3Pool2x2Row), an in-place add and the Adam
// update. Each has a plain-Go reference
// (the *Go functions, whose loops define the result) and, on amd64 with
// AVX2, an assembly version that must produce bit-identical output; the
// noasm build tag forces the Go versions. Tests compare both.
package vec

import "math"

// UseAsm reports whether the assembly kernels are in use (tests may switch
// it off to exercise the Go versions).
var UseAsm = hasAsm

// UseAVX512 reports whether the row pooling kernels use their AVX-512
// versions (with UseAsm, where the CPU has AVX-512F; tests may switch it off).
var UseAVX512 = hasAVX512

// Pool2x2 computes, for each i < len(y), the maximum of a0[i], a1[i], a2[i],
// a3[i] (the first one wins ties), adds bias[i], and with relu clamps it at
// zero. w[i] receives the winning index 0..3, or -1 where relu clamped the
// value (the gradient is zero there). All slices must have len(y) elements.
func Pool2x2(a0, a1, a2, a3, bias, y []float32, w []int32, relu bool) {
	n := len(y)
	a0, a1, a2, a3, bias, w = a0[:n], a1[:n], a2[:n], a3[:n], bias[:n], w[:n]
	k := 0
	if UseAsm && n >= 8 {
		k = n &^ 7
		pool2x2Asm(&a0[0], &a1[0], &a2[0], &a3[0], &bias[0], &y[0], &w[0], k, relu)
	}
	pool2x2Go(a0[k:], a1[k:], a2[k:], a3[k:], bias[k:], y[k:], w[k:], relu)
}

func pool2x2Go(a0, a1, a2, a3, bias, y []float32, w []int32, relu bool) {
	n := len(y)
	a0, a1, a2, a3, bias, w = a0[:n], a1[:n], a2[:n], a3[:n], bias[:n], w[:n]
	for i := range y {
		m, k := a0[i], int32(0)
		if v := a1[i]; v > m {
			m, k = v, 1
		}
		if v := a2[i]; v > m {
			m, k = v, 2
		}
		if v := a3[i]; v > m {
			m, k = v, 3
		}
		m += bias[i]
		if relu && !(m > 0) {
			m, k = 0, -1
		}
		y[i], w[i] = m, k
	}
}

// Unpool2x2 is the backward of Pool2x2: d_j[i] = dy[i] where w[i] == j,
// else 0; dbias[i] += dy[i] where w[i] ≠ -1 (dbias may be nil). All slices
// must have len(dy) elements.
func Unpool2x2(dy []float32, w []int32, d0, d1, d2, d3, dbias []float32) {
	n := len(dy)
	w, d0, d1, d2, d3 = w[:n], d0[:n], d1[:n], d2[:n], d3[:n]
	if dbias != nil {
		dbias = dbias[:n]
	}
	k := 0
	if UseAsm && n >= 8 {
		k = n &^ 7
		var db *float32
		if dbias != nil {
			db = &dbias[0]
		}
		unpool2x2Asm(&dy[0], &w[0], &d0[0], &d1[0], &d2[0], &d3[0], db, k)
	}
	var dbt []float32
	if dbias != nil {
		dbt = dbias[k:]
	}
	unpool2x2Go(dy[k:], w[k:], d0[k:], d1[k:], d2[k:], d3[k:], dbt)
}

func unpool2x2Go(dy []float32, w []int32, d0, d1, d2, d3, dbias []float32) {
	n := len(dy)
	w, d0, d1, d2, d3 = w[:n], d0[:n], d1[:n], d2[:n], d3[:n]
	for i, g := range dy {
		d0[i], d1[i], d2[i], d3[i] = 0, 0, 0, 0
		switch w[i] {
		case 0:
			d0[i] = g
		case 1:
			d1[i] = g
		case 2:
			d2[i] = g
		case 3:
			d3[i] = g
		}
		if dbias != nil {
			if w[i] == -1 {
				g = 0
			}
			dbias[i] += g
		}
	}
}

// Pool2x2Row pools one output row of a 2×2 stride-2 max pooling over
// pixel-major data (c channels per pixel): for each ox < wd it computes
// Pool2x2 of the pixels 2·ox and 2·ox+1 of input rows r0 and r1 (a0, a1 from
// r0, a2, a3 from r1) into y[ox·c:(ox+1)·c] and w likewise. r0 and r1 need
// 2·wd·c elements, y and w wd·c, bias c. The result is that of the per-pixel
// Pool2x2 calls (pool2x2RowGo), bit for bit; on amd64 with AVX2 and c a
// multiple of 8 (AVX-512: 16) one assembly call does the whole row.
func Pool2x2Row(r0, r1, bias, y []float32, w []int32, c, wd int, relu bool) {
	n := c * wd
	r0, r1, bias, y, w = r0[:2*n], r1[:2*n], bias[:c], y[:n], w[:n]
	if n == 0 {
		return
	}
	if UseAsm && UseAVX512 && c%16 == 0 {
		pool2x2RowAsm512(&r0[0], &r1[0], &bias[0], &y[0], &w[0], c, wd, relu)
		return
	}
	if UseAsm && c%8 == 0 {
		pool2x2RowAsm(&r0[0], &r1[0], &bias[0], &y[0], &w[0], c, wd, relu)
		return
	}
	for ox := 0; ox < wd; ox++ {
		p, o := 2*ox*c, ox*c
		Pool2x2(r0[p:p+c], r0[p+c:p+2*c], r1[p:p+c], r1[p+c:p+2*c], bias, y[o:o+c], w[o:o+c], relu)
	}
}

// pool2x2RowGo is the reference of Pool2x2Row: pool2x2Go per output pixel.
func pool2x2RowGo(r0, r1, bias, y []float32, w []int32, c, wd int, relu bool) {
	for ox := 0; ox < wd; ox++ {
		p, o := 2*ox*c, ox*c
		pool2x2Go(r0[p:p+c], r0[p+c:p+2*c], r1[p:p+c], r1[p+c:p+2*c], bias[:c], y[o:o+c], w[o:o+c], relu)
	}
}

// Unpool2x2Row is the backward of Pool2x2Row: for each ox < wd it computes
// Unpool2x2 of dy[ox·c:(ox+1)·c] and w likewise into the pixels 2·ox and
// 2·ox+1 of input rows d0 and d1 (2·wd·c elements each, overwritten), adding
// to dbias (c elements, or nil) in pixel order. The result is that of the
// per-pixel Unpool2x2 calls (unpool2x2RowGo), bit for bit.
func Unpool2x2Row(dy []float32, w []int32, d0, d1, dbias []float32, c, wd int) {
	n := c * wd
	dy, w, d0, d1 = dy[:n], w[:n], d0[:2*n], d1[:2*n]
	if dbias != nil {
		dbias = dbias[:c]
	}
	if n == 0 {
		return
	}
	if UseAsm && c%8 == 0 {
		var db *float32
		if dbias != nil {
			db = &dbias[0]
		}
		if UseAVX512 && c%16 == 0 {
			unpool2x2RowAsm512(&dy[0], &w[0], &d0[0], &d1[0], db, c, wd)
			return
		}
		unpool2x2RowAsm(&dy[0], &w[0], &d0[0], &d1[0], db, c, wd)
		return
	}
	for ox := 0; ox < wd; ox++ {
		p, o := 2*ox*c, ox*c
		Unpool2x2(dy[o:o+c], w[o:o+c], d0[p:p+c], d0[p+c:p+2*c], d1[p:p+c], d1[p+c:p+2*c], dbias)
	}
}

// unpool2x2RowGo is the reference of Unpool2x2Row: unpool2x2Go per pixel.
func unpool2x2RowGo(dy []float32, w []int32, d0, d1, dbias []float32, c, wd int) {
	for ox := 0; ox < wd; ox++ {
		p, o := 2*ox*c, ox*c
		unpool2x2Go(dy[o:o+c], w[o:o+c], d0[p:p+c], d0[p+c:p+2*c], d1[p:p+c], d1[p+c:p+2*c], dbias)
	}
}

// Add computes dst[i] += src[i] for i < len(dst) (src must be as long).
func Add(dst, src []float32) {
	n := len(dst)
	src = src[:n]
	k := 0
	if UseAsm && n >= 8 {
		k = n &^ 7
		addAsm(&dst[0], &src[0], k)
	}
	addGo(dst[k:], src[k:])
}

func addGo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// AdamParams are the per-step constants of an Adam update (PyTorch's
// torch.optim.Adam without weight decay): B1, B2 the moment decays, Eps,
// C2 = 1/sqrt(1−B2^t) and Step = lr/(1−B1^t).
type AdamParams struct {
	B1, B2, Eps, C2, Step float32
}

// Adam updates, for i < len(p), the moments m[i] = B1·m[i] + (1−B1)·g[i],
// v[i] = B2·v[i] + (1−B2)·g[i]² and the parameter p[i] −= Step·m[i] /
// (sqrt(v[i])·C2 + Eps), in one pass over p, g, m and v (all at least
// len(p) long). The result is the float32 arithmetic of adamGo, in its
// order, bit for bit.
func Adam(p, g, m, v []float32, a AdamParams) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	k := 0
	if UseAsm && n >= 8 {
		k = n &^ 7
		adamAsm(&p[0], &g[0], &m[0], &v[0], &a, k)
	}
	adamGo(p[k:], g[k:], m[k:], v[k:], a)
}

func adamGo(p, g, m, v []float32, a AdamParams) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	b1, b2 := a.B1, a.B2
	for i, gi := range g {
		mi := b1*m[i] + (1-b1)*gi
		vi := b2*v[i] + (1-b2)*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))*a.C2 + a.Eps
		p[i] -= a.Step * mi / denom
	}
}
