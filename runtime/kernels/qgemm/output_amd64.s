//go:build !noasm

#include "textflag.h"

// func outputAVX512(c0, c1, c2, c3 *int32, n int, bias *int32, params *int64, out *int8, zp, lo, hi int32, count, cstep, ostep int)
//
// count pixels: pixel p reads c0..c3 advanced by p·cstep bytes and writes
// out advanced by p·ostep bytes; per pixel, n channels, 16 per step:
// x = max(c0,c1,c2,c3) + bias (int32, wrapping), then per channel in
// 64-bit lanes (8 channels per half)
//
//	r = (x·M + K − [x·M < −2^30]·A) >> S        (arithmetic shift)
//
// with M, K, A, S from params (8 channels × {M, K, A, S} qwords per
// group; see OutputStage.params): this is SaturatingRoundingDoublingHighMul
// followed by the rounding right shift, in one rounding (see the
// derivation at OutputStage.params); + zp, clamp to [lo, hi], narrow to
// int8 (VPMOVQB, masked for the last partial vector).
TEXT ·outputAVX512(SB), NOSPLIT, $0-104
	MOVQ         c0+0(FP), AX
	MOVQ         c1+8(FP), BX
	MOVQ         c2+16(FP), CX
	MOVQ         c3+24(FP), DX
	MOVQ         bias+40(FP), R9
	MOVQ         params+48(FP), R10
	MOVLQSX      zp+64(FP), R12
	VPBROADCASTQ R12, Z20
	MOVLQSX      lo+68(FP), R12
	VPBROADCASTQ R12, Z21
	MOVLQSX      hi+72(FP), R12
	VPBROADCASTQ R12, Z22
	MOVQ         $-1073741824, R12
	VPBROADCASTQ R12, Z23 // −2^30
	MOVQ         n+32(FP), R8
	MOVQ         R8, R13
	ANDQ         $15, R13
	MOVL         $1, R12
	SHLXL        R13, R12, R12
	DECL         R12
	KMOVW        R12, K2  // lanes of the last partial vector
	SHRL         $8, R12
	KMOVW        R12, K4  // its upper 8
	MOVQ         out+56(FP), R13 // this pixel's output
	CMPQ         count+80(FP), $0
	JLE          out_done

pix_loop:
	MOVQ R13, DI
	MOVQ n+32(FP), R8
	XORQ SI, SI
	MOVQ R10, R11

out_loop:
	CMPQ           R8, $0
	JLE            pix_next
	VMOVDQU32      (AX)(SI*1), Z0
	VPMAXSD        (BX)(SI*1), Z0, Z0
	VPMAXSD        (CX)(SI*1), Z0, Z0
	VPMAXSD        (DX)(SI*1), Z0, Z0
	VPADDD         (R9)(SI*1), Z0, Z0
	VEXTRACTI64X4  $1, Z0, Y1
	VPMOVSXDQ      Y0, Z0
	VPMOVSXDQ      Y1, Z1

	VPMULDQ   (R11), Z0, Z0      // x·M
	VPCMPQ    $1, Z23, Z0, K1    // x·M < −2^30
	VPADDQ    64(R11), Z0, Z0    // + K
	VPSUBQ    128(R11), Z0, K1, Z0 // − A
	VPSRAVQ   192(R11), Z0, Z0   // >> S
	VPADDQ    Z20, Z0, Z0
	VPMAXSQ   Z21, Z0, Z0
	VPMINSQ   Z22, Z0, Z0

	VPMULDQ   256(R11), Z1, Z1
	VPCMPQ    $1, Z23, Z1, K3
	VPADDQ    320(R11), Z1, Z1
	VPSUBQ    384(R11), Z1, K3, Z1
	VPSRAVQ   448(R11), Z1, Z1
	VPADDQ    Z20, Z1, Z1
	VPMAXSQ   Z21, Z1, Z1
	VPMINSQ   Z22, Z1, Z1

	CMPQ      R8, $16
	JL        out_tail
	VPMOVQB   Z0, (DI)
	VPMOVQB   Z1, 8(DI)
	ADDQ      $16, DI
	ADDQ      $64, SI
	ADDQ      $512, R11
	SUBQ      $16, R8
	JMP       out_loop

out_tail:
	VPMOVQB Z0, K2, (DI)
	VPMOVQB Z1, K4, 8(DI)

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
