//go:build !noasm

#include "textflag.h"

// func conv1Asm(npix int, x *float32, offs *int, taps int, w *float32, out *float32, ldo int)
//
// Direct convolution of a one-channel input, stride 1, for one 16-column
// panel of outputs: for pixel i < npix and column j < 16,
// out[i*ldo+j] = Σ_t x[i+offs[t]]·w[t*16+j], one FMA chain per output in
// increasing t (the order of the im2col GEMM). Eight pixels at a time:
// Z0..Z7 accumulate, Z8..Z15 hold the broadcast inputs, Z16 the tap's
// weights.
TEXT ·conv1Asm(SB), NOSPLIT, $0-56
	MOVQ npix+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ offs+16(FP), R9
	MOVQ taps+24(FP), R10
	MOVQ w+32(FP), R11
	MOVQ out+40(FP), DI
	MOVQ ldo+48(FP), R12
	SHLQ $2, R12

loop8:
	CMPQ CX, $8
	JLT  tail
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ R9, AX
	MOVQ R11, BX
	MOVQ R10, DX

tap8:
	MOVQ         (AX), R13
	LEAQ         (SI)(R13*4), R13
	VMOVUPS      (BX), Z16
	VBROADCASTSS (R13), Z8
	VBROADCASTSS 4(R13), Z9
	VBROADCASTSS 8(R13), Z10
	VBROADCASTSS 12(R13), Z11
	VBROADCASTSS 16(R13), Z12
	VBROADCASTSS 20(R13), Z13
	VBROADCASTSS 24(R13), Z14
	VBROADCASTSS 28(R13), Z15
	VFMADD231PS  Z16, Z8, Z0
	VFMADD231PS  Z16, Z9, Z1
	VFMADD231PS  Z16, Z10, Z2
	VFMADD231PS  Z16, Z11, Z3
	VFMADD231PS  Z16, Z12, Z4
	VFMADD231PS  Z16, Z13, Z5
	VFMADD231PS  Z16, Z14, Z6
	VFMADD231PS  Z16, Z15, Z7
	ADDQ         $8, AX
	ADDQ         $64, BX
	DECQ         DX
	JNZ          tap8

	VMOVUPS Z0, (DI)
	ADDQ    R12, DI
	VMOVUPS Z1, (DI)
	ADDQ    R12, DI
	VMOVUPS Z2, (DI)
	ADDQ    R12, DI
	VMOVUPS Z3, (DI)
	ADDQ    R12, DI
	VMOVUPS Z4, (DI)
	ADDQ    R12, DI
	VMOVUPS Z5, (DI)
	ADDQ    R12, DI
	VMOVUPS Z6, (DI)
	ADDQ    R12, DI
	VMOVUPS Z7, (DI)
	ADDQ    R12, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     loop8

tail:
	TESTQ CX, CX
	JZ    done
	VPXORD Z0, Z0, Z0
	MOVQ   R9, AX
	MOVQ   R11, BX
	MOVQ   R10, DX

tap1:
	MOVQ         (AX), R13
	VBROADCASTSS (SI)(R13*4), Z8
	VFMADD231PS  (BX), Z8, Z0
	ADDQ         $8, AX
	ADDQ         $64, BX
	DECQ         DX
	JNZ          tap1

	VMOVUPS Z0, (DI)
	ADDQ    R12, DI
	ADDQ    $4, SI
	DECQ    CX
	JMP     tail

done:
	VZEROUPPER
	RET

// func convIndirectAsm(kc, taps int, offs *int, x *float32, pix *[6]int, b *float32, bstride int, c *float32, ldc int)
//
// AVX-512 6×32 tile of a convolution without im2col: row i of the tile is
// the output pixel whose input window starts at x[pix[i]]; depth k = t·kc + ch
// reads x[pix[i]+offs[t]+ch] (offsets in elements) and B row k of the
// panels at b (columns 0-15) and b+bstride bytes (16-31), each kc·taps×16.
// Z8..Z19 accumulate (row i in Z(8+2i), Z(9+2i)), one FMA chain per
// element in increasing k; the tile overwrites c (row stride ldc).
TEXT ·convIndirectAsm(SB), NOSPLIT, $0-72
	MOVQ offs+16(FP), SI
	MOVQ taps+8(FP), DI
	MOVQ b+40(FP), DX
	MOVQ bstride+48(FP), BX
	ADDQ DX, BX

	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19

tap:
	MOVQ (SI), R9
	SHLQ $2, R9
	ADDQ x+24(FP), R9
	MOVQ pix+32(FP), R8
	MOVQ 8(R8), R10
	SHLQ $2, R10
	ADDQ R9, R10
	MOVQ 16(R8), R11
	SHLQ $2, R11
	ADDQ R9, R11
	MOVQ 24(R8), R12
	SHLQ $2, R12
	ADDQ R9, R12
	MOVQ 32(R8), R13
	SHLQ $2, R13
	ADDQ R9, R13
	MOVQ 40(R8), AX
	SHLQ $2, AX
	ADDQ R9, AX
	MOVQ (R8), R8
	SHLQ $2, R8
	ADDQ R9, R8
	XORQ CX, CX

chan:
	VMOVUPS      (DX), Z0
	VMOVUPS      (BX), Z1
	VBROADCASTSS (R8)(CX*4), Z2
	VBROADCASTSS (R10)(CX*4), Z3
	VFMADD231PS  Z0, Z2, Z8
	VFMADD231PS  Z1, Z2, Z9
	VFMADD231PS  Z0, Z3, Z10
	VFMADD231PS  Z1, Z3, Z11
	VBROADCASTSS (R11)(CX*4), Z4
	VBROADCASTSS (R12)(CX*4), Z5
	VFMADD231PS  Z0, Z4, Z12
	VFMADD231PS  Z1, Z4, Z13
	VFMADD231PS  Z0, Z5, Z14
	VFMADD231PS  Z1, Z5, Z15
	VBROADCASTSS (R13)(CX*4), Z6
	VBROADCASTSS (AX)(CX*4), Z7
	VFMADD231PS  Z0, Z6, Z16
	VFMADD231PS  Z1, Z6, Z17
	VFMADD231PS  Z0, Z7, Z18
	VFMADD231PS  Z1, Z7, Z19
	ADDQ         $64, DX
	ADDQ         $64, BX
	INCQ         CX
	CMPQ         CX, kc+0(FP)
	JLT          chan

	ADDQ $8, SI
	DECQ DI
	JNZ  tap

	MOVQ    c+56(FP), DI
	MOVQ    ldc+64(FP), R8
	SHLQ    $2, R8
	VMOVUPS Z8, (DI)
	VMOVUPS Z9, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z10, (DI)
	VMOVUPS Z11, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z12, (DI)
	VMOVUPS Z13, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z14, (DI)
	VMOVUPS Z15, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z16, (DI)
	VMOVUPS Z17, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z18, (DI)
	VMOVUPS Z19, 64(DI)
	VZEROUPPER
	RET
