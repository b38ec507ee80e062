//go:build !noasm

#include "textflag.h"

// func packPtrs6Asm(kc int, s0, s1, s2, s3, s4, s5, dst *float32)
//
// dst[q*6+r] = s_r[q] for r < 6, q < kc: packRows6Asm with one pointer per
// row. Four depths at a time: rows 0..3 through a 4×4 transpose (one
// 16-byte store per depth), rows 4, 5 interleaved (one 8-byte store).
TEXT ·packPtrs6Asm(SB), NOSPLIT, $0-64
	MOVQ kc+0(FP), CX
	MOVQ s0+8(FP), SI
	MOVQ s1+16(FP), R8
	MOVQ s2+24(FP), R9
	MOVQ s3+32(FP), R10
	MOVQ s4+40(FP), R11
	MOVQ s5+48(FP), R12
	MOVQ dst+56(FP), DI
	XORQ AX, AX // byte offset into the sources

	CMPQ CX, $4
	JLT  tailp

loopp:
	VMOVUPS   (SI)(AX*1), X0
	VMOVUPS   (R8)(AX*1), X1
	VMOVUPS   (R9)(AX*1), X2
	VMOVUPS   (R10)(AX*1), X3
	VMOVUPS   (R11)(AX*1), X4
	VMOVUPS   (R12)(AX*1), X5
	VUNPCKLPS X1, X0, X6     // a0 b0 a1 b1
	VUNPCKHPS X1, X0, X7     // a2 b2 a3 b3
	VUNPCKLPS X3, X2, X8     // c0 d0 c1 d1
	VUNPCKHPS X3, X2, X9     // c2 d2 c3 d3
	VMOVLHPS  X8, X6, X0     // a0 b0 c0 d0
	VMOVHLPS  X6, X8, X1     // a1 b1 c1 d1
	VMOVLHPS  X9, X7, X2     // a2 b2 c2 d2
	VMOVHLPS  X7, X9, X3     // a3 b3 c3 d3
	VUNPCKLPS X5, X4, X6     // e0 f0 e1 f1
	VUNPCKHPS X5, X4, X7     // e2 f2 e3 f3
	VMOVUPS   X0, (DI)
	VMOVLPS   X6, 16(DI)
	VMOVUPS   X1, 24(DI)
	VMOVHPS   X6, 40(DI)
	VMOVUPS   X2, 48(DI)
	VMOVLPS   X7, 64(DI)
	VMOVUPS   X3, 72(DI)
	VMOVHPS   X7, 88(DI)
	ADDQ      $16, AX
	ADDQ      $96, DI
	SUBQ      $4, CX
	CMPQ      CX, $4
	JGE       loopp

tailp:
	TESTQ CX, CX
	JZ    donep
	VMOVSS (SI)(AX*1), X0
	VMOVSS X0, (DI)
	VMOVSS (R8)(AX*1), X0
	VMOVSS X0, 4(DI)
	VMOVSS (R9)(AX*1), X0
	VMOVSS X0, 8(DI)
	VMOVSS (R10)(AX*1), X0
	VMOVSS X0, 12(DI)
	VMOVSS (R11)(AX*1), X0
	VMOVSS X0, 16(DI)
	VMOVSS (R12)(AX*1), X0
	VMOVSS X0, 20(DI)
	ADDQ   $4, AX
	ADDQ   $24, DI
	DECQ   CX
	JMP    tailp

donep:
	RET

// func copyBlock16Asm(rows, chunks int, src *float32, lds int, dst *float32, ldd int)
//
// dst[h*ldd+r*16+j] = src[r*lds+h*16+j] for r < rows, h < chunks, j < 16
// (strides in elements; rows, chunks ≥ 1): one 16-float chunk per two
// 32-byte moves, source rows read in order.
TEXT ·copyBlock16Asm(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), CX
	MOVQ chunks+8(FP), R10
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R8
	SHLQ $2, R8
	MOVQ dst+32(FP), DI
	MOVQ ldd+40(FP), R9
	SHLQ $2, R9

rowb:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

chunkb:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    $64, AX
	ADDQ    R9, DX
	DECQ    BX
	JNZ     chunkb
	ADDQ    R8, SI
	ADDQ    $64, DI
	DECQ    CX
	JNZ     rowb
	VZEROUPPER
	RET
