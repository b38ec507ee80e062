//go:build !noasm

#include "textflag.h"

// func convPoolAsm(kc, taps int, offs *int, x *float32, pp *[3]int, s, r int, b, bias *float32, lo, hi float32, out *float32, po *[3]int)
//
// AVX-512 twin of convPoolGo: twelve convolution pixels (three pooled
// pixels j, four windows each at x[pp[j]], +s, +r, +r+s) by 32 columns.
// Z8..Z31 accumulate, pooled pixel j's window w in Z(8+8j+2w) (columns
// 0-15) and Z(9+8j+2w) (16-31), one FMA chain per element in increasing
// k = t·kc+ch from zero (the order of the im2col GEMM). Z0, Z1 hold the
// weight row, Z2..Z7 the broadcast inputs. R8, R9, R10 point at the
// current input of the three pooled pixels; R11, R12, R13 are the byte
// offsets s, r and r+s of the other windows. The epilogue pools, adds
// the bias and clamps with MAXPS/MINPS in pool4Go's operand order.
TEXT ·convPoolAsm(SB), NOSPLIT, $0-96
	MOVQ kc+0(FP), BX
	MOVQ taps+8(FP), DI
	MOVQ offs+16(FP), SI
	MOVQ b+56(FP), DX
	MOVQ s+40(FP), R11
	SHLQ $2, R11
	MOVQ r+48(FP), R12
	SHLQ $2, R12
	LEAQ (R11)(R12*1), R13
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
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31

tap:
	MOVQ (SI), AX
	SHLQ $2, AX
	ADDQ x+24(FP), AX
	MOVQ pp+32(FP), R10
	MOVQ (R10), R8
	MOVQ 8(R10), R9
	MOVQ 16(R10), R10
	LEAQ (AX)(R8*4), R8
	LEAQ (AX)(R9*4), R9
	LEAQ (AX)(R10*4), R10
	MOVQ BX, CX

chan:
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VBROADCASTSS (R8), Z2
	VBROADCASTSS (R8)(R11*1), Z3
	VBROADCASTSS (R8)(R12*1), Z4
	VBROADCASTSS (R8)(R13*1), Z5
	VFMADD231PS  Z0, Z2, Z8
	VFMADD231PS  Z1, Z2, Z9
	VFMADD231PS  Z0, Z3, Z10
	VFMADD231PS  Z1, Z3, Z11
	VFMADD231PS  Z0, Z4, Z12
	VFMADD231PS  Z1, Z4, Z13
	VFMADD231PS  Z0, Z5, Z14
	VFMADD231PS  Z1, Z5, Z15
	VBROADCASTSS (R9), Z6
	VBROADCASTSS (R9)(R11*1), Z7
	VBROADCASTSS (R9)(R12*1), Z2
	VBROADCASTSS (R9)(R13*1), Z3
	VFMADD231PS  Z0, Z6, Z16
	VFMADD231PS  Z1, Z6, Z17
	VFMADD231PS  Z0, Z7, Z18
	VFMADD231PS  Z1, Z7, Z19
	VFMADD231PS  Z0, Z2, Z20
	VFMADD231PS  Z1, Z2, Z21
	VFMADD231PS  Z0, Z3, Z22
	VFMADD231PS  Z1, Z3, Z23
	VBROADCASTSS (R10), Z4
	VBROADCASTSS (R10)(R11*1), Z5
	VBROADCASTSS (R10)(R12*1), Z6
	VBROADCASTSS (R10)(R13*1), Z7
	VFMADD231PS  Z0, Z4, Z24
	VFMADD231PS  Z1, Z4, Z25
	VFMADD231PS  Z0, Z5, Z26
	VFMADD231PS  Z1, Z5, Z27
	VFMADD231PS  Z0, Z6, Z28
	VFMADD231PS  Z1, Z6, Z29
	VFMADD231PS  Z0, Z7, Z30
	VFMADD231PS  Z1, Z7, Z31
	ADDQ         $4, R8
	ADDQ         $4, R9
	ADDQ         $4, R10
	ADDQ         $128, DX
	DECQ         CX
	JNZ          chan

	ADDQ $8, SI
	DECQ DI
	JNZ  tap

	MOVQ         bias+64(FP), AX
	VMOVUPS      (AX), Z0
	VMOVUPS      64(AX), Z1
	VBROADCASTSS lo+72(FP), Z2
	VBROADCASTSS hi+76(FP), Z3
	MOVQ         out+80(FP), AX
	MOVQ         po+88(FP), BX

	// pooled pixel 0
	VMAXPS  Z10, Z8, Z8
	VMAXPS  Z14, Z12, Z12
	VMAXPS  Z12, Z8, Z8
	VADDPS  Z0, Z8, Z8
	VMAXPS  Z8, Z2, Z8
	VMINPS  Z8, Z3, Z8
	VMAXPS  Z11, Z9, Z9
	VMAXPS  Z15, Z13, Z13
	VMAXPS  Z13, Z9, Z9
	VADDPS  Z1, Z9, Z9
	VMAXPS  Z9, Z2, Z9
	VMINPS  Z9, Z3, Z9
	MOVQ    0(BX), CX
	VMOVUPS Z8, (AX)(CX*4)
	VMOVUPS Z9, 64(AX)(CX*4)

	// pooled pixel 1
	VMAXPS  Z18, Z16, Z16
	VMAXPS  Z22, Z20, Z20
	VMAXPS  Z20, Z16, Z16
	VADDPS  Z0, Z16, Z16
	VMAXPS  Z16, Z2, Z16
	VMINPS  Z16, Z3, Z16
	VMAXPS  Z19, Z17, Z17
	VMAXPS  Z23, Z21, Z21
	VMAXPS  Z21, Z17, Z17
	VADDPS  Z1, Z17, Z17
	VMAXPS  Z17, Z2, Z17
	VMINPS  Z17, Z3, Z17
	MOVQ    8(BX), CX
	VMOVUPS Z16, (AX)(CX*4)
	VMOVUPS Z17, 64(AX)(CX*4)

	// pooled pixel 2
	VMAXPS  Z26, Z24, Z24
	VMAXPS  Z30, Z28, Z28
	VMAXPS  Z28, Z24, Z24
	VADDPS  Z0, Z24, Z24
	VMAXPS  Z24, Z2, Z24
	VMINPS  Z24, Z3, Z24
	VMAXPS  Z27, Z25, Z25
	VMAXPS  Z31, Z29, Z29
	VMAXPS  Z29, Z25, Z25
	VADDPS  Z1, Z25, Z25
	VMAXPS  Z25, Z2, Z25
	VMINPS  Z25, Z3, Z25
	MOVQ    16(BX), CX
	VMOVUPS Z24, (AX)(CX*4)
	VMOVUPS Z25, 64(AX)(CX*4)
	VZEROUPPER
	RET

