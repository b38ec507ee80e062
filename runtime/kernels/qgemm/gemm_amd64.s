//go:build !noasm

#include "textflag.h"

// Both kernels compute, for rgroups groups of 4 rows and nblk blocks of
// 16 columns, C[r][16b+j] = Σ_s Σ_t A[r][4s+t]·W[b][s][j][t] exactly (see
// gemmGo in gemm_go.go, the reference loop).

// func gemmVNNI(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)
//
// 4×16 tiles: each k step broadcasts 4 A bytes per row (unsigned: the
// caller stored x XOR 0x80 = x+128) and issues one VPDPBUSD per row against
// the 64 weight bytes (16 channels × 4 depth). Two k steps per iteration
// into two accumulator sets to hide the VPDPBUSD latency.
TEXT ·gemmVNNI(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R8
	MOVQ w+16(FP), DX
	MOVQ ksteps+32(FP), R13
	SHLQ $6, R13
	MOVQ nblk+40(FP), R10
	IMULQ R13, R10
	ADDQ DX, R10
	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R11
	SHLQ $2, R11
	MOVQ rgroups+64(FP), R12

vnni_group:
	MOVQ DX, R14
	MOVQ DI, R9

vnni_block:
	MOVQ SI, AX
	LEAQ (SI)(R8*1), BX
	LEAQ (SI)(R8*2), CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	MOVQ ksteps+32(FP), R15
	SUBQ $2, R15
	JL   vnni_tail

vnni_k2:
	VMOVDQU32    (R14), Z8
	VMOVDQU32    64(R14), Z9
	VPBROADCASTD (AX), Z4
	VPBROADCASTD (BX), Z5
	VPBROADCASTD (CX), Z6
	VPBROADCASTD (CX)(R8*1), Z7
	VPDPBUSD     Z8, Z4, Z0
	VPDPBUSD     Z8, Z5, Z1
	VPDPBUSD     Z8, Z6, Z2
	VPDPBUSD     Z8, Z7, Z3
	VPBROADCASTD 4(AX), Z4
	VPBROADCASTD 4(BX), Z5
	VPBROADCASTD 4(CX), Z6
	VPBROADCASTD 4(CX)(R8*1), Z7
	VPDPBUSD     Z9, Z4, Z16
	VPDPBUSD     Z9, Z5, Z17
	VPDPBUSD     Z9, Z6, Z18
	VPDPBUSD     Z9, Z7, Z19
	ADDQ         $128, R14
	ADDQ         $8, AX
	ADDQ         $8, BX
	ADDQ         $8, CX
	SUBQ         $2, R15
	JGE          vnni_k2

vnni_tail:
	ADDQ $2, R15
	JZ   vnni_store
	VMOVDQU32    (R14), Z8
	VPBROADCASTD (AX), Z4
	VPBROADCASTD (BX), Z5
	VPBROADCASTD (CX), Z6
	VPBROADCASTD (CX)(R8*1), Z7
	VPDPBUSD     Z8, Z4, Z0
	VPDPBUSD     Z8, Z5, Z1
	VPDPBUSD     Z8, Z6, Z2
	VPDPBUSD     Z8, Z7, Z3
	ADDQ         $64, R14

vnni_store:
	VPADDD    Z16, Z0, Z0
	VPADDD    Z17, Z1, Z1
	VPADDD    Z18, Z2, Z2
	VPADDD    Z19, Z3, Z3
	VMOVDQU32 Z0, (R9)
	VMOVDQU32 Z1, (R9)(R11*1)
	VMOVDQU32 Z2, (R9)(R11*2)
	LEAQ      (R9)(R11*2), R15
	VMOVDQU32 Z3, (R15)(R11*1)
	ADDQ      $64, R9
	CMPQ      R14, R10
	JB        vnni_block

	LEAQ (SI)(R8*4), SI
	LEAQ (DI)(R11*4), DI
	DECQ R12
	JNZ  vnni_group
	VZEROUPPER
	RET

// func gemmAVX2(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)
//
// 2×16 tiles over the int16 (VPMOVSXBW-widened) weights: each k step
// broadcasts 4 A bytes per row and sign-extends them (VPMOVSXBW) to
// (a0..a3)×4, and VPMADDWD against 4 vectors of 4 channels × 4 depth gives
// per channel two partial sums; VPHADDD + VPERMQ fold them at the end.
TEXT ·gemmAVX2(SB), NOSPLIT, $0-72
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), R8
	MOVQ w16+24(FP), DX
	MOVQ ksteps+32(FP), R13
	SHLQ $7, R13
	MOVQ nblk+40(FP), R10
	IMULQ R13, R10
	ADDQ DX, R10
	MOVQ c+48(FP), DI
	MOVQ ldc+56(FP), R11
	SHLQ $2, R11
	MOVQ rgroups+64(FP), R12
	SHLQ $1, R12

avx2_pair:
	MOVQ DX, R14
	MOVQ DI, R9

avx2_block:
	MOVQ  SI, AX
	LEAQ  (SI)(R8*1), BX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	MOVQ  ksteps+32(FP), R15

