//go:build !noasm

package native

import "golang.org/x/sys/cpu"

// hasConv1Asm reports whether the AVX-512 direct one-channel convolution
// kernel can run.
var hasConv1Asm = cpu.X86.HasAVX512F

// conv1Asm is the AVX-512 twin of conv1Go (npix ≥ 0, taps ≥ 1); the
// caller has bounds-checked every access.
//
//go:noescape
func conv1Asm(npix int, x *float32, offs *int, taps int, w *float32, out *float32, ldo int)

// convIndirectAsm is the AVX-512 twin of convIndirectGo (kc, taps ≥ 1);
// the caller has bounds-checked every access.
//
//go:noescape
func convIndirectAsm(kc, taps int, offs *int, x *float32, pix *[6]int, b *float32, bstride int, c *float32, ldc int)
