//go:build (!amd64 && !arm64) || noasm

package native

const (
	hasConvPoolAsm  = false
	hasConvPool3Asm = false
)

func convPoolAsm(kc, taps int, offs *int, x *float32, pp *[3]int, s, r int, b, bias *float32, lo, hi float32, out *float32, po *[3]int) {
	panic("native: no assembly convolution kernel in this build")
}

func convPool1Asm(kc, taps int, offs *int, x *float32, pp, s, r int, b, bias *float32, lo, hi float32, out *float32, po int) {
	panic("native: no assembly convolution kernel in this build")
}
