//go:build ignore

// gen_convpool_arm64 writes convpool_arm64.s: the NEON twin of convPoolGo
// for one pooled pixel (convPool1Asm), the float engine's fused
// convolution + bias + clamp + 2×2 max pooling on arm64. The Go arm64
// assembler has no mnemonic for FMLA by element, the vector FADD, FCMGT,
// BSL or DUP (element), so they are emitted as WORD encodings computed
// here from the Arm ARM, each with the instruction in a comment. Run:
// cd runtime/native && go run gen_convpool_arm64.go (or GOARCH=arm64 go
// generate ./runtime/native); make check-convpool-gen fails when the
// checked-in file is stale.
package main

import (
	"fmt"
	"os"

	"github.com/edgecnn/edgecnn/internal/arm64asm"
)

// f collects the generated file.
var f arm64asm.File

func p(format string, args ...any) { f.P(format, args...) }

func word(enc uint32, asm string) { f.Word(enc, asm) }

func fmlaLane(d, n, m, lane int) { f.FMLALane(d, n, m, lane) }

func fadd(d, n, m int) { f.FADD(d, n, m) }

// FCMGT Vd.4S, Vn.4S, Vm.4S (Vd = Vn > Vm, all ones or zero; false when
// either is NaN): 0 Q=1 1 01110 1 sz=0 1 Rm 111001 Rn Rd.
func fcmgt(d, n, m int) {
	word(0x6ea0e400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("FCMGT V%d.4S, V%d.4S, V%d.4S", d, n, m))
}

// BSL Vd.16B, Vn.16B, Vm.16B (Vd = Vd&Vn | ^Vd&Vm): 0 Q=1 1 01110 01 1 Rm
// 000111 Rn Rd.
func bsl(d, n, m int) {
	word(0x6e601c00|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("BSL V%d.16B, V%d.16B, V%d.16B", d, n, m))
}

// DUP Vd.4S, Vn.S[0]: 0 Q=1 0 01110000 imm5=00100 0 0000 1 Rn Rd.
func dup(d, n int) {
	word(0x4e040400|uint32(n)<<5|uint32(d), fmt.Sprintf("DUP V%d.4S, V%d.S[0]", d, n))
}

// mx sets Vd to mx(Va, Vb) of poolf.go (a > b ? a : b), lane by lane.
func mx(d, a, b int) { fcmgt(d, a, b); bsl(d, a, b) }

// mn sets Vd to mn(Va, Vb) (a < b ? a : b).
func mn(d, a, b int) { fcmgt(d, b, a); bsl(d, a, b) }

// acc is the accumulator of window w (< 4) and channels 4q..4q+3 of the
// current half.
func acc(w, q int) int { return 16 + 4*w + q }

// fmlas writes the 16 FMLA of one depth: weights of the depth in
// V(wb)–V(wb+3), window w's input value in lane l of V(4+w).
func fmlas(wb, l int) {
	for w := 0; w < 4; w++ {
		for q := 0; q < 4; q++ {
			fmlaLane(acc(w, q), wb+q, 4+w, l)
		}
	}
}

