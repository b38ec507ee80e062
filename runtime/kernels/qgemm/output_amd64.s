//go:build !noasm

#include "textflag.h"

// func outputAVX512(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool)
//
// count pixels: pixel p reads c0..c3 advanced by p·cstep bytes and writes
// out advanced by p·ostep bytes; per pixel, n channels, 16 per step:
// x = max(c0,c1,c2,c3) + bias (int32, wrapping; without pool only c0),
// then per channel in 64-bit lanes (even channels, and odd ones shifted
// down: VPMULDQ reads the low dword of each qword)
//
//	r = (x·M + K − [x·M < 0]·A) >> S        (arithmetic shift)
//
// with M, K, A, S from params (per 16 channels: 8 qwords each of M, K, A,
// S for the even channels, then for the odd ones; see
// OutputStage.vecParams): SaturatingRoundingDoublingHighMul followed by
// the rounding right shift in one rounding. The two halves are merged
// back into dwords (r fits in int32), + zp, clamped to [lo, hi] and
// narrowed to int8 (VPMOVDB, masked for the last partial vector).
TEXT ·outputAVX512(SB), NOSPLIT, $0-105
	MOVQ         c0+0(FP), AX
	MOVQ         c1+8(FP), BX
	MOVQ         c2+16(FP), CX
	MOVQ         c3+24(FP), DX
	MOVQ         bias+40(FP), R9
	MOVQ         params+48(FP), R10
	MOVL         zp+64(FP), R12
	VPBROADCASTD R12, Z20
	MOVL         lo+68(FP), R12
	VPBROADCASTD R12, Z21
	MOVL         hi+72(FP), R12
	VPBROADCASTD R12, Z22
	MOVL         $0xaaaa, R12
	KMOVW        R12, K3  // odd dword lanes
	MOVQ         n+32(FP), R8
	MOVQ         R8, R13
	ANDQ         $15, R13
	MOVL         $1, R12
	SHLXL        R13, R12, R12
	DECL         R12
	KMOVW        R12, K2  // lanes of the last partial vector
	MOVQ         out+56(FP), R13 // this pixel's output
	MOVBLZX      pool+104(FP), R14
	CMPQ         count+80(FP), $0
	JLE          out_done

pix_loop:
	MOVQ R13, DI
	MOVQ n+32(FP), R8
	XORQ SI, SI
	MOVQ R10, R11

out_loop:
	CMPQ      R8, $0
	JLE       pix_next
	VMOVDQU32 (AX)(SI*1), Z0
	TESTQ     R14, R14
	JZ        out_nomax
	VPMAXSD   (BX)(SI*1), Z0, Z0
	VPMAXSD   (CX)(SI*1), Z0, Z0
	VPMAXSD   (DX)(SI*1), Z0, Z0

out_nomax:
	VPADDD    (R9)(SI*1), Z0, Z0
	VPSRLQ    $32, Z0, Z1          // odd channels in the low dwords

	VPMULDQ   (R11), Z0, Z0        // x·M, even channels
	VPMULDQ   256(R11), Z1, Z1     // odd channels
	VPMOVQ2M  Z0, K1               // x·M < 0
	VPMOVQ2M  Z1, K4
	VPADDQ    64(R11), Z0, Z0      // + K
	VPADDQ    320(R11), Z1, Z1
	VPSUBQ    128(R11), Z0, K1, Z0 // − A
	VPSUBQ    384(R11), Z1, K4, Z1
	VPSRAVQ   192(R11), Z0, Z0     // >> S
	VPSRAVQ   448(R11), Z1, Z1
	VPSLLQ    $32, Z1, Z1
	VPBLENDMD Z1, Z0, K3, Z0       // back to dwords in channel order

	VPADDD    Z20, Z0, Z0
	VPMAXSD   Z21, Z0, Z0
	VPMINSD   Z22, Z0, Z0
	CMPQ      R8, $16
	JL        out_tail
	VPMOVDB   Z0, (DI)
	ADDQ      $16, DI
	ADDQ      $64, SI
	ADDQ      $512, R11
	SUBQ      $16, R8
	JMP       out_loop

out_tail:
	VPMOVDB Z0, K2, (DI)

pix_next:
	MOVQ cstep+88(FP), R12
	ADDQ R12, AX
	ADDQ R12, BX
	ADDQ R12, CX
	ADDQ R12, DX
	ADDQ ostep+96(FP), R13
	DECQ count+80(FP)
	JG   pix_loop

out_done:
	VZEROUPPER
	RET

