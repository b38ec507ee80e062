package qgemm

import "unsafe"

// gemmGo is the reference loop every assembly kernel must equal:
//
//	for g < rgroups, r < 4, b < nblk, j < 16:
//	  c[(4g+r)·ldc + 16b + j] = Σ_{s<ksteps, t<4} A(a[(4g+r)·lda + 4s + t]) · w[((b·ksteps + s)·16 + j)·4 + t]
//
// with A(x) = int8(x), or uint8(x) when unsigned (the flipped layout of
// the VNNI kernel).
func gemmGo(a []byte, lda int, w []int8, ksteps, nblk int, c []int32, ldc, rgroups int, unsigned bool) {
	for r := 0; r < 4*rgroups; r++ {
		ar := a[r*lda : r*lda+4*ksteps]
		for b := 0; b < nblk; b++ {
			wb := w[b*ksteps*64 : (b+1)*ksteps*64]
			var acc [16]int32
			for s := 0; s < ksteps; s++ {
				var x0, x1, x2, x3 int32
				if unsigned {
					x0, x1, x2, x3 = int32(ar[4*s]), int32(ar[4*s+1]), int32(ar[4*s+2]), int32(ar[4*s+3])
				} else {
					x0, x1, x2, x3 = int32(int8(ar[4*s])), int32(int8(ar[4*s+1])), int32(int8(ar[4*s+2])), int32(int8(ar[4*s+3]))
				}
				ws := wb[s*64 : s*64+64]
				for j := 0; j < 16; j++ {
					acc[j] += x0*int32(ws[4*j]) + x1*int32(ws[4*j+1]) + x2*int32(ws[4*j+2]) + x3*int32(ws[4*j+3])
				}
			}
			copy(c[r*ldc+16*b:r*ldc+16*b+16], acc[:])
		}
	}
}

// gemmGoPtr adapts gemmGo to the kernel signature.
func gemmGoPtr(a *byte, lda int, w *int8, _ *int16, ksteps, nblk int, c *int32, ldc, rgroups int) {
	rows := 4 * rgroups
	as := unsafe.Slice(a, (rows-1)*lda+4*ksteps)
	ws := unsafe.Slice(w, nblk*ksteps*64)
	cs := unsafe.Slice(c, (rows-1)*ldc+16*nblk)
	gemmGo(as, lda, ws, ksteps, nblk, cs, ldc, rgroups, false)
}

// gemmGoUnsigned is the twin of the VNNI kernel (A read as uint8).
func gemmGoUnsigned(a *byte, lda int, w *int8, _ *int16, ksteps, nblk int, c *int32, ldc, rgroups int) {
	rows := 4 * rgroups
	as := unsafe.Slice(a, (rows-1)*lda+4*ksteps)
	ws := unsafe.Slice(w, nblk*ksteps*64)
	cs := unsafe.Slice(c, (rows-1)*ldc+16*nblk)
	gemmGo(as, lda, ws, ksteps, nblk, cs, ldc, rgroups, true)
}
