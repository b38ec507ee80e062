//go:build !noasm

package native

import "golang.org/x/sys/cpu"

// hasConvPoolAsm reports whether the AVX-512 convolution + pooling kernel
// can run.
var hasConvPoolAsm = cpu.X86.HasAVX512F

// hasConvPool3Asm: convPoolAsm (three pooled pixels per call) runs where
// convPool1Asm does.
var hasConvPool3Asm = hasConvPoolAsm

// convPoolAsm is the AVX-512 twin of convPoolGo (kc, taps ≥ 1; s, r ≥ 0);
// the caller has bounds-checked every access.
//
//go:noescape
func convPoolAsm(kc, taps int, offs *int, x *float32, pp *[3]int, s, r int, b, bias *float32, lo, hi float32, out *float32, po *[3]int)

// convPool1Asm is convPoolAsm for the single pooled pixel at pp (output at
// po); the caller has bounds-checked every access.
//
//go:noescape
func convPool1Asm(kc, taps int, offs *int, x *float32, pp, s, r int, b, bias *float32, lo, hi float32, out *float32, po int)
