//go:build noasm || !amd64

package qgemm

var outputVec func(c0, c1, c2, c3 *int32, n int, bias, mult, right *int32, out *int8, zp, lo, hi, awayFromZero int32, count, cstep, ostep int)

const outputVecName = ""
