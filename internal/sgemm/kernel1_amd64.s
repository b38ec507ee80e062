//go:build !noasm

#include "textflag.h"

// func kernel1x16Asm(kc int, a, b, c *float32, accumulate bool)
//
// One row of C against one packed B panel: Y0, Y1 accumulate columns 0-7
// and 8-15 (one FMA chain per column, in increasing k), Y8 holds the
// broadcast A value.
TEXT ·kernel1x16Asm(SB), NOSPLIT, $0-33
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), DI

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

loop:
	VBROADCASTSS (SI), Y8
	VFMADD231PS  (DX), Y8, Y0
	VFMADD231PS  32(DX), Y8, Y1
	ADDQ         $4, SI
	ADDQ         $64, DX
	DECQ         CX
	JNZ          loop

	MOVBLZX accumulate+32(FP), AX
	TESTQ   AX, AX
	JZ      store
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1

store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VZEROUPPER
	RET

// func kernel1x64Asm(kc int, a, b, c *float32, accumulate bool)
//
// One row of C against four consecutive packed B panels (each kc×16, at
// DX, R10, R11, R12): Y(2q), Y(2q+1) accumulate panel q, one FMA chain
// per column in increasing k; eight independent chains cover the FMA
// latency.
TEXT ·kernel1x64Asm(SB), NOSPLIT, $0-33
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), DI
	MOVQ CX, R9
	SHLQ $6, R9       // panel stride in bytes: kc·16·4
	LEAQ (DX)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop:
	VBROADCASTSS (SI), Y8
	VFMADD231PS  (DX), Y8, Y0
	VFMADD231PS  32(DX), Y8, Y1
	VFMADD231PS  (R10), Y8, Y2
	VFMADD231PS  32(R10), Y8, Y3
	VFMADD231PS  (R11), Y8, Y4
	VFMADD231PS  32(R11), Y8, Y5
	VFMADD231PS  (R12), Y8, Y6
	VFMADD231PS  32(R12), Y8, Y7
	ADDQ         $4, SI
	ADDQ         $64, DX
	ADDQ         $64, R10
	ADDQ         $64, R11
	ADDQ         $64, R12
	DECQ         CX
	JNZ          loop

	MOVBLZX accumulate+32(FP), AX
	TESTQ   AX, AX
	JZ      store
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VADDPS  64(DI), Y2, Y2
	VADDPS  96(DI), Y3, Y3
	VADDPS  128(DI), Y4, Y4
	VADDPS  160(DI), Y5, Y5
	VADDPS  192(DI), Y6, Y6
	VADDPS  224(DI), Y7, Y7

store:
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	VZEROUPPER
	RET

// func kernel6x32Asm(kc int, a, b0, b1, c *float32, ldc int, accumulate bool)
//
// AVX-512 6×32 tile: the packed 6×kc A micro-panel at a times two packed
// kc×16 B micro-panels (b0: columns 0-15, b1: columns 16-31). Z0, Z1 hold
// the two B rows of one k step, Z2, Z3 broadcast A values, Z8..Z19 the
// accumulators (row i in Z(8+2i), Z(9+2i)). Every element is one FMA chain
// in increasing k, as in kernelAsm, so the result equals two kernelAsm
// calls bit for bit.
TEXT ·kernel6x32Asm(SB), NOSPLIT, $0-49
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b0+16(FP), DX
	MOVQ b1+24(FP), BX
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8

	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19

loop:
	VMOVUPS      (DX), Z0
	VMOVUPS      (BX), Z1
	VBROADCASTSS (SI), Z2
	VBROADCASTSS 4(SI), Z3
	VFMADD231PS  Z0, Z2, Z8
	VFMADD231PS  Z1, Z2, Z9
	VFMADD231PS  Z0, Z3, Z10
	VFMADD231PS  Z1, Z3, Z11
	VBROADCASTSS 8(SI), Z4
	VBROADCASTSS 12(SI), Z5
	VFMADD231PS  Z0, Z4, Z12
	VFMADD231PS  Z1, Z4, Z13
	VFMADD231PS  Z0, Z5, Z14
	VFMADD231PS  Z1, Z5, Z15
	VBROADCASTSS 16(SI), Z6
	VBROADCASTSS 20(SI), Z7
	VFMADD231PS  Z0, Z6, Z16
	VFMADD231PS  Z1, Z6, Z17
	VFMADD231PS  Z0, Z7, Z18
	VFMADD231PS  Z1, Z7, Z19
	ADDQ         $24, SI
	ADDQ         $64, DX
	ADDQ         $64, BX
	DECQ         CX
	JNZ          loop

	MOVBLZX accumulate+48(FP), AX
	TESTQ   AX, AX
	JZ      store
	VADDPS  (DI), Z8, Z8
	VADDPS  64(DI), Z9, Z9
	LEAQ    (DI)(R8*1), R9
	VADDPS  (R9), Z10, Z10
	VADDPS  64(R9), Z11, Z11
	ADDQ    R8, R9
	VADDPS  (R9), Z12, Z12
	VADDPS  64(R9), Z13, Z13
	ADDQ    R8, R9
	VADDPS  (R9), Z14, Z14
	VADDPS  64(R9), Z15, Z15
	ADDQ    R8, R9
	VADDPS  (R9), Z16, Z16
	VADDPS  64(R9), Z17, Z17
	ADDQ    R8, R9
	VADDPS  (R9), Z18, Z18
	VADDPS  64(R9), Z19, Z19

