package qgemm

import "unsafe"

// outputFormula is the vector kernels' one-rounding formula (see
// OutputStage.vecParams) as a Go loop over the same arguments: the output
// stage where no vector kernel runs (GOARCH=arm, -tags noasm, amd64
// without AVX2) for the Double and Ruy rules with multipliers < 1, one
// int64 multiply, add and shift per channel instead of qmath.Mul's steps.
func outputFormula(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool) {
	np := (n + 15) &^ 15
	b := unsafe.Slice(bias, np)[:n]
	q := unsafe.Slice(params, 4*np)
	row := func(c *int32, p int) []int32 {
		return unsafe.Slice((*int32)(unsafe.Add(unsafe.Pointer(c), p*cstep)), n)
	}
	for p := 0; p < count; p++ {
		r0, r1, r2, r3 := row(c0, p), row(c1, p), row(c2, p), row(c3, p)
		o := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(out), p*ostep)), n)
		for i, x := range r0 {
			if pool {
				x = max(x, r1[i], r2[i], r3[i])
			}
			x += b[i]
			j := 64*(i>>4) + (i&15)>>1 + 32*(i&1) // M; K, A and S follow 8 qwords apart
			m := int64(x) * q[j]
			v := int32((m+q[j+8]-q[j+16]&(m>>63))>>q[j+24]) + zp
			o[i] = int8(min(max(v, lo), hi))
		}
	}
}
