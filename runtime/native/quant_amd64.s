//go:build !noasm

#include "textflag.h"

// func quantizeAsm(dst *int8, src *float32, blocks int, p *quantParams) int
//
// Blocks of 16 values: v = float64(x)·inv, r = trunc(v) + trunc(2·(v −
// trunc(v))) (round half away from zero), dst = clamp(r + zp, lo, hi).
// It stops before the first block with a lane that is not strictly
// inside (vlo, vhi) (out of range, NaN, ±Inf) or within 2^-30 of a tie
// (where v·inv may fall on the other side of the tie than x/s), and
// returns the number of blocks done; the caller quantizes that block with
// qmath.QuantizeValue. See quantizeI8 for why the rest is exact.
TEXT ·quantizeAsm(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         blocks+16(FP), CX
	MOVQ         p+24(FP), DX
	VBROADCASTSD 0(DX), Z20  // inv
	VBROADCASTSD 8(DX), Z21  // vlo
	VBROADCASTSD 16(DX), Z22 // vhi
	VBROADCASTSD 24(DX), Z23 // 0.5
	VBROADCASTSD 32(DX), Z24 // 2^-30
	VPBROADCASTQ 40(DX), Z25 // abs mask 0x7fff…
	VPBROADCASTD 48(DX), Z26 // zp
	VPBROADCASTD 52(DX), Z27 // lo
	VPBROADCASTD 56(DX), Z28 // hi
	XORQ         AX, AX
	MOVL         $0xff, R8
	KMOVW        R8, K7

q_block:
	CMPQ AX, CX
	JGE  q_done
	VCVTPS2PD (SI), Z0
	VCVTPS2PD 32(SI), Z1
	VMULPD    Z20, Z0, Z0
	VMULPD    Z20, Z1, Z1

	// in range: vlo < v < vhi (ordered: NaN fails)
	VCMPPD $0x1e, Z21, Z0, K1 // v > vlo
	VCMPPD $0x11, Z22, Z0, K1, K1 // and v < vhi
	VCMPPD $0x1e, Z21, Z1, K2
	VCMPPD $0x11, Z22, Z1, K2, K2

	VRNDSCALEPD $0x0b, Z0, Z2 // t = trunc(v)
	VRNDSCALEPD $0x0b, Z1, Z3
	VSUBPD      Z2, Z0, Z4    // f = v − t (exact)
	VSUBPD      Z3, Z1, Z5

	// not near a tie: ||f| − 0.5| ≥ 2^-30
	VANDPD Z25, Z4, Z6
	VANDPD Z25, Z5, Z7
	VSUBPD Z23, Z6, Z6
	VSUBPD Z23, Z7, Z7
	VANDPD Z25, Z6, Z6
	VANDPD Z25, Z7, Z7
	VCMPPD $0x1d, Z24, Z6, K1, K1 // ≥ 2^-30 (and in range)
	VCMPPD $0x1d, Z24, Z7, K2, K2
	KANDB  K1, K2, K3
	KMOVB  K3, R8
	CMPL   R8, $0xff
	JNE    q_done

	VADDPD      Z4, Z4, Z4 // 2f
	VADDPD      Z5, Z5, Z5
	VRNDSCALEPD $0x0b, Z4, Z4
	VRNDSCALEPD $0x0b, Z5, Z5
	VADDPD      Z4, Z2, Z2 // r = t + trunc(2f)
	VADDPD      Z5, Z3, Z3
	VCVTTPD2DQ  Z2, Y2
	VCVTTPD2DQ  Z3, Y3
	VINSERTI64X4 $1, Y3, Z2, Z2
	VPADDD      Z26, Z2, Z2
	VPMAXSD     Z27, Z2, Z2
	VPMINSD     Z28, Z2, Z2
	VPMOVDB     Z2, (DI)

	ADDQ $64, SI
	ADDQ $16, DI
	INCQ AX
	JMP  q_block

q_done:
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET
