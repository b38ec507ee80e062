//go:build amd64 && !noasm

#include "textflag.h"

DATA ·one<>+0(SB)/4, $1
GLOBL ·one<>(SB), RODATA|NOPTR, $4
DATA ·two<>+0(SB)/4, $2
GLOBL ·two<>(SB), RODATA|NOPTR, $4
DATA ·three<>+0(SB)/4, $3
GLOBL ·three<>(SB), RODATA|NOPTR, $4

// func pool2x2Asm(a0, a1, a2, a3, bias, y *float32, w *int32, n int, relu bool)
// n is a positive multiple of 8. Same result as pool2x2Go: VCMPPS GT_OQ is
// false for NaN and equal values, and VMAXPS(src1=a, src2=m) returns m
// unless a > m, so the first maximum wins exactly as in the Go loop.
TEXT ·pool2x2Asm(SB), NOSPLIT, $0-65
	MOVQ a0+0(FP), SI
	MOVQ a1+8(FP), R8
	MOVQ a2+16(FP), R9
	MOVQ a3+24(FP), R10
	MOVQ bias+32(FP), R11
	MOVQ y+40(FP), DI
	MOVQ w+48(FP), DX
	MOVQ n+56(FP), CX
	MOVBLZX relu+64(FP), BX
	VPBROADCASTD ·one<>(SB), Y10
	VPBROADCASTD ·two<>(SB), Y11
	VPBROADCASTD ·three<>(SB), Y12
	VPCMPEQD Y13, Y13, Y13 // -1
	VXORPS Y14, Y14, Y14   // 0
	XORQ AX, AX

loop:
	VMOVUPS (SI)(AX*4), Y0       // m = a0
	VXORPS Y4, Y4, Y4            // k = 0
	VMOVUPS (R8)(AX*4), Y1
	VCMPPS $0x1e, Y0, Y1, Y2     // a1 > m
	VMAXPS Y0, Y1, Y0            // a1 > m ? a1 : m
	VBLENDVPS Y2, Y10, Y4, Y4    // k = 1 where a1 > m
	VMOVUPS (R9)(AX*4), Y1
	VCMPPS $0x1e, Y0, Y1, Y2
	VMAXPS Y0, Y1, Y0
	VBLENDVPS Y2, Y11, Y4, Y4
	VMOVUPS (R10)(AX*4), Y1
	VCMPPS $0x1e, Y0, Y1, Y2
	VMAXPS Y0, Y1, Y0
	VBLENDVPS Y2, Y12, Y4, Y4
	VADDPS (R11)(AX*4), Y0, Y0   // + bias
	TESTQ BX, BX
	JZ store
	VCMPPS $0x1e, Y14, Y0, Y2    // m > 0
	VANDPS Y2, Y0, Y0            // m > 0 ? m : 0
	VBLENDVPS Y2, Y4, Y13, Y4    // m > 0 ? k : -1

store:
	VMOVUPS Y0, (DI)(AX*4)
	VMOVDQU Y4, (DX)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT loop
	VZEROUPPER
	RET

// func unpool2x2Asm(dy *float32, w *int32, d0, d1, d2, d3, dbias *float32, n int)
// n is a positive multiple of 8; dbias may be nil.
TEXT ·unpool2x2Asm(SB), NOSPLIT, $0-64
	MOVQ dy+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ d0+16(FP), R8
	MOVQ d1+24(FP), R9
	MOVQ d2+32(FP), R10
	MOVQ d3+40(FP), R11
	MOVQ dbias+48(FP), DI
	MOVQ n+56(FP), CX
	VPBROADCASTD ·one<>(SB), Y10
	VPBROADCASTD ·two<>(SB), Y11
	VPBROADCASTD ·three<>(SB), Y12
	VPCMPEQD Y13, Y13, Y13 // -1
	VPXOR Y14, Y14, Y14    // 0
	XORQ AX, AX

uloop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVDQU (DX)(AX*4), Y1
	VPCMPEQD Y14, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R8)(AX*4)
	VPCMPEQD Y10, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R9)(AX*4)
	VPCMPEQD Y11, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R10)(AX*4)
	VPCMPEQD Y12, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R11)(AX*4)
	TESTQ DI, DI
	JZ unext
	VPCMPEQD Y13, Y1, Y2         // w == -1
	VANDNPS Y0, Y2, Y3           // dy where w != -1
	VADDPS (DI)(AX*4), Y3, Y3
	VMOVUPS Y3, (DI)(AX*4)