// func convPool1Asm(kc, taps int, offs *int, x *float32, pp, s, r int, b, bias *float32, lo, hi float32, out *float32, po int)
//
// convPoolAsm for one pooled pixel (the tail of a unit): its four windows
// at x[pp], +s, +r, +r+s accumulate in Z8..Z15 (window w in Z(8+2w),
// Z(9+2w)), with the same FMA chains, pooling and clamp; the result goes
// to out[po:po+32].
TEXT ·convPool1Asm(SB), NOSPLIT, $0-96
	MOVQ kc+0(FP), BX
	MOVQ taps+8(FP), DI
	MOVQ offs+16(FP), SI
	MOVQ b+56(FP), DX
	MOVQ s+40(FP), R11
	SHLQ $2, R11
	MOVQ r+48(FP), R12
	SHLQ $2, R12
	LEAQ (R11)(R12*1), R13
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

tap1:
	MOVQ (SI), AX
	SHLQ $2, AX
	ADDQ x+24(FP), AX
	MOVQ pp+32(FP), R8
	LEAQ (AX)(R8*4), R8
	MOVQ BX, CX

chan1:
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VBROADCASTSS (R8), Z2
	VBROADCASTSS (R8)(R11*1), Z3
	VBROADCASTSS (R8)(R12*1), Z4
	VBROADCASTSS (R8)(R13*1), Z5
	VFMADD231PS  Z0, Z2, Z8
	VFMADD231PS  Z1, Z2, Z9
	VFMADD231PS  Z0, Z3, Z10
	VFMADD231PS  Z1, Z3, Z11
	VFMADD231PS  Z0, Z4, Z12
	VFMADD231PS  Z1, Z4, Z13
	VFMADD231PS  Z0, Z5, Z14
	VFMADD231PS  Z1, Z5, Z15
	ADDQ         $4, R8
	ADDQ         $128, DX
	DECQ         CX
	JNZ          chan1

	ADDQ $8, SI
	DECQ DI
	JNZ  tap1

	MOVQ         bias+64(FP), AX
	VMOVUPS      (AX), Z0
	VMOVUPS      64(AX), Z1
	VBROADCASTSS lo+72(FP), Z2
	VBROADCASTSS hi+76(FP), Z3
	MOVQ         out+80(FP), AX
	MOVQ         po+88(FP), CX
	VMAXPS  Z10, Z8, Z8
	VMAXPS  Z14, Z12, Z12
	VMAXPS  Z12, Z8, Z8
	VADDPS  Z0, Z8, Z8
	VMAXPS  Z8, Z2, Z8
	VMINPS  Z8, Z3, Z8
	VMAXPS  Z11, Z9, Z9
	VMAXPS  Z15, Z13, Z13
	VMAXPS  Z13, Z9, Z9
	VADDPS  Z1, Z9, Z9
	VMAXPS  Z9, Z2, Z9
	VMINPS  Z9, Z3, Z9
	VMOVUPS Z8, (AX)(CX*4)
	VMOVUPS Z9, 64(AX)(CX*4)
	VZEROUPPER
	RET
