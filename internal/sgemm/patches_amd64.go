//go:build !noasm

package sgemm

// packPtrs6Asm is the SSE twin of interleave6: dst[q*6+r] = s_r[q] for
// r < 6, q < kc, six independent sources. The caller has bounds-checked
// all of them.
//
//go:noescape
func packPtrs6Asm(kc int, s0, s1, s2, s3, s4, s5, dst *float32)
