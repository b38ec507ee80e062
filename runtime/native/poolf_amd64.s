//go:build !noasm

#include "textflag.h"

// func pool4Asm(n int, a, b, c, d, bias, out *float32, lo, hi float32)
//
// out[i] = min(hi, max(lo, max(max(a[i], b[i]), max(c[i], d[i])) + bias[i]))
// eight values at a time, with MAXPS/MINPS operand order as in pool4Go.
TEXT ·pool4Asm(SB), NOSPLIT, $0-64
	MOVQ         n+0(FP), CX
	MOVQ         a+8(FP), R8
	MOVQ         b+16(FP), R9
	MOVQ         c+24(FP), R10
	MOVQ         d+32(FP), R11
	MOVQ         bias+40(FP), SI
	MOVQ         out+48(FP), DI
	VBROADCASTSS lo+56(FP), Y6
	VBROADCASTSS hi+60(FP), Y7
	XORQ         AX, AX

loop:
	VMOVUPS (R8)(AX*4), Y0
	VMAXPS  (R9)(AX*4), Y0, Y0
	VMOVUPS (R10)(AX*4), Y1
	VMAXPS  (R11)(AX*4), Y1, Y1
	VMAXPS  Y1, Y0, Y0
	VADDPS  (SI)(AX*4), Y0, Y0
	VMAXPS  Y0, Y6, Y0
	VMINPS  Y0, Y7, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JLT     loop
	VZEROUPPER
	RET
