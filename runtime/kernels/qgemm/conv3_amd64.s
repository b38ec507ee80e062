//go:build !noasm

#include "textflag.h"

// func conv3VNNI(src *byte, wp int, w *int8, nblk, count int, c *int32, ldc int)
//
// Two blocks of 16 output channels at a time: their 6 weight vectors
// (3 k steps each) stay in Z0-Z5. Per pooled pixel, the 8 distinct
// 4-byte windows (input rows 0-3 × column offsets 0, 1) are broadcast to
// Z6-Z13, 24 VPDPBUSD fill the 8 accumulators Z14-Z21 (2×2 pixels ×
// 2 blocks), and 3 VPMAXSD per block pool them (see conv3Go).
TEXT ·conv3VNNI(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), R10
	MOVQ wp+8(FP), R8
	LEAQ (R8)(R8*2), R9      // 3·wp
	MOVQ w+16(FP), DX
	MOVQ nblk+24(FP), R12
	SHRQ $1, R12             // block pairs
	MOVQ c+40(FP), R13
	MOVQ ldc+48(FP), R11
	SHLQ $2, R11             // ldc in bytes

c3_pair:
	VMOVDQU32 (DX), Z0
	VMOVDQU32 64(DX), Z1
	VMOVDQU32 128(DX), Z2
	VMOVDQU32 192(DX), Z3
	VMOVDQU32 256(DX), Z4
	VMOVDQU32 320(DX), Z5
	MOVQ      R10, SI
	MOVQ      R13, DI
	MOVQ      count+32(FP), CX

c3_pixel:
	VPBROADCASTD (SI), Z6
	VPBROADCASTD 1(SI), Z7
	VPBROADCASTD (SI)(R8*1), Z8
	VPBROADCASTD 1(SI)(R8*1), Z9
	VPBROADCASTD (SI)(R8*2), Z10
	VPBROADCASTD 1(SI)(R8*2), Z11
	VPBROADCASTD (SI)(R9*1), Z12
	VPBROADCASTD 1(SI)(R9*1), Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPDPBUSD Z0, Z6, Z14
	VPDPBUSD Z0, Z7, Z15
	VPDPBUSD Z0, Z8, Z16
	VPDPBUSD Z0, Z9, Z17
	VPDPBUSD Z3, Z6, Z18
	VPDPBUSD Z3, Z7, Z19
	VPDPBUSD Z3, Z8, Z20
	VPDPBUSD Z3, Z9, Z21
	VPDPBUSD Z1, Z8, Z14
	VPDPBUSD Z1, Z9, Z15
	VPDPBUSD Z1, Z10, Z16
	VPDPBUSD Z1, Z11, Z17
	VPDPBUSD Z4, Z8, Z18
	VPDPBUSD Z4, Z9, Z19
	VPDPBUSD Z4, Z10, Z20
	VPDPBUSD Z4, Z11, Z21
	VPDPBUSD Z2, Z10, Z14
	VPDPBUSD Z2, Z11, Z15
	VPDPBUSD Z2, Z12, Z16
	VPDPBUSD Z2, Z13, Z17
	VPDPBUSD Z5, Z10, Z18
	VPDPBUSD Z5, Z11, Z19
	VPDPBUSD Z5, Z12, Z20
	VPDPBUSD Z5, Z13, Z21
	VPMAXSD Z15, Z14, Z14
	VPMAXSD Z17, Z16, Z16
	VPMAXSD Z16, Z14, Z14
	VPMAXSD Z19, Z18, Z18
	VPMAXSD Z21, Z20, Z20
	VPMAXSD Z20, Z18, Z18
	VMOVDQU32 Z14, (DI)
	VMOVDQU32 Z18, 64(DI)
	ADDQ      $2, SI
	ADDQ      R11, DI
	DECQ      CX
	JNZ       c3_pixel

	ADDQ $384, DX            // next two blocks of weights
	ADDQ $128, R13           // their 32 columns of C
	DECQ R12
	JNZ  c3_pair
	VZEROUPPER
	RET