store:
	VMOVUPS Z8, (DI)
	VMOVUPS Z9, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z10, (DI)
	VMOVUPS Z11, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z12, (DI)
	VMOVUPS Z13, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z14, (DI)
	VMOVUPS Z15, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z16, (DI)
	VMOVUPS Z17, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z18, (DI)
	VMOVUPS Z19, 64(DI)
	VZEROUPPER
	RET

// func kernel1x128Asm(kc int, a, b, c *float32, accumulate bool)
//
// AVX-512 one row of C against eight consecutive packed B panels (each
// kc×16): Z0..Z7 accumulate panel q, one FMA chain per column in
// increasing k (the same bits as eight kernel1x16Asm calls), Z8 holds the
// broadcast A value. Panel q is read at DX + q·kc·64 bytes.
TEXT ·kernel1x128Asm(SB), NOSPLIT, $0-33
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), DI
	MOVQ CX, R9
	SHLQ $6, R9
	LEAQ (DX)(R9*1), R10
	LEAQ (R10)(R9*1), R11
	LEAQ (R11)(R9*1), R12
	LEAQ (R12)(R9*1), R13
	LEAQ (R13)(R9*1), AX
	LEAQ (AX)(R9*1), BX
	LEAQ (BX)(R9*1), R8

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ   R9, R9

loop:
	VBROADCASTSS (SI), Z8
	VFMADD231PS  (DX)(R9*1), Z8, Z0
	VFMADD231PS  (R10)(R9*1), Z8, Z1
	VFMADD231PS  (R11)(R9*1), Z8, Z2
	VFMADD231PS  (R12)(R9*1), Z8, Z3
	VFMADD231PS  (R13)(R9*1), Z8, Z4
	VFMADD231PS  (AX)(R9*1), Z8, Z5
	VFMADD231PS  (BX)(R9*1), Z8, Z6
	VFMADD231PS  (R8)(R9*1), Z8, Z7
	ADDQ         $4, SI
	ADDQ         $64, R9
	DECQ         CX
	JNZ          loop

	MOVBLZX accumulate+32(FP), CX
	TESTQ   CX, CX
	JZ      store
	VADDPS  (DI), Z0, Z0
	VADDPS  64(DI), Z1, Z1
	VADDPS  128(DI), Z2, Z2
	VADDPS  192(DI), Z3, Z3
	VADDPS  256(DI), Z4, Z4
	VADDPS  320(DI), Z5, Z5
	VADDPS  384(DI), Z6, Z6
	VADDPS  448(DI), Z7, Z7

store:
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	VZEROUPPER
	RET

// func kernel12x32Asm(kc int, a, b0, b1, c *float32, ldc int, accumulate bool)
//
// AVX-512 12×32 tile: two consecutive packed 6×kc A micro-panels at a
// (rows 0-5, then rows 6-11 at a+24·kc bytes) times two packed kc×16 B
// micro-panels (b0: columns 0-15, b1: 16-31). Every B row loaded feeds
// twelve rows instead of six (half the B traffic of kernel6x32Asm). Z0,
// Z1 hold the B row, Z2..Z7 broadcast A values, Z8..Z31 accumulate (row i
// in Z(8+2i), Z(9+2i)). Every element is one FMA chain in increasing k,
// so the tile equals two kernel6x32Asm calls bit for bit.
TEXT ·kernel12x32Asm(SB), NOSPLIT, $0-49
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	LEAQ (CX)(CX*2), R10
	SHLQ $3, R10
	ADDQ SI, R10
	MOVQ b0+16(FP), DX
	MOVQ b1+24(FP), BX
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8

	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31

