//go:build !noasm

#include "textflag.h"

// func kernel1x16Asm(kc int, a, b, c *float32, accumulate bool)
//
// One row of C against one packed B panel: Y0, Y1 accumulate columns 0-7
// and 8-15 (one FMA chain per column, in increasing k), Y8 holds the
// broadcast A value.
TEXT ·kernel1x16Asm(SB), NOSPLIT, $0-33
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), DI

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

loop:
	VBROADCASTSS (SI), Y8
	VFMADD231PS  (DX), Y8, Y0
	VFMADD231PS  32(DX), Y8, Y1
	ADDQ         $4, SI
	ADDQ         $64, DX
	DECQ         CX
	JNZ          loop

	MOVBLZX accumulate+32(FP), AX
	TESTQ   AX, AX
	JZ      store
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1

store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VZEROUPPER
	RET

// func kernel1x64Asm(kc int, a, b, c *float32, accumulate bool)
//
// One row of C against four consecutive packed B panels (each kc×16, at
// DX, R10, R11, R12): Y(2q), Y(2q+1) accumulate panel q, one FMA chain
// per column in increasing k; eight independent chains cover the FMA
// latency.
TEXT ·kernel1x64Asm(SB), NOSPLIT, $0-33
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), DI
	MOVQ CX, R9
	SHLQ $6, R9       // panel stride in bytes: kc·16·4
	LEAQ (DX)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop:
	VBROADCASTSS (SI), Y8
	VFMADD231PS  (DX), Y8, Y0
	VFMADD231PS  32(DX), Y8, Y1
	VFMADD231PS  (R10), Y8, Y2
	VFMADD231PS  32(R10), Y8, Y3
	VFMADD231PS  (R11), Y8, Y4
	VFMADD231PS  32(R11), Y8, Y5
	VFMADD231PS  (R12), Y8, Y6
	VFMADD231PS  32(R12), Y8, Y7
	ADDQ         $4, SI
	ADDQ         $64, DX
	ADDQ         $64, R10
	ADDQ         $64, R11
	ADDQ         $64, R12
	DECQ         CX
	JNZ          loop

	MOVBLZX accumulate+32(FP), AX
	TESTQ   AX, AX
	JZ      store
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VADDPS  64(DI), Y2, Y2
	VADDPS  96(DI), Y3, Y3
	VADDPS  128(DI), Y4, Y4
	VADDPS  160(DI), Y5, Y5
	VADDPS  192(DI), Y6, Y6
	VADDPS  224(DI), Y7, Y7

store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VZEROUPPER
	RET
