//go:build !amd64 || noasm

package sgemm

// hasAsm reports whether the amd64 assembly (kernels and packing) is
// available: never in this build (not amd64, or the noasm tag). arm64 has
// its own NEON micro-kernel (hasKernelAsm, kernel_arm64.go).
const hasAsm = false

func packRows6Asm(kc int, src *float32, ld int, dst *float32) {
	panic("sgemm: no assembly packing in this build")
}

func packRows16Asm(kc int, src *float32, ld int, dst *float32) {
	panic("sgemm: no assembly packing in this build")
}

func copyPanels6Asm(kc int, src *float32, ld, np int, dst *float32) {
	panic("sgemm: no assembly packing in this build")
}

func copyPanels16Asm(kc int, src *float32, ld, np int, dst *float32) {
	panic("sgemm: no assembly packing in this build")
}

func kernel1x16Asm(kc int, a, b, c *float32, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

const hasAVX512 = false

func kernel6x32Asm(kc int, a, b0, b1, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernel1x128Asm(kc int, a, b, c *float32, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernel12x32Asm(kc int, a, b0, b1, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernel12x32StridedAsm(kc int, a *float32, lda int, b0, b1, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernel12x32SegAsm(kc int, a *float32, lda, first, seg, gap int, b0, b1, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernel14x32SegAsm(kc int, a *float32, lda, first, seg, gap int, b0, b1, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernelDW12x32Asm(kc int, a *float32, lda int, b *float32, offs *int, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernelDW4x32Asm(kc int, a *float32, lda int, b *float32, offs *int, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernelSB12x32Asm(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernelSB4x32Asm(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}
