//go:build !noasm

package qgemm

import "golang.org/x/sys/cpu"

// outputAVX512 is OutputStage.max4Go for Double and Ruy rounding and
// multipliers < 1 (shift ≤ 0), 16 channels per step, over count pixels
// whose rows are cstep bytes apart and outputs ostep bytes apart, with the
// per-channel constants of OutputStage.vecParams (see output_amd64.s);
// pool false reads c0 only.
//
//go:noescape
func outputAVX512(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool)

// outputAVX2 is outputAVX512 on AVX2, 8 channels per step.
//
//go:noescape
func outputAVX2(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool)

var outputKernels = func() []outputKernel {
	var ks []outputKernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasBMI2 {
		ks = append(ks, outputKernel{"avx512", outputAVX512})
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, outputKernel{"avx2", outputAVX2})
	}
	return append(ks, outputKernel{"go-formula", outputFormula})
}()
