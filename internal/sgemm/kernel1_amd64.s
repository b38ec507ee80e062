//go:build !noasm

#include "textflag.h"

// func kernel1x16Asm(kc int, a, b, c *float32, accumulate bool)
//
// One row of C: Y0..Y7 are four accumulator sets (depth p mod 4; set q in
// Y(2q), Y(2q+1) for columns 0-7 and 8-15), Y8..Y11 the broadcast A
// values. Per 4 k steps: 4 broadcasts, 8 FMAs with B from memory.
TEXT ·kernel1x16Asm(SB), NOSPLIT, $0-33
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), DI

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

	CMPQ CX, $4
	JLT  tail

loop4:
	VBROADCASTSS (SI), Y8
	VBROADCASTSS 4(SI), Y9
	VBROADCASTSS 8(SI), Y10
	VBROADCASTSS 12(SI), Y11
	VFMADD231PS  (DX), Y8, Y0
	VFMADD231PS  32(DX), Y8, Y1
	VFMADD231PS  64(DX), Y9, Y2
	VFMADD231PS  96(DX), Y9, Y3
	VFMADD231PS  128(DX), Y10, Y4
	VFMADD231PS  160(DX), Y10, Y5
	VFMADD231PS  192(DX), Y11, Y6
	VFMADD231PS  224(DX), Y11, Y7
	ADDQ         $16, SI
	ADDQ         $256, DX
	SUBQ         $4, CX
	CMPQ         CX, $4
	JGE          loop4

tail:
	// 0..3 depths left: they go to sets 0, 1, 2 in order.
	TESTQ        CX, CX
	JZ           sum
	VBROADCASTSS (SI), Y8
	VFMADD231PS  (DX), Y8, Y0
	VFMADD231PS  32(DX), Y8, Y1
	CMPQ         CX, $2
	JLT          sum
	VBROADCASTSS 4(SI), Y9
	VFMADD231PS  64(DX), Y9, Y2
	VFMADD231PS  96(DX), Y9, Y3
	CMPQ         CX, $3
	JLT          sum
	VBROADCASTSS 8(SI), Y10
	VFMADD231PS  128(DX), Y10, Y4
	VFMADD231PS  160(DX), Y10, Y5

sum:
	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VADDPS Y6, Y4, Y4
	VADDPS Y7, Y5, Y5
	VADDPS Y4, Y0, Y0
	VADDPS Y5, Y1, Y1

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