unext:
	ADDQ $8, AX
	CMPQ AX, CX
	JLT uloop
	VZEROUPPER
	RET

// func addAsm(dst, src *float32, n int)
// n is a positive multiple of 8.
TEXT ·addAsm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX
	CMPQ CX, $32
	JLT add8

add32:
	VMOVUPS (DI)(AX*4), Y0
	VMOVUPS 32(DI)(AX*4), Y1
	VMOVUPS 64(DI)(AX*4), Y2
	VMOVUPS 96(DI)(AX*4), Y3
	VADDPS (SI)(AX*4), Y0, Y0
	VADDPS 32(SI)(AX*4), Y1, Y1
	VADDPS 64(SI)(AX*4), Y2, Y2
	VADDPS 96(SI)(AX*4), Y3, Y3
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, 32(DI)(AX*4)
	VMOVUPS Y2, 64(DI)(AX*4)
	VMOVUPS Y3, 96(DI)(AX*4)
	ADDQ $32, AX
	LEAQ 32(AX), BX
	CMPQ BX, CX
	JLE add32
	CMPQ AX, CX
	JGE adone

add8:
	VMOVUPS (DI)(AX*4), Y0
	VADDPS (SI)(AX*4), Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT add8

adone:
	VZEROUPPER
	RET

DATA ·onef<>+0(SB)/4, $0x3f800000
GLOBL ·onef<>(SB), RODATA|NOPTR, $4

// func adamAsm(p, grad, m, v *float32, a *AdamParams, n int)
// n is a positive multiple of 8. The same float32 operations as adamGo, in
// its order, without FMA (Go does not fuse on amd64): m' = b1·m + (1−b1)·g,
// v' = b2·v + ((1−b2)·g)·g, p −= (step·m') / (sqrt(v')·c2 + eps); VSQRTPS
// and VDIVPS round correctly, as float32(math.Sqrt(float64(x))) and Go's
// float32 division do.
TEXT ·adamAsm(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), DI
	MOVQ grad+8(FP), SI
	MOVQ m+16(FP), R8
	MOVQ v+24(FP), R9
	MOVQ a+32(FP), R10
	MOVQ n+40(FP), CX
	VBROADCASTSS 0(R10), Y0  // b1
	VBROADCASTSS 4(R10), Y2  // b2
	VBROADCASTSS 8(R10), Y5  // eps
	VBROADCASTSS 12(R10), Y4 // c2
	VBROADCASTSS 16(R10), Y6 // step
	VBROADCASTSS ·onef<>(SB), Y15
	VSUBPS Y0, Y15, Y1       // 1 − b1
	VSUBPS Y2, Y15, Y3       // 1 − b2
	XORQ AX, AX

adam8:
	VMOVUPS (SI)(AX*4), Y7    // g
	VMULPS  (R8)(AX*4), Y0, Y8 // b1·m
	VMULPS  Y7, Y1, Y9        // (1−b1)·g
	VADDPS  Y9, Y8, Y8        // m'
	VMULPS  (R9)(AX*4), Y2, Y10 // b2·v
	VMULPS  Y7, Y3, Y11       // (1−b2)·g
	VMULPS  Y7, Y11, Y11      // ·g
	VADDPS  Y11, Y10, Y10     // v'
	VMOVUPS Y8, (R8)(AX*4)
	VMOVUPS Y10, (R9)(AX*4)
	VSQRTPS Y10, Y12
	VMULPS  Y4, Y12, Y12      // ·c2
	VADDPS  Y5, Y12, Y12      // + eps
	VMULPS  Y8, Y6, Y13       // step·m'
	VDIVPS  Y12, Y13, Y13     // / denom
	VMOVUPS (DI)(AX*4), Y14
	VSUBPS  Y13, Y14, Y14     // p − …
	VMOVUPS Y14, (DI)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT adam8
	VZEROUPPER
	RET

// func pool2x2RowAsm(r0, r1, bias, y *float32, w *int32, c, wd int, relu bool)
// One output row: for each of the wd output pixels, the pool2x2Asm body
// over its c channels (c a positive multiple of 8, wd > 0), with a0, a1 the
// pixels 2ox, 2ox+1 of row r0 and a2, a3 those of row r1. Per element the
// same instructions as pool2x2Asm, so the same result.
TEXT ·pool2x2RowAsm(SB), NOSPLIT, $0-57
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), R9
	MOVQ bias+16(FP), R11
	MOVQ y+24(FP), DI
	MOVQ w+32(FP), DX
	MOVQ c+40(FP), CX
	MOVQ wd+48(FP), R12
	MOVBLZX relu+56(FP), BX
	MOVQ CX, R13
	SHLQ $2, R13                 // bytes per pixel
	VPBROADCASTD ·one<>(SB), Y10
	VPBROADCASTD ·two<>(SB), Y11
	VPBROADCASTD ·three<>(SB), Y12
	VPCMPEQD Y13, Y13, Y13 // -1
	VXORPS Y14, Y14, Y14   // 0

