//go:build !noasm

package sgemm

// packPtrs6Asm is the SSE twin of interleave6: dst[q*6+r] = s_r[q] for
// r < 6, q < kc, six independent sources. The caller has bounds-checked
// all of them.
//
//go:noescape
func packPtrs6Asm(kc int, s0, s1, s2, s3, s4, s5, dst *float32)

// copyBlock16Asm is the AVX twin of copyBlock16Go; rows, chunks ≥ 1 and
// the caller has bounds-checked src and dst.
//
//go:noescape
func copyBlock16Asm(rows, chunks int, src *float32, lds int, dst *float32, ldd int)
