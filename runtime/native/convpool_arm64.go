//go:build !noasm

package native

//go:generate go run gen_convpool_arm64.go

// hasConvPoolAsm: every AArch64 CPU has NEON, so the fused convolution +
// pooling kernel (convPool1Asm, one pooled pixel per call) always runs on
// arm64; there is no three-pixel kernel (hasConvPool3Asm).
const (
	hasConvPoolAsm  = true
	hasConvPool3Asm = false
)

// convPool1Asm is the NEON twin of convPoolGo for the single pooled pixel
// at pp (output at po; convpool_arm64.s, written by
// gen_convpool_arm64.go): kc, taps ≥ 1, s, r ≥ 0, every access
// bounds-checked by the caller. Bit for bit equal to convPoolGo on arm64
// (both are one fused multiply-add chain per window and channel).
//
//go:noescape
func convPool1Asm(kc, taps int, offs *int, x *float32, pp, s, r int, b, bias *float32, lo, hi float32, out *float32, po int)

func convPoolAsm(kc, taps int, offs *int, x *float32, pp *[3]int, s, r int, b, bias *float32, lo, hi float32, out *float32, po *[3]int) {
	panic("native: no three-pixel convolution + pooling kernel on arm64")
}