rpixel:
	LEAQ (SI)(R13*1), R8
	LEAQ (R9)(R13*1), R10
	XORQ AX, AX

rloop:
	VMOVUPS (SI)(AX*4), Y0
	VXORPS Y4, Y4, Y4
	VMOVUPS (R8)(AX*4), Y1
	VCMPPS $0x1e, Y0, Y1, Y2
	VMAXPS Y0, Y1, Y0
	VBLENDVPS Y2, Y10, Y4, Y4
	VMOVUPS (R9)(AX*4), Y1
	VCMPPS $0x1e, Y0, Y1, Y2
	VMAXPS Y0, Y1, Y0
	VBLENDVPS Y2, Y11, Y4, Y4
	VMOVUPS (R10)(AX*4), Y1
	VCMPPS $0x1e, Y0, Y1, Y2
	VMAXPS Y0, Y1, Y0
	VBLENDVPS Y2, Y12, Y4, Y4
	VADDPS (R11)(AX*4), Y0, Y0
	TESTQ BX, BX
	JZ rstore
	VCMPPS $0x1e, Y14, Y0, Y2
	VANDPS Y2, Y0, Y0
	VBLENDVPS Y2, Y4, Y13, Y4

rstore:
	VMOVUPS Y0, (DI)(AX*4)
	VMOVDQU Y4, (DX)(AX*4)
	ADDQ $8, AX
	CMPQ AX, CX
	JLT rloop
	LEAQ (SI)(R13*2), SI
	LEAQ (R9)(R13*2), R9
	ADDQ R13, DI
	ADDQ R13, DX
	DECQ R12
	JNZ rpixel
	VZEROUPPER
	RET

// func unpool2x2RowAsm(dy *float32, w *int32, d0, d1, dbias *float32, c, wd int)
// One output row of unpool2x2Asm: for each of the wd pixels (wd > 0) its c
// channels (c a positive multiple of 8) go to pixels 2ox, 2ox+1 of input
// row d0 (w = 0, 1) and of row d1 (w = 2, 3); dbias (may be nil) gets the
// pixels' gradients added in pixel order, as the per-pixel calls do.
TEXT ·unpool2x2RowAsm(SB), NOSPLIT, $0-56
	MOVQ dy+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ d0+16(FP), R8
	MOVQ d1+24(FP), R10
	MOVQ dbias+32(FP), DI
	MOVQ c+40(FP), CX
	MOVQ wd+48(FP), R12
	MOVQ CX, R13
	SHLQ $2, R13
	VPBROADCASTD ·one<>(SB), Y10
	VPBROADCASTD ·two<>(SB), Y11
	VPBROADCASTD ·three<>(SB), Y12
	VPCMPEQD Y13, Y13, Y13 // -1
	VPXOR Y14, Y14, Y14    // 0

upixel:
	LEAQ (R8)(R13*1), R9
	LEAQ (R10)(R13*1), R11
	XORQ AX, AX

urloop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVDQU (DX)(AX*4), Y1
	VPCMPEQD Y14, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R8)(AX*4)
	VPCMPEQD Y10, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R9)(AX*4)
	VPCMPEQD Y11, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R10)(AX*4)
	VPCMPEQD Y12, Y1, Y2
	VANDPS Y2, Y0, Y3
	VMOVUPS Y3, (R11)(AX*4)
	TESTQ DI, DI
	JZ urnext
	VPCMPEQD Y13, Y1, Y2
	VANDNPS Y0, Y2, Y3
	VADDPS (DI)(AX*4), Y3, Y3
	VMOVUPS Y3, (DI)(AX*4)

urnext:
	ADDQ $8, AX
	CMPQ AX, CX
	JLT urloop
	ADDQ R13, SI
	ADDQ R13, DX
	LEAQ (R8)(R13*2), R8
	LEAQ (R10)(R13*2), R10
	DECQ R12
	JNZ upixel
	VZEROUPPER
	RET

