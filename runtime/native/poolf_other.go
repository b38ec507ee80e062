//go:build !amd64 || noasm

package native

const hasPoolAsm = false

func pool4Asm(n int, a, b, c, d, bias, out *float32, lo, hi float32) {
	panic("native: no assembly pooling kernel in this build")
}
