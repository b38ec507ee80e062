//go:build !noasm

package sgemm

//go:generate go run gen_arm64.go

// hasKernelAsm and hasKernel1x64Asm: every AArch64 CPU has NEON (Advanced
// SIMD), so the NEON micro-kernel and four-panel one-row kernel always run
// on arm64. Packing and the one-panel row kernel stay in Go there (hasAsm
// is false).
const (
	hasKernelAsm     = true
	hasKernel1x64Asm = true
)

// kernelAsm is the NEON twin of kernel6x16Go (kernel_arm64.s, written by
// gen_arm64.go): FMLA by element, 24 accumulator registers; kc ≥ 1 and the
// caller has bounds-checked a, b and c. On arm64 it equals kernel6x16Go
// bit for bit (both are one fused multiply-add chain per element).
//
//go:noescape
func kernelAsm(kc int, a, b, c *float32, ldc int, accumulate bool)

// kernel1x64Asm is the NEON twin of four kernel1x16Go calls on the
// consecutive panels at b (stride kc·16): c receives 64 outputs; kc ≥ 1,
// all bounds checked by the caller. Bit for bit equal to the Go twin.
//
//go:noescape
func kernel1x64Asm(kc int, a, b, c *float32, accumulate bool)