// func pool2x2RowAsm512(r0, r1, bias, y *float32, w *int32, c, wd int, relu bool)
// pool2x2RowAsm with AVX-512 (c a positive multiple of 16): the same
// comparisons and maxima per element, the winner index merged under the
// compare mask, so the same result.
TEXT ·pool2x2RowAsm512(SB), NOSPLIT, $0-57
	MOVQ r0+0(FP), SI
	MOVQ r1+8(FP), R9
	MOVQ bias+16(FP), R11
	MOVQ y+24(FP), DI
	MOVQ w+32(FP), DX
	MOVQ c+40(FP), CX
	MOVQ wd+48(FP), R12
	MOVBLZX relu+56(FP), BX
	MOVQ CX, R13
	SHLQ $2, R13
	VPBROADCASTD ·one<>(SB), Z10
	VPBROADCASTD ·two<>(SB), Z11
	VPBROADCASTD ·three<>(SB), Z12
	VPTERNLOGD $0xff, Z13, Z13, Z13 // -1
	VPXORD Z14, Z14, Z14            // 0

zpixel:
	LEAQ (SI)(R13*1), R8
	LEAQ (R9)(R13*1), R10
	XORQ AX, AX

zloop:
	VMOVUPS (SI)(AX*4), Z0
	VPXORD Z4, Z4, Z4
	VMOVUPS (R8)(AX*4), Z1
	VCMPPS $0x1e, Z0, Z1, K1
	VMAXPS Z0, Z1, Z0
	VMOVDQA32 Z10, K1, Z4
	VMOVUPS (R9)(AX*4), Z1
	VCMPPS $0x1e, Z0, Z1, K1
	VMAXPS Z0, Z1, Z0
	VMOVDQA32 Z11, K1, Z4
	VMOVUPS (R10)(AX*4), Z1
	VCMPPS $0x1e, Z0, Z1, K1
	VMAXPS Z0, Z1, Z0
	VMOVDQA32 Z12, K1, Z4
	VADDPS (R11)(AX*4), Z0, Z0
	TESTQ BX, BX
	JZ zstore
	VCMPPS $0x1e, Z14, Z0, K1 // m > 0
	KNOTW K1, K2
	VMOVAPS.Z Z0, K1, Z0      // m > 0 ? m : +0
	VMOVDQA32 Z13, K2, Z4     // m > 0 ? k : -1

zstore:
	VMOVUPS Z0, (DI)(AX*4)
	VMOVDQU32 Z4, (DX)(AX*4)
	ADDQ $16, AX
	CMPQ AX, CX
	JLT zloop
	LEAQ (SI)(R13*2), SI
	LEAQ (R9)(R13*2), R9
	ADDQ R13, DI
	ADDQ R13, DX
	DECQ R12
	JNZ zpixel
	VZEROUPPER
	RET

// func unpool2x2RowAsm512(dy *float32, w *int32, d0, d1, dbias *float32, c, wd int)
// unpool2x2RowAsm with AVX-512 (c a positive multiple of 16): zero-masked
// moves instead of the AND masks (both give +0 elsewhere), the same
// additions into dbias.
TEXT ·unpool2x2RowAsm512(SB), NOSPLIT, $0-56
	MOVQ dy+0(FP), SI
	MOVQ w+8(FP), DX
	MOVQ d0+16(FP), R8
	MOVQ d1+24(FP), R10
	MOVQ dbias+32(FP), DI
	MOVQ c+40(FP), CX
	MOVQ wd+48(FP), R12
	MOVQ CX, R13
	SHLQ $2, R13
	VPBROADCASTD ·one<>(SB), Z10
	VPBROADCASTD ·two<>(SB), Z11
	VPBROADCASTD ·three<>(SB), Z12
	VPTERNLOGD $0xff, Z13, Z13, Z13 // -1
	VPXORD Z14, Z14, Z14            // 0

vpixel:
	LEAQ (R8)(R13*1), R9
	LEAQ (R10)(R13*1), R11
	XORQ AX, AX

vloop:
	VMOVUPS (SI)(AX*4), Z0
	VMOVDQU32 (DX)(AX*4), Z1
	VPCMPEQD Z14, Z1, K1
	VMOVAPS.Z Z0, K1, Z3
	VMOVUPS Z3, (R8)(AX*4)
	VPCMPEQD Z10, Z1, K1
	VMOVAPS.Z Z0, K1, Z3
	VMOVUPS Z3, (R9)(AX*4)
	VPCMPEQD Z11, Z1, K1
	VMOVAPS.Z Z0, K1, Z3
	VMOVUPS Z3, (R10)(AX*4)
	VPCMPEQD Z12, Z1, K1
	VMOVAPS.Z Z0, K1, Z3
	VMOVUPS Z3, (R11)(AX*4)
	TESTQ DI, DI
	JZ vnext
	VPCMPEQD Z13, Z1, K1 // w == -1
	KNOTW K1, K2
	VMOVAPS.Z Z0, K2, Z3 // dy where w != -1, else +0
	VADDPS (DI)(AX*4), Z3, Z3
	VMOVUPS Z3, (DI)(AX*4)

