//go:build !noasm

#include "textflag.h"

// func packRows6Asm(kc int, src *float32, ld int, dst *float32)
//
// dst[p*6+r] = src[r*ld+p] for r < 6, p < kc. Four depths at a time: rows
// 0..3 go through a 4×4 transpose (X0..X3 → one 16-byte store per depth),
// rows 4, 5 are interleaved (X6, X7 → one 8-byte store per depth).
TEXT ·packRows6Asm(SB), NOSPLIT, $0-32
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3·ld
	LEAQ (R8)(R8*4), R10 // 5·ld

	CMPQ CX, $4
	JLT  tail6

loop6:
	VMOVUPS   (SI), X0
	VMOVUPS   (SI)(R8*1), X1
	VMOVUPS   (SI)(R8*2), X2
	VMOVUPS   (SI)(R9*1), X3
	VMOVUPS   (SI)(R8*4), X4
	VMOVUPS   (SI)(R10*1), X5
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
	ADDQ      $16, SI
	ADDQ      $96, DI
	SUBQ      $4, CX
	CMPQ      CX, $4
	JGE       loop6

tail6:
	TESTQ CX, CX
	JZ    done6
	VMOVSS (SI), X0
	VMOVSS X0, (DI)
	VMOVSS (SI)(R8*1), X0
	VMOVSS X0, 4(DI)
	VMOVSS (SI)(R8*2), X0
	VMOVSS X0, 8(DI)
	VMOVSS (SI)(R9*1), X0
	VMOVSS X0, 12(DI)
	VMOVSS (SI)(R8*4), X0
	VMOVSS X0, 16(DI)
	VMOVSS (SI)(R10*1), X0
	VMOVSS X0, 20(DI)
	ADDQ   $4, SI
	ADDQ   $24, DI
	DECQ   CX
	JMP    tail6

done6:
	RET

// func packRows16Asm(kc int, src *float32, ld int, dst *float32)
//
// dst[p*16+c] = src[c*ld+p] for c < 16, p < kc: four groups of four rows,
// each transposed four depths at a time into 16-byte stores.
TEXT ·packRows16Asm(SB), NOSPLIT, $0-32
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ dst+24(FP), DI
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9 // 3·ld
	MOVQ $4, R11        // groups left

group16:
	MOVQ kc+0(FP), CX
	MOVQ SI, AX // row pointer of this group
	MOVQ DI, DX // dst pointer of this group
	CMPQ CX, $4
	JLT  tail16

loop16:
	VMOVUPS   (AX), X0
	VMOVUPS   (AX)(R8*1), X1
	VMOVUPS   (AX)(R8*2), X2
	VMOVUPS   (AX)(R9*1), X3
	VUNPCKLPS X1, X0, X6
	VUNPCKHPS X1, X0, X7
	VUNPCKLPS X3, X2, X8
	VUNPCKHPS X3, X2, X9
	VMOVLHPS  X8, X6, X0
	VMOVHLPS  X6, X8, X1
	VMOVLHPS  X9, X7, X2
	VMOVHLPS  X7, X9, X3
	VMOVUPS   X0, (DX)
	VMOVUPS   X1, 64(DX)
	VMOVUPS   X2, 128(DX)
	VMOVUPS   X3, 192(DX)
	ADDQ      $16, AX
	ADDQ      $256, DX
	SUBQ      $4, CX
	CMPQ      CX, $4
	JGE       loop16

tail16:
	TESTQ CX, CX
	JZ    next16
	VMOVSS (AX), X0
	VMOVSS X0, (DX)
	VMOVSS (AX)(R8*1), X0
	VMOVSS X0, 4(DX)
	VMOVSS (AX)(R8*2), X0
	VMOVSS X0, 8(DX)
	VMOVSS (AX)(R9*1), X0
	VMOVSS X0, 12(DX)
	ADDQ   $4, AX
	ADDQ   $64, DX
	DECQ   CX
	JMP    tail16

next16:
	LEAQ (SI)(R8*4), SI // next four rows
	ADDQ $16, DI        // next four columns
	DECQ R11
	JNZ  group16
	RET

// func copyPanels6Asm(kc int, src *float32, ld int, np int, dst *float32)
//
// dst[q*6*kc+p*6+r] = src[p*ld+q*6+r] for p < kc, q < np, r < 6; kc, np ≥ 1.
TEXT ·copyPanels6Asm(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ np+24(FP), R10
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	LEAQ (CX)(CX*2), R9
	SHLQ $3, R9 // panel stride: 24·kc bytes

row6:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

chunk6:
	VMOVUPS (AX), X0
	VMOVSD  16(AX), X1
	VMOVUPS X0, (DX)
	VMOVSD  X1, 16(DX)
	ADDQ    $24, AX
	ADDQ    R9, DX
	DECQ    BX
	JNZ     chunk6

	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNZ  row6
	RET

// func copyPanels16Asm(kc int, src *float32, ld int, np int, dst *float32)
//
// dst[q*16*kc+p*16+j] = src[p*ld+q*16+j] for p < kc, q < np, j < 16;
// kc, np ≥ 1.
TEXT ·copyPanels16Asm(SB), NOSPLIT, $0-40
	MOVQ kc+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ np+24(FP), R10
	MOVQ dst+32(FP), DI
	SHLQ $2, R8
	MOVQ CX, R9
	SHLQ $6, R9 // panel stride: 64·kc bytes

row16:
	MOVQ SI, AX
	MOVQ DI, DX
	MOVQ R10, BX

chunk16:
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	ADDQ    $64, AX
	ADDQ    R9, DX
	DECQ    BX
	JNZ     chunk16

	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  row16
	VZEROUPPER
	RET
