//go:build noasm || !amd64

package qgemm

var outputVec func(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool)

const outputVecName = ""