vnext:
	ADDQ $16, AX
	CMPQ AX, CX
	JLT vloop
	ADDQ R13, SI
	ADDQ R13, DX
	LEAQ (R8)(R13*2), R8
	LEAQ (R10)(R13*2), R10
	DECQ R12
	JNZ vpixel
	VZEROUPPER
	RET

// func conv3x3Pool2x2RowAsm512(x *float32, ldx int, w, bias, y *float32, win *int32, ldy, wd int, relu bool)
//
// One pooled row of a one-channel 3×3 stride-1 convolution (32 output
// channels) and its 2×2 max pooling, with no convolution output stored:
// the weights (tap t, channels 16h..16h+15 in Z(8+2t+h)) stay in
// registers; per pooled pixel the four convolution outputs (top-left,
// top-right, bottom-left, bottom-right in Z0/Z1, Z2/Z3, Z4/Z5, Z6/Z7)
// are FMA chains over the taps from zero, as conv3x3Asm computes them,
// and are pooled exactly as pool2x2RowAsm512 pools them (the same
// compare, max, bias and relu instructions in the same order). SI, R9,
// R10, R11 point at the four input rows; y and win advance ldy values
// (AX bytes) per pixel. wd ≥ 1; the caller has bounds-checked everything.
TEXT ·conv3x3Pool2x2RowAsm512(SB), NOSPLIT, $0-65
	MOVQ x+0(FP), SI
	MOVQ ldx+8(FP), R8
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	MOVQ w+16(FP), DX
	MOVQ bias+24(FP), R12
	MOVQ y+32(FP), DI
	MOVQ win+40(FP), R13
	MOVQ ldy+48(FP), AX
	SHLQ $2, AX
	MOVQ wd+56(FP), CX
	MOVBLZX relu+64(FP), BX
	VMOVUPS 0(DX), Z8
	VMOVUPS 64(DX), Z9
	VMOVUPS 128(DX), Z10
	VMOVUPS 192(DX), Z11
	VMOVUPS 256(DX), Z12
	VMOVUPS 320(DX), Z13
	VMOVUPS 384(DX), Z14
	VMOVUPS 448(DX), Z15
	VMOVUPS 512(DX), Z16
	VMOVUPS 576(DX), Z17
	VMOVUPS 640(DX), Z18
	VMOVUPS 704(DX), Z19
	VMOVUPS 768(DX), Z20
	VMOVUPS 832(DX), Z21
	VMOVUPS 896(DX), Z22
	VMOVUPS 960(DX), Z23
	VMOVUPS 1024(DX), Z24
	VMOVUPS 1088(DX), Z25
	VPBROADCASTD ·one<>(SB), Z27
	VPBROADCASTD ·two<>(SB), Z28
	VPBROADCASTD ·three<>(SB), Z29
	VPXORD Z30, Z30, Z30            // 0
	VPTERNLOGD $0xff, Z31, Z31, Z31 // -1

