//go:build !amd64 || noasm

package native

const hasConv1Asm = false

func conv1Asm(npix int, x *float32, offs *int, taps int, w *float32, out *float32, ldo int) {
	panic("native: no assembly convolution kernel in this build")
}

func convIndirectAsm(kc, taps int, offs *int, x *float32, pix *[6]int, b *float32, bstride int, c *float32, ldc int) {
	panic("native: no assembly convolution kernel in this build")
}