avx2_k:
	VPBROADCASTD (AX), X4
	VPMOVSXBW    X4, Y4
	VPBROADCASTD (BX), X6
	VPMOVSXBW    X6, Y6
	VPMADDWD     (R14), Y4, Y5
	VPADDD       Y5, Y0, Y0
	VPMADDWD     (R14), Y6, Y7
	VPADDD       Y7, Y8, Y8
	VPMADDWD     32(R14), Y4, Y5
	VPADDD       Y5, Y1, Y1
	VPMADDWD     32(R14), Y6, Y7
	VPADDD       Y7, Y9, Y9
	VPMADDWD     64(R14), Y4, Y5
	VPADDD       Y5, Y2, Y2
	VPMADDWD     64(R14), Y6, Y7
	VPADDD       Y7, Y10, Y10
	VPMADDWD     96(R14), Y4, Y5
	VPADDD       Y5, Y3, Y3
	VPMADDWD     96(R14), Y6, Y7
	VPADDD       Y7, Y11, Y11
	ADDQ         $128, R14
	ADDQ         $4, AX
	ADDQ         $4, BX
	DECQ         R15
	JNZ          avx2_k

	VPHADDD Y1, Y0, Y12
	VPERMQ  $0xD8, Y12, Y12
	VMOVDQU Y12, (R9)
	VPHADDD Y3, Y2, Y13
	VPERMQ  $0xD8, Y13, Y13
	VMOVDQU Y13, 32(R9)
	VPHADDD Y9, Y8, Y12
	VPERMQ  $0xD8, Y12, Y12
	VMOVDQU Y12, (R9)(R11*1)
	VPHADDD Y11, Y10, Y13
	VPERMQ  $0xD8, Y13, Y13
	VMOVDQU Y13, 32(R9)(R11*1)
	ADDQ    $64, R9
	CMPQ    R14, R10
	JB      avx2_block

	LEAQ (SI)(R8*2), SI
	LEAQ (DI)(R11*2), DI
	DECQ R12
	JNZ  avx2_pair
	VZEROUPPER
	RET

// func gemvAVX2(a *byte, w *int8, ksteps, nblk int, c *int32)
//
// gemmAVX2 for a single row (a fully connected layer at batch 1): per
// 16-channel block, the row's 4 bytes of each k step are broadcast and
// sign-extended once, and VPMADDWD multiplies them with the block's int8
// weights sign-extended as they are loaded (VPMOVSXBW from memory: half
// the memory traffic of the int16 copy, which a layer's weights outgrow
// the L2 cache with); reads exactly 4·ksteps bytes of a.
TEXT ·gemvAVX2(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ nblk+24(FP), R10
	MOVQ c+32(FP), DI

gv2_block:
	MOVQ  SI, AX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ  ksteps+16(FP), R15

gv2_k:
	VPBROADCASTD (AX), X4
	VPMOVSXBW    X4, Y4
	VPMOVSXBW    (DX), Y5
	VPMOVSXBW    16(DX), Y6
	VPMOVSXBW    32(DX), Y7
	VPMOVSXBW    48(DX), Y8
	VPMADDWD     Y5, Y4, Y5
	VPADDD       Y5, Y0, Y0
	VPMADDWD     Y6, Y4, Y6
	VPADDD       Y6, Y1, Y1
	VPMADDWD     Y7, Y4, Y7
	VPADDD       Y7, Y2, Y2
	VPMADDWD     Y8, Y4, Y8
	VPADDD       Y8, Y3, Y3
	ADDQ         $64, DX
	ADDQ         $4, AX
	DECQ         R15
	JNZ          gv2_k

	VPHADDD Y1, Y0, Y12
	VPERMQ  $0xD8, Y12, Y12
	VMOVDQU Y12, (DI)
	VPHADDD Y3, Y2, Y13
	VPERMQ  $0xD8, Y13, Y13
	VMOVDQU Y13, 32(DI)
	ADDQ    $64, DI
	DECQ    R10
	JNZ     gv2_block
	VZEROUPPER
	RET

// func gemvVNNI(a *byte, w *int8, ksteps, nblk int, c *int32)
//
// One row (a fully connected layer at batch 1): per 16-channel block, four
// k steps per iteration into four accumulators (VPDPBUSD latency), summed
// at the end. Same A layout (x XOR 0x80) and result as gemmVNNI's row 0.
TEXT ·gemvVNNI(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ ksteps+16(FP), R8
	MOVQ nblk+24(FP), R10
	MOVQ c+32(FP), DI

gv_block:
	MOVQ   SI, AX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ   R8, R15
	SUBQ   $4, R15
	JL     gv_tail

gv_k4:
	VPBROADCASTD (AX), Z4
	VPBROADCASTD 4(AX), Z5
	VPBROADCASTD 8(AX), Z6
	VPBROADCASTD 12(AX), Z7
	VPDPBUSD     (DX), Z4, Z0
	VPDPBUSD     64(DX), Z5, Z1
	VPDPBUSD     128(DX), Z6, Z2
	VPDPBUSD     192(DX), Z7, Z3
	ADDQ         $256, DX
	ADDQ         $16, AX
	SUBQ         $4, R15
	JGE          gv_k4

gv_tail:
	ADDQ $4, R15
	JZ   gv_store

gv_t1:
	VPBROADCASTD (AX), Z4
	VPDPBUSD     (DX), Z4, Z0
	ADDQ         $64, DX
	ADDQ         $4, AX
	DECQ         R15
	JNZ          gv_t1

gv_store:
	VPADDD    Z1, Z0, Z0
	VPADDD    Z3, Z2, Z2
	VPADDD    Z2, Z0, Z0
	VMOVDQU32 Z0, (DI)
	ADDQ      $64, DI
	DECQ      R10
	JNZ       gv_block
	VZEROUPPER
	RET