func convPool1() {
	p("// func convPool1Asm(kc, taps int, offs *int, x *float32, pp, s, r int, b, bias *float32, lo, hi float32, out *float32, po int)")
	p("//")
	p("// NEON twin of convPoolGo for the single pooled pixel at pp (output at")
	p("// po): 32 channels in two halves of 16; per half V16–V31 accumulate")
	p("// (window w, channels 4q..4q+3 in V(16+4w+q)), V0–V3 and V8–V11 hold")
	p("// the 16 weights of a depth, V4–V7 the four windows' input values (four")
	p("// depths per load in the k4 loop, one in lane 0 in the one loop). Each")
	p("// output is one FMLA chain over taps then depth from zero, as")
	p("// convPoolGo compiles on arm64 (fused multiply-adds), then max of the")
	p("// windows, + bias, clamp with FCMGT+BSL (mx/mn of poolf.go, NaN and")
	p("// signed zeros included). R0 x+pp, R1 weights (stride 128 bytes per")
	p("// depth), R2 offs, R3 tap counter, R5 depth counter, R6 bias, R7 out,")
	p("// R8 s and R9 r in bytes, R10–R13 the four windows, R14 half counter,")
	p("// R15 the half's first weight, R20 taps, R21 offs, R22 kc/4, R23 kc mod 4.")
	p("TEXT ·convPool1Asm(SB), NOSPLIT, $0-96")
	p("\tMOVD  kc+0(FP), R4")
	p("\tLSR   $2, R4, R22")
	p("\tAND   $3, R4, R23")
	p("\tMOVD  taps+8(FP), R20")
	p("\tMOVD  offs+16(FP), R21")
	p("\tMOVD  x+24(FP), R0")
	p("\tMOVD  pp+32(FP), R4")
	p("\tADD   R4<<2, R0, R0")
	p("\tMOVD  s+40(FP), R8")
	p("\tLSL   $2, R8, R8")
	p("\tMOVD  r+48(FP), R9")
	p("\tLSL   $2, R9, R9")
	p("\tMOVD  b+56(FP), R15")
	p("\tMOVD  bias+64(FP), R6")
	p("\tMOVD  out+80(FP), R7")
	p("\tMOVD  po+88(FP), R4")
	p("\tADD   R4<<2, R7, R7")
	p("\tMOVD  $2, R14")
	p("")
	p("half:")
	for v := 16; v < 32; v++ {
		p("\tVEOR  V%d.B16, V%d.B16, V%d.B16", v, v, v)
	}
	p("\tMOVD  R15, R1")
	p("\tMOVD  R21, R2")
	p("\tMOVD  R20, R3")
	p("")
	p("tap:")
	p("\tMOVD.P 8(R2), R4")
	p("\tADD    R4<<2, R0, R10")
	p("\tADD    R8, R10, R11")
	p("\tADD    R9, R10, R12")
	p("\tADD    R8, R12, R13")
	p("\tMOVD   R22, R5")
	p("\tCBZ    R5, tail")
	p("")
	p("k4:")
	for w := 0; w < 4; w++ {
		p("\tVLD1.P 16(R%d), [V%d.S4]", 10+w, 4+w)
	}
	for l := 0; l < 4; l++ {
		wb := []int{0, 8}[l%2]
		p("\tVLD1   (R1), [V%d.S4, V%d.S4, V%d.S4, V%d.S4]", wb, wb+1, wb+2, wb+3)
		p("\tADD    $128, R1, R1")
		fmlas(wb, l)
	}
	p("\tSUBS   $1, R5, R5")
	p("\tBNE    k4")
	p("")
	p("tail:")
	p("\tMOVD   R23, R5")
	p("\tCBZ    R5, next")
	p("")
	p("one:")
	for w := 0; w < 4; w++ {
		p("\tFMOVS.P 4(R%d), F%d", 10+w, 4+w)
	}
	p("\tVLD1   (R1), [V0.S4, V1.S4, V2.S4, V3.S4]")
	p("\tADD    $128, R1, R1")
	fmlas(0, 0)
	p("\tSUBS   $1, R5, R5")
	p("\tBNE    one")
	p("")
	p("next:")
	p("\tSUBS   $1, R3, R3")
	p("\tBNE    tap")
	p("")
	p("\t// mn(hi, mx(lo, mx(mx(v0, v1), mx(v2, v3)) + bias)) into V4–V7.")
	p("\tFMOVS  lo+72(FP), F12")
	p("\tFMOVS  hi+76(FP), F13")
	dup(12, 12)
	dup(13, 13)
	p("\tVLD1.P 64(R6), [V0.S4, V1.S4, V2.S4, V3.S4]")
	for q := 0; q < 4; q++ {
		mx(8, acc(0, q), acc(1, q))
		mx(9, acc(2, q), acc(3, q))
		mx(10, 8, 9)
		fadd(10, 10, q)
		mx(11, 12, 10)
		mn(4+q, 13, 11)
	}
	p("\tVST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R7)")
	p("\tADD    $64, R15, R15")
	p("\tSUBS   $1, R14, R14")
	p("\tBNE    half")
	p("\tRET")
}

func main() {
	p("// Code generated by gen_convpool_arm64.go; DO NOT EDIT.")
	p("")
	p("//go:build !noasm")
	p("")
	p("#include \"textflag.h\"")
	p("")
	convPool1()
	if err := f.WriteOut("convpool_arm64.s"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