// STEP8 computes 8 channels of outputAVX2 into the low 8 bytes of X0:
// params at off(R11) (this half's quarter of a 16-channel block).
// AVX2 has no 64-bit arithmetic shift: for q < 0, q >> S = ^(^q >>> S),
// so q is XORed with its sign mask before and after VPSRLVQ.
#define STEP8(off) \
	VMOVDQU   (AX)(SI*1), Y0; \
	TESTQ     R14, R14; \
	JZ        4(PC); \
	VPMAXSD   (BX)(SI*1), Y0, Y0; \
	VPMAXSD   (CX)(SI*1), Y0, Y0; \
	VPMAXSD   (DX)(SI*1), Y0, Y0; \
	VPADDD    (R9)(SI*1), Y0, Y0; \
	VPSRLQ    $32, Y0, Y1; \
	VPMULDQ   (off)(R11), Y0, Y0; \
	VPMULDQ   (256+off)(R11), Y1, Y1; \
	VPCMPGTQ  Y0, Y15, Y2; \
	VPCMPGTQ  Y1, Y15, Y3; \
	VPAND     (128+off)(R11), Y2, Y2; \
	VPAND     (384+off)(R11), Y3, Y3; \
	VPADDQ    (64+off)(R11), Y0, Y0; \
	VPADDQ    (320+off)(R11), Y1, Y1; \
	VPSUBQ    Y2, Y0, Y0; \
	VPSUBQ    Y3, Y1, Y1; \
	VPCMPGTQ  Y0, Y15, Y2; \
	VPCMPGTQ  Y1, Y15, Y3; \
	VPXOR     Y2, Y0, Y0; \
	VPXOR     Y3, Y1, Y1; \
	VPSRLVQ   (192+off)(R11), Y0, Y0; \
	VPSRLVQ   (448+off)(R11), Y1, Y1; \
	VPXOR     Y2, Y0, Y0; \
	VPXOR     Y3, Y1, Y1; \
	VPSLLQ    $32, Y1, Y1; \
	VPBLENDD  $0xaa, Y1, Y0, Y0; \
	VPADDD    Y13, Y0, Y0; \
	VPMAXSD   Y12, Y0, Y0; \
	VPMINSD   Y14, Y0, Y0; \
	VEXTRACTI128 $1, Y0, X1; \
	VPACKSSDW X1, X0, X0; \
	VPACKSSWB X0, X0, X0

// func outputAVX2(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int, pool bool)
//
// outputAVX512 for AVX2, 8 channels per step (the params of a 16-channel
// block are read in two halves, 32 bytes apart). The clamped values lie
// in [lo, hi] ⊂ [−128, 127], so the saturating packs narrow them exactly;
// the last partial step stores its bytes one by one.
TEXT ·outputAVX2(SB), NOSPLIT, $0-105
	MOVQ         c0+0(FP), AX
	MOVQ         c1+8(FP), BX
	MOVQ         c2+16(FP), CX
	MOVQ         c3+24(FP), DX
	MOVQ         bias+40(FP), R9
	MOVQ         params+48(FP), R10
	MOVL         zp+64(FP), R12
	MOVQ         R12, X13
	VPBROADCASTD X13, Y13
	MOVL         lo+68(FP), R12
	MOVQ         R12, X12
	VPBROADCASTD X12, Y12
	MOVL         hi+72(FP), R12
	MOVQ         R12, X14
	VPBROADCASTD X14, Y14
	VPXOR        Y15, Y15, Y15
	MOVQ         out+56(FP), R13 // this pixel's output
	MOVBLZX      pool+104(FP), R14
	CMPQ         count+80(FP), $0
	JLE          avx2_done

avx2_pix:
	MOVQ R13, DI
	MOVQ n+32(FP), R8
	XORQ SI, SI
	MOVQ R10, R11

avx2_loop:
	CMPQ  R8, $0
	JLE   avx2_next
	STEP8(0)
	CMPQ  R8, $8
	JL    avx2_tail
	MOVQ  X0, (DI)
	ADDQ  $8, DI
	ADDQ  $32, SI
	SUBQ  $8, R8
	JLE   avx2_next
	STEP8(32)
	CMPQ  R8, $8
	JL    avx2_tail
	MOVQ  X0, (DI)
	ADDQ  $8, DI
	ADDQ  $32, SI
	ADDQ  $512, R11
	SUBQ  $8, R8
	JMP   avx2_loop

avx2_tail:
	MOVQ X0, R12

avx2_byte:
	MOVB R12, (DI)
	INCQ DI
	SHRQ $8, R12
	DECQ R8
	JNZ  avx2_byte

avx2_next:
	MOVQ cstep+88(FP), R12
	ADDQ R12, AX
	ADDQ R12, BX
	ADDQ R12, CX
	ADDQ R12, DX
	ADDQ ostep+96(FP), R13
	DECQ count+80(FP)
	JG   avx2_pix

avx2_done:
	VZEROUPPER
	RET
