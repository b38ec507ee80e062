//go:build !noasm

package sgemm

//go:generate go run gen_arm64.go

// hasKernelAsm: every AArch64 CPU has NEON (Advanced SIMD), so the NEON
// micro-kernel always runs on arm64. Packing and the one-row kernels stay
// in Go there (hasAsm is false).
const hasKernelAsm = true

// kernelAsm is the NEON twin of kernel6x16Go (kernel_arm64.s, written by
// gen_arm64.go): FMLA by element, 24 accumulator registers; kc ≥ 1 and the
// caller has bounds-checked a, b and c. On arm64 it equals kernel6x16Go
// bit for bit (both are one fused multiply-add chain per element).
//
//go:noescape
func kernelAsm(kc int, a, b, c *float32, ldc int, accumulate bool)