cpixel:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VBROADCASTSS (SI), Z26
	VFMADD231PS  Z8, Z26, Z0
	VFMADD231PS  Z9, Z26, Z1
	VBROADCASTSS 4(SI), Z26
	VFMADD231PS  Z8, Z26, Z2
	VFMADD231PS  Z9, Z26, Z3
	VBROADCASTSS (R9), Z26
	VFMADD231PS  Z8, Z26, Z4
	VFMADD231PS  Z9, Z26, Z5
	VBROADCASTSS 4(R9), Z26
	VFMADD231PS  Z8, Z26, Z6
	VFMADD231PS  Z9, Z26, Z7
	VBROADCASTSS 4(SI), Z26
	VFMADD231PS  Z10, Z26, Z0
	VFMADD231PS  Z11, Z26, Z1
	VBROADCASTSS 8(SI), Z26
	VFMADD231PS  Z10, Z26, Z2
	VFMADD231PS  Z11, Z26, Z3
	VBROADCASTSS 4(R9), Z26
	VFMADD231PS  Z10, Z26, Z4
	VFMADD231PS  Z11, Z26, Z5
	VBROADCASTSS 8(R9), Z26
	VFMADD231PS  Z10, Z26, Z6
	VFMADD231PS  Z11, Z26, Z7
	VBROADCASTSS 8(SI), Z26
	VFMADD231PS  Z12, Z26, Z0
	VFMADD231PS  Z13, Z26, Z1
	VBROADCASTSS 12(SI), Z26
	VFMADD231PS  Z12, Z26, Z2
	VFMADD231PS  Z13, Z26, Z3
	VBROADCASTSS 8(R9), Z26
	VFMADD231PS  Z12, Z26, Z4
	VFMADD231PS  Z13, Z26, Z5
	VBROADCASTSS 12(R9), Z26
	VFMADD231PS  Z12, Z26, Z6
	VFMADD231PS  Z13, Z26, Z7
	VBROADCASTSS (R9), Z26
	VFMADD231PS  Z14, Z26, Z0
	VFMADD231PS  Z15, Z26, Z1
	VBROADCASTSS 4(R9), Z26
	VFMADD231PS  Z14, Z26, Z2
	VFMADD231PS  Z15, Z26, Z3
	VBROADCASTSS (R10), Z26
	VFMADD231PS  Z14, Z26, Z4
	VFMADD231PS  Z15, Z26, Z5
	VBROADCASTSS 4(R10), Z26
	VFMADD231PS  Z14, Z26, Z6
	VFMADD231PS  Z15, Z26, Z7
	VBROADCASTSS 4(R9), Z26
	VFMADD231PS  Z16, Z26, Z0
	VFMADD231PS  Z17, Z26, Z1
	VBROADCASTSS 8(R9), Z26
	VFMADD231PS  Z16, Z26, Z2
	VFMADD231PS  Z17, Z26, Z3
	VBROADCASTSS 4(R10), Z26
	VFMADD231PS  Z16, Z26, Z4
	VFMADD231PS  Z17, Z26, Z5
	VBROADCASTSS 8(R10), Z26
	VFMADD231PS  Z16, Z26, Z6
	VFMADD231PS  Z17, Z26, Z7
	VBROADCASTSS 8(R9), Z26
	VFMADD231PS  Z18, Z26, Z0
	VFMADD231PS  Z19, Z26, Z1
	VBROADCASTSS 12(R9), Z26
	VFMADD231PS  Z18, Z26, Z2
	VFMADD231PS  Z19, Z26, Z3
	VBROADCASTSS 8(R10), Z26
	VFMADD231PS  Z18, Z26, Z4
	VFMADD231PS  Z19, Z26, Z5
	VBROADCASTSS 12(R10), Z26
	VFMADD231PS  Z18, Z26, Z6
	VFMADD231PS  Z19, Z26, Z7
	VBROADCASTSS (R10), Z26
	VFMADD231PS  Z20, Z26, Z0
	VFMADD231PS  Z21, Z26, Z1
	VBROADCASTSS 4(R10), Z26
	VFMADD231PS  Z20, Z26, Z2
	VFMADD231PS  Z21, Z26, Z3
	VBROADCASTSS (R11), Z26
	VFMADD231PS  Z20, Z26, Z4
	VFMADD231PS  Z21, Z26, Z5
	VBROADCASTSS 4(R11), Z26
	VFMADD231PS  Z20, Z26, Z6
	VFMADD231PS  Z21, Z26, Z7
	VBROADCASTSS 4(R10), Z26
	VFMADD231PS  Z22, Z26, Z0
	VFMADD231PS  Z23, Z26, Z1
	VBROADCASTSS 8(R10), Z26
	VFMADD231PS  Z22, Z26, Z2
	VFMADD231PS  Z23, Z26, Z3
	VBROADCASTSS 4(R11), Z26
	VFMADD231PS  Z22, Z26, Z4
	VFMADD231PS  Z23, Z26, Z5
	VBROADCASTSS 8(R11), Z26
	VFMADD231PS  Z22, Z26, Z6
	VFMADD231PS  Z23, Z26, Z7
	VBROADCASTSS 8(R10), Z26
	VFMADD231PS  Z24, Z26, Z0
	VFMADD231PS  Z25, Z26, Z1
	VBROADCASTSS 12(R10), Z26
	VFMADD231PS  Z24, Z26, Z2
	VFMADD231PS  Z25, Z26, Z3
	VBROADCASTSS 8(R11), Z26
	VFMADD231PS  Z24, Z26, Z4
	VFMADD231PS  Z25, Z26, Z5
	VBROADCASTSS 12(R11), Z26
	VFMADD231PS  Z24, Z26, Z6
	VFMADD231PS  Z25, Z26, Z7
	// pool channels 0-15
	VPXORD Z26, Z26, Z26
	VCMPPS $0x1e, Z0, Z2, K1
	VMAXPS Z0, Z2, Z0
	VMOVDQA32 Z27, K1, Z26
	VCMPPS $0x1e, Z0, Z4, K1
	VMAXPS Z0, Z4, Z0
	VMOVDQA32 Z28, K1, Z26
	VCMPPS $0x1e, Z0, Z6, K1
	VMAXPS Z0, Z6, Z0
	VMOVDQA32 Z29, K1, Z26
	VADDPS 0(R12), Z0, Z0
	TESTQ BX, BX
	JZ cstore0
	VCMPPS $0x1e, Z30, Z0, K1 // m > 0
	KNOTW K1, K2
	VMOVAPS.Z Z0, K1, Z0      // m > 0 ? m : +0
	VMOVDQA32 Z31, K2, Z26     // m > 0 ? k : -1

