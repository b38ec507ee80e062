//go:build !noasm

package native

import "golang.org/x/sys/cpu"

var hasPoolAsm = cpu.X86.HasAVX

// pool4Asm is the AVX twin of pool4Go on n values (n a positive multiple
// of 8); the caller has bounds-checked every slice.
//
//go:noescape
func pool4Asm(n int, a, b, c, d, bias, out *float32, lo, hi float32)
