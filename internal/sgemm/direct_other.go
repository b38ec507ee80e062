//go:build !amd64 || noasm

package sgemm

const hasDWAsm = false

func dwConv3x3Asm(n int, x *float32, ldx int, dy *float32, lddy int, acc *float32) {
	panic("sgemm: no assembly direct weight gradient in this build")
}