cstore0:
	VMOVUPS Z0, 0(DI)
	VMOVDQU32 Z26, 0(R13)
	// pool channels 16-31
	VPXORD Z26, Z26, Z26
	VCMPPS $0x1e, Z1, Z3, K1
	VMAXPS Z1, Z3, Z1
	VMOVDQA32 Z27, K1, Z26
	VCMPPS $0x1e, Z1, Z5, K1
	VMAXPS Z1, Z5, Z1
	VMOVDQA32 Z28, K1, Z26
	VCMPPS $0x1e, Z1, Z7, K1
	VMAXPS Z1, Z7, Z1
	VMOVDQA32 Z29, K1, Z26
	VADDPS 64(R12), Z1, Z1
	TESTQ BX, BX
	JZ cstore1
	VCMPPS $0x1e, Z30, Z1, K1 // m > 0
	KNOTW K1, K2
	VMOVAPS.Z Z1, K1, Z1      // m > 0 ? m : +0
	VMOVDQA32 Z31, K2, Z26     // m > 0 ? k : -1

cstore1:
	VMOVUPS Z1, 64(DI)
	VMOVDQU32 Z26, 64(R13)
	ADDQ $8, SI
	ADDQ $8, R9
	ADDQ $8, R10
	ADDQ $8, R11
	ADDQ AX, DI
	ADDQ AX, R13
	DECQ CX
	JNZ  cpixel
	VZEROUPPER
	RET

