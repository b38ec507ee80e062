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

// conv3x3Asm is the AVX-512 twin of conv3x3Go: w points to the 9×32
// tap-major weights, x to the first window's top-left value (rows ldx
// elements apart), y to the first output's 32 values (outputs ldy
// elements apart); n ≥ 1. The caller has bounds-checked all three.
//
//go:noescape
func conv3x3Asm(n int, x *float32, ldx int, w *float32, y *float32, ldy int)
