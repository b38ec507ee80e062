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
