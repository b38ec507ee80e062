//go:build !(amd64 || arm64) || noasm

package sgemm

// hasKernelAsm reports whether an assembly 6×16 micro-kernel is available:
// never in this build (neither amd64 nor arm64, or the noasm tag).
const hasKernelAsm = false

// kernelAsm is never called when hasKernelAsm is false.
func kernelAsm(kc int, a, b, c *float32, ldc int, accumulate bool) {
	panic("sgemm: no assembly micro-kernel in this build")
}
