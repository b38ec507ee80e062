//go:build !noasm

#include "textflag.h"

// func outputAVX512(c0, c1, c2, c3 *int32, n int, bias, mult, right *int32, out *int8, zp, lo, hi, awayFromZero int32, count, cstep, ostep int)
//
// count pixels: pixel p reads c0..c3 advanced by p·cstep bytes and writes
// out advanced by p·ostep bytes; per pixel, n channels,
// 16 channels per step: x = max(c0,c1,c2,c3) + bias;
// SaturatingRoundingDoublingHighMul(x, M) on 64-bit products (VPMULDQ on
// even and odd lanes; nudge 2^30 or 1−2^30 by the product's sign; division
// by 2^31 truncating toward zero); a rounding right shift by right, ties
// away from zero (RoundingDivideByPOT, awayFromZero = −1) or toward +inf
// (ruy, awayFromZero = 0); + zp; clamp to [lo, hi]; narrow to int8 (VPMOVDB, masked for
// the last partial vector). M ≥ 0 and right ≥ 0 (multipliers < 1), so the
// saturating case MinInt32·MinInt32 cannot occur.
TEXT ·outputAVX512(SB), NOSPLIT, $0-112
	MOVQ         c0+0(FP), AX
	MOVQ         c1+8(FP), BX
	MOVQ         c2+16(FP), CX
	MOVQ         c3+24(FP), DX
	MOVQ         n+32(FP), R8
	MOVQ         bias+40(FP), R9
	MOVQ         mult+48(FP), R10
	MOVQ         right+56(FP), R11
	MOVQ         out+64(FP), DI
	MOVL         zp+72(FP), R12
	VPBROADCASTD R12, Z20
	MOVL         lo+76(FP), R12
	VPBROADCASTD R12, Z21
	MOVL         hi+80(FP), R12
	VPBROADCASTD R12, Z22
	MOVL         awayFromZero+84(FP), R12
	VPBROADCASTD R12, Z27
	MOVL         $1, R12
	VPBROADCASTD R12, Z23 // 1 (dwords)
	MOVQ         $0x40000000, R12
	VPBROADCASTQ R12, Z24 // 2^30 (qwords)
	MOVQ         $-2147483647, R12
	VPBROADCASTQ R12, Z25 // 1−2^31 = (1−2^30) − 2^30
	MOVQ         $0x7fffffff, R12
	VPBROADCASTQ R12, Z26 // 2^31−1
	MOVL         $0xaaaa, R12
	KMOVW        R12, K3  // odd dword lanes
	MOVQ         R8, R13
	ANDQ         $15, R13
	MOVL         $1, R12
	SHLXL        R13, R12, R12
	DECL         R12
	KMOVW        R12, K2  // lanes of the last partial vector
	MOVQ         out+64(FP), R13 // this pixel's output
	CMPQ         count+88(FP), $0
	JLE          out_done

pix_loop:
	MOVQ R13, DI
	MOVQ n+32(FP), R8
	XORQ SI, SI

out_loop:
	CMPQ      R8, $0
	JLE       pix_next
	VMOVDQU32 (AX)(SI*1), Z0
	VPMAXSD   (BX)(SI*1), Z0, Z0
	VPMAXSD   (CX)(SI*1), Z0, Z0
	VPMAXSD   (DX)(SI*1), Z0, Z0
	VPADDD    (R9)(SI*1), Z0, Z0
	VMOVDQU32 (R10)(SI*1), Z1
	VPMULDQ   Z1, Z0, Z2 // even lanes: x·M (int64)
	VPSRLQ    $32, Z0, Z3
	VPSRLQ    $32, Z1, Z4
	VPMULDQ   Z4, Z3, Z3 // odd lanes

	VPSRAQ $63, Z2, Z5
	VPANDQ Z25, Z5, Z5
	VPADDQ Z24, Z5, Z5 // nudge: 2^30, or 1−2^30 for a negative product
	VPADDQ Z5, Z2, Z2
	VPSRAQ $63, Z2, Z5
	VPANDQ Z26, Z5, Z5
	VPADDQ Z5, Z2, Z2  // round toward zero: + (2^31−1) when negative
	VPSRAQ $31, Z2, Z2

	VPSRAQ $63, Z3, Z5
	VPANDQ Z25, Z5, Z5
	VPADDQ Z24, Z5, Z5
	VPADDQ Z5, Z3, Z3
	VPSRAQ $63, Z3, Z5
	VPANDQ Z26, Z5, Z5
	VPADDQ Z5, Z3, Z3
	VPSRAQ $31, Z3, Z3

	VPSLLQ    $32, Z3, Z3
	VPBLENDMD Z3, Z2, K3, Z6 // y = SRDHM(x, M) in dword lanes

	VMOVDQU32 (R11)(SI*1), Z7 // right shift
	VPSLLVD   Z7, Z23, Z8
	VPSUBD    Z23, Z8, Z8      // mask = 2^right − 1
	VPANDD    Z8, Z6, Z9       // remainder
	VPSRAD    $1, Z8, Z10
	VPSRAD    $31, Z6, Z11
	VPANDD    Z27, Z11, Z11
	VPSUBD    Z11, Z10, Z10    // threshold = mask>>1 + (y < 0 and away from zero)
	VPSRAVD   Z7, Z6, Z6
	VPCMPGTD  Z10, Z9, K1      // remainder > threshold
	VPADDD    Z23, Z6, K1, Z6
	VPADDD    Z20, Z6, Z6
	VPMAXSD   Z21, Z6, Z6
	VPMINSD   Z22, Z6, Z6
	CMPQ      R8, $16
	JL        out_tail
	VPMOVDB   Z6, (DI)
	ADDQ      $16, DI
	ADDQ      $64, SI
	SUBQ      $16, R8
	JMP       out_loop

out_tail:
	VPMOVDB Z6, K2, (DI)

pix_next:
	MOVQ cstep+96(FP), R12
	ADDQ R12, AX
	ADDQ R12, BX
	ADDQ R12, CX
	ADDQ R12, DX
	ADDQ ostep+104(FP), R13
	DECQ count+88(FP)
	JG   pix_loop

out_done:
	VZEROUPPER
	RET
