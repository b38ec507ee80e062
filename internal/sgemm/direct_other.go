//go:build !amd64 || noasm

package sgemm

const hasDWAsm = false

func dwConv3x3Asm(n int, x *float32, ldx int, dy *float32, lddy int, acc *float32) {
	panic("sgemm: no assembly direct weight gradient in this build")
}

func conv3x3Asm(n int, x *float32, ldx int, w *float32, y *float32, ldy int) {
	panic("sgemm: no assembly direct convolution in this build")
}
