//go:build !amd64 || noasm

package native

const hasConv1Asm = false

func conv1Asm(npix int, x *float32, offs *int, taps int, w *float32, out *float32, ldo int) {
	panic("native: no assembly convolution kernel in this build")
}
