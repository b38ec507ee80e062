//go:build amd64 && !noasm

package vec

import "golang.org/x/sys/cpu"

var hasAsm = cpu.X86.HasAVX2

//go:noescape
func pool2x2Asm(a0, a1, a2, a3, bias, y *float32, w *int32, n int, relu bool)

//go:noescape
func unpool2x2Asm(dy *float32, w *int32, d0, d1, d2, d3, dbias *float32, n int)

//go:noescape
func addAsm(dst, src *float32, n int)

//go:noescape
func adamAsm(p, grad, m, v *float32, a *AdamParams, n int)

//go:noescape
func pool2x2RowAsm(r0, r1, bias, y *float32, w *int32, c, wd int, relu bool)

//go:noescape
func unpool2x2RowAsm(dy *float32, w *int32, d0, d1, dbias *float32, c, wd int)

var hasAVX512 = cpu.X86.HasAVX512F

//go:noescape
func pool2x2RowAsm512(r0, r1, bias, y *float32, w *int32, c, wd int, relu bool)

//go:noescape
func unpool2x2RowAsm512(dy *float32, w *int32, d0, d1, dbias *float32, c, wd int)

//go:noescape
func conv3x3Pool2x2RowAsm512(x *float32, ldx int, w, bias, y *float32, win *int32, ldy, wd int, relu bool)

//go:noescape
func dwUnpoolAsm512(n int, x *float32, ldx int, dz *float32, win *int32, tap int, acc *float32)

//go:noescape
func unpoolBiasAsm512(dz *float32, win *int32, dbias *float32, c, npix int)
