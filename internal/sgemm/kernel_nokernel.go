//go:build !(amd64 || arm64) || noasm

package sgemm

// hasKernelAsm and hasKernel1x64Asm report whether the assembly 6×16
// micro-kernel and four-panel one-row kernel are available: never in this
// build (neither amd64 nor arm64, or the noasm tag).
const (
	hasKernelAsm     = false
	hasKernel1x64Asm = false
)

// kernelAsm is never called when hasKernelAsm is false.
func kernelAsm(kc int, a, b, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}

func kernel1x64Asm(kc int, a, b, c *float32, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}