// func dwUnpoolAsm512(n int, x *float32, ldx int, dz *float32, win *int32, tap int, acc *float32)
//
// The AVX-512 twin of dwUnpoolGo: acc (9 taps × 32) stays in Z8..Z25
// (tap t, values 16h..16h+15 in Z(8+2t+h)); per position the 32 output
// gradients are dz where win equals the position's pooling tap, else
// +0 (Z0, Z1, as unpool2x2RowAsm512 routes them), then nine broadcast
// window values (SI, R9, R10: the window's rows) and 18 FMAs, one chain
// per element in increasing position. Z26 holds the tap, which
// alternates between tap and tap^1 (Z27 = 1); dz and win advance one
// pixel (32 values) after every odd tap. n ≥ 1; the caller has
// bounds-checked everything.
TEXT ·dwUnpoolAsm512(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ ldx+16(FP), R8
	SHLQ $2, R8
	LEAQ (SI)(R8*1), R9
	LEAQ (R9)(R8*1), R10
	MOVQ dz+24(FP), DX
	MOVQ win+32(FP), R11
	MOVQ tap+40(FP), BX
	MOVQ acc+48(FP), DI
	VPBROADCASTD BX, Z26
	VPBROADCASTD ·one<>(SB), Z27
	VMOVUPS 0(DI), Z8
	VMOVUPS 64(DI), Z9
	VMOVUPS 128(DI), Z10
	VMOVUPS 192(DI), Z11
	VMOVUPS 256(DI), Z12
	VMOVUPS 320(DI), Z13
	VMOVUPS 384(DI), Z14
	VMOVUPS 448(DI), Z15
	VMOVUPS 512(DI), Z16
	VMOVUPS 576(DI), Z17
	VMOVUPS 640(DI), Z18
	VMOVUPS 704(DI), Z19
	VMOVUPS 768(DI), Z20
	VMOVUPS 832(DI), Z21
	VMOVUPS 896(DI), Z22
	VMOVUPS 960(DI), Z23
	VMOVUPS 1024(DI), Z24
	VMOVUPS 1088(DI), Z25

uloop:
	VPCMPEQD (R11), Z26, K1
	VPCMPEQD 64(R11), Z26, K2
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VMOVAPS.Z Z0, K1, Z0
	VMOVAPS.Z Z1, K2, Z1

	VBROADCASTSS (SI), Z2
	VFMADD231PS  Z0, Z2, Z8
	VFMADD231PS  Z1, Z2, Z9
	VBROADCASTSS 4(SI), Z3
	VFMADD231PS  Z0, Z3, Z10
	VFMADD231PS  Z1, Z3, Z11
	VBROADCASTSS 8(SI), Z4
	VFMADD231PS  Z0, Z4, Z12
	VFMADD231PS  Z1, Z4, Z13
	VBROADCASTSS (R9), Z2
	VFMADD231PS  Z0, Z2, Z14
	VFMADD231PS  Z1, Z2, Z15
	VBROADCASTSS 4(R9), Z3
	VFMADD231PS  Z0, Z3, Z16
	VFMADD231PS  Z1, Z3, Z17
	VBROADCASTSS 8(R9), Z4
	VFMADD231PS  Z0, Z4, Z18
	VFMADD231PS  Z1, Z4, Z19
	VBROADCASTSS (R10), Z2
	VFMADD231PS  Z0, Z2, Z20
	VFMADD231PS  Z1, Z2, Z21
	VBROADCASTSS 4(R10), Z3
	VFMADD231PS  Z0, Z3, Z22
	VFMADD231PS  Z1, Z3, Z23
	VBROADCASTSS 8(R10), Z4
	VFMADD231PS  Z0, Z4, Z24
	VFMADD231PS  Z1, Z4, Z25
	ADDQ $4, SI
	ADDQ $4, R9
	ADDQ $4, R10
	VPXORD Z27, Z26, Z26 // the other tap of the pixel row
	XORQ $1, BX
	TESTQ $1, BX
	JNZ  unext
	ADDQ $128, DX
	ADDQ $128, R11

unext:
	DECQ CX
	JNZ  uloop

	VMOVUPS Z8, 0(DI)
	VMOVUPS Z9, 64(DI)
	VMOVUPS Z10, 128(DI)
	VMOVUPS Z11, 192(DI)
	VMOVUPS Z12, 256(DI)
	VMOVUPS Z13, 320(DI)
	VMOVUPS Z14, 384(DI)
	VMOVUPS Z15, 448(DI)
	VMOVUPS Z16, 512(DI)
	VMOVUPS Z17, 576(DI)
	VMOVUPS Z18, 640(DI)
	VMOVUPS Z19, 704(DI)
	VMOVUPS Z20, 768(DI)
	VMOVUPS Z21, 832(DI)
	VMOVUPS Z22, 896(DI)
	VMOVUPS Z23, 960(DI)
	VMOVUPS Z24, 1024(DI)
	VMOVUPS Z25, 1088(DI)
	VZEROUPPER
	RET

// func unpoolBiasAsm512(dz *float32, win *int32, dbias *float32, c, npix int)
//
// dbias[j] += dz[p·c+j] where win[p·c+j] ≠ -1 (+0 elsewhere), pixel by
// pixel in order, as unpool2x2RowAsm512 adds into dbias; c a positive
// multiple of 16, npix ≥ 1.
TEXT ·unpoolBiasAsm512(SB), NOSPLIT, $0-40
	MOVQ dz+0(FP), SI
	MOVQ win+8(FP), DX
	MOVQ dbias+16(FP), DI
	MOVQ c+24(FP), CX
	MOVQ npix+32(FP), R12
	SHLQ $2, CX
	VPTERNLOGD $0xff, Z13, Z13, Z13 // -1

bpixel:
	XORQ AX, AX

bloop:
	VMOVUPS (SI)(AX*1), Z0
	VMOVDQU32 (DX)(AX*1), Z1
	VPCMPEQD Z13, Z1, K1 // w == -1
	KNOTW K1, K2
	VMOVAPS.Z Z0, K2, Z3
	VADDPS (DI)(AX*1), Z3, Z3
	VMOVUPS Z3, (DI)(AX*1)
	ADDQ $64, AX
	CMPQ AX, CX
	JLT bloop
	ADDQ CX, SI
	ADDQ CX, DX
	DECQ R12
	JNZ bpixel
	VZEROUPPER
	RET
