//go:build !amd64 || noasm

package vec

const hasAsm = false

func pool2x2Asm(a0, a1, a2, a3, bias, y *float32, w *int32, n int, relu bool) {
	panic("vec: no assembly")
}

func unpool2x2Asm(dy *float32, w *int32, d0, d1, d2, d3, dbias *float32, n int) {
	panic("vec: no assembly")
}

func addAsm(dst, src *float32, n int) { panic("vec: no assembly") }

func adamAsm(p, grad, m, v *float32, a *AdamParams, n int) { panic("vec: no assembly") }
