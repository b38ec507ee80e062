//go:build !noasm

package qgemm

//go:generate go run gen_output_arm64.go

// outputNEON is outputAVX2 on NEON (every arm64 CPU), 8 channels per
// step (see gen_output_arm64.go).
//
//go:noescape
func outputNEON(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool)

var outputKernels = []outputKernel{{"neon", outputNEON}, {"go-formula", outputFormula}}
