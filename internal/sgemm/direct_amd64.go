//go:build !noasm

package sgemm

import "golang.org/x/sys/cpu"

// hasDWAsm reports whether dwConv3x3Asm (AVX-512F) can run.
var hasDWAsm = cpu.X86.HasAVX512F

// dwConv3x3Asm is the AVX-512 twin of dwConv3x3Go: acc points to 9×32
// sums (tap-major), x to the first window's top-left value (rows ldx
// elements apart), dy to the first position's 32 values (positions lddy
// elements apart); n ≥ 1. The caller has bounds-checked all three.
//
//go:noescape
func dwConv3x3Asm(n int, x *float32, ldx int, dy *float32, lddy int, acc *float32)
