//go:build !amd64 || noasm

package sgemm

func packPtrs6Asm(kc int, s0, s1, s2, s3, s4, s5, dst *float32) {
	panic("sgemm: no assembly packing in this build")
}

func copyBlock16Asm(rows, chunks int, src *float32, lds int, dst *float32, ldd int) {
	panic("sgemm: no assembly packing in this build")
}