loop12:
	VMOVUPS      (DX), Z0
	VMOVUPS      (BX), Z1
	VBROADCASTSS (SI), Z2
	VFMADD231PS  Z0, Z2, Z8
	VFMADD231PS  Z1, Z2, Z9
	VBROADCASTSS 4(SI), Z3
	VFMADD231PS  Z0, Z3, Z10
	VFMADD231PS  Z1, Z3, Z11
	VBROADCASTSS 8(SI), Z4
	VFMADD231PS  Z0, Z4, Z12
	VFMADD231PS  Z1, Z4, Z13
	VBROADCASTSS 12(SI), Z5
	VFMADD231PS  Z0, Z5, Z14
	VFMADD231PS  Z1, Z5, Z15
	VBROADCASTSS 16(SI), Z6
	VFMADD231PS  Z0, Z6, Z16
	VFMADD231PS  Z1, Z6, Z17
	VBROADCASTSS 20(SI), Z7
	VFMADD231PS  Z0, Z7, Z18
	VFMADD231PS  Z1, Z7, Z19
	VBROADCASTSS (R10), Z2
	VFMADD231PS  Z0, Z2, Z20
	VFMADD231PS  Z1, Z2, Z21
	VBROADCASTSS 4(R10), Z3
	VFMADD231PS  Z0, Z3, Z22
	VFMADD231PS  Z1, Z3, Z23
	VBROADCASTSS 8(R10), Z4
	VFMADD231PS  Z0, Z4, Z24
	VFMADD231PS  Z1, Z4, Z25
	VBROADCASTSS 12(R10), Z5
	VFMADD231PS  Z0, Z5, Z26
	VFMADD231PS  Z1, Z5, Z27
	VBROADCASTSS 16(R10), Z6
	VFMADD231PS  Z0, Z6, Z28
	VFMADD231PS  Z1, Z6, Z29
	VBROADCASTSS 20(R10), Z7
	VFMADD231PS  Z0, Z7, Z30
	VFMADD231PS  Z1, Z7, Z31
	ADDQ         $24, SI
	ADDQ         $24, R10
	ADDQ         $64, DX
	ADDQ         $64, BX
	DECQ         CX
	JNZ          loop12

	MOVBLZX accumulate+48(FP), AX
	TESTQ   AX, AX
	JZ      store12
	MOVQ    DI, R9
	VADDPS  (R9), Z8, Z8
	VADDPS  64(R9), Z9, Z9
	ADDQ    R8, R9
	VADDPS  (R9), Z10, Z10
	VADDPS  64(R9), Z11, Z11
	ADDQ    R8, R9
	VADDPS  (R9), Z12, Z12
	VADDPS  64(R9), Z13, Z13
	ADDQ    R8, R9
	VADDPS  (R9), Z14, Z14
	VADDPS  64(R9), Z15, Z15
	ADDQ    R8, R9
	VADDPS  (R9), Z16, Z16
	VADDPS  64(R9), Z17, Z17
	ADDQ    R8, R9
	VADDPS  (R9), Z18, Z18
	VADDPS  64(R9), Z19, Z19
	ADDQ    R8, R9
	VADDPS  (R9), Z20, Z20
	VADDPS  64(R9), Z21, Z21
	ADDQ    R8, R9
	VADDPS  (R9), Z22, Z22
	VADDPS  64(R9), Z23, Z23
	ADDQ    R8, R9
	VADDPS  (R9), Z24, Z24
	VADDPS  64(R9), Z25, Z25
	ADDQ    R8, R9
	VADDPS  (R9), Z26, Z26
	VADDPS  64(R9), Z27, Z27
	ADDQ    R8, R9
	VADDPS  (R9), Z28, Z28
	VADDPS  64(R9), Z29, Z29
	ADDQ    R8, R9
	VADDPS  (R9), Z30, Z30
	VADDPS  64(R9), Z31, Z31

store12:
	VMOVUPS Z8, (DI)
	VMOVUPS Z9, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z10, (DI)
	VMOVUPS Z11, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z12, (DI)
	VMOVUPS Z13, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z14, (DI)
	VMOVUPS Z15, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z16, (DI)
	VMOVUPS Z17, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z18, (DI)
	VMOVUPS Z19, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z20, (DI)
	VMOVUPS Z21, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z22, (DI)
	VMOVUPS Z23, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z24, (DI)
	VMOVUPS Z25, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z26, (DI)
	VMOVUPS Z27, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z28, (DI)
	VMOVUPS Z29, 64(DI)
	ADDQ    R8, DI
	VMOVUPS Z30, (DI)
	VMOVUPS Z31, 64(DI)
	VZEROUPPER
	RET
