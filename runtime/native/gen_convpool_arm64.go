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

// FCMGT Vd.4S, Vn.4S, Vm.4S (Vd = Vn > Vm, all ones or zero; false when
// either is NaN): 0 Q=1 1 01110 1 sz=0 1 Rm 111001 Rn Rd.
func fcmgt(d, n, m int) {
	f.Word(0x6ea0e400|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("FCMGT V%d.4S, V%d.4S, V%d.4S", d, n, m))
}

// BSL Vd.16B, Vn.16B, Vm.16B (Vd = Vd&Vn | ^Vd&Vm): 0 Q=1 1 01110 01 1 Rm
// 000111 Rn Rd.
func bsl(d, n, m int) {
	f.Word(0x6e601c00|uint32(m)<<16|uint32(n)<<5|uint32(d), fmt.Sprintf("BSL V%d.16B, V%d.16B, V%d.16B", d, n, m))
}

// DUP Vd.4S, Vn.S[0]: 0 Q=1 0 01110000 imm5=00100 0 0000 1 Rn Rd.
func dup(d, n int) {
	f.Word(0x4e040400|uint32(n)<<5|uint32(d), fmt.Sprintf("DUP V%d.4S, V%d.S[0]", d, n))
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
			f.FMLALane(acc(w, q), wb+q, 4+w, l)
		}
	}
}

func convPool1() {
	f.P("// func convPool1Asm(kc, taps int, offs *int, x *float32, pp, s, r int, b, bias *float32, lo, hi float32, out *float32, po int)")
	f.P("//")
	f.P("// NEON twin of convPoolGo for the single pooled pixel at pp (output at")
	f.P("// po): 32 channels in two halves of 16; per half V16–V31 accumulate")
	f.P("// (window w, channels 4q..4q+3 in V(16+4w+q)), V0–V3 and V8–V11 hold")
	f.P("// the 16 weights of a depth, V4–V7 the four windows' input values (four")
	f.P("// depths per load in the k4 loop, one in lane 0 in the one loop). Each")
	f.P("// output is one FMLA chain over taps then depth from zero, as")
	f.P("// convPoolGo compiles on arm64 (fused multiply-adds), then max of the")
	f.P("// windows, + bias, clamp with FCMGT+BSL (mx/mn of poolf.go, NaN and")
	f.P("// signed zeros included). R0 x+pp, R1 weights (stride 128 bytes per")
	f.P("// depth), R2 offs, R3 tap counter, R5 depth counter, R6 bias, R7 out,")
	f.P("// R8 s and R9 r in bytes, R10–R13 the four windows, R14 half counter,")
	f.P("// R15 the half's first weight, R20 taps, R21 offs, R22 kc/4, R23 kc mod 4.")
	f.P("TEXT ·convPool1Asm(SB), NOSPLIT, $0-96")
	f.P("\tMOVD  kc+0(FP), R4")
	f.P("\tLSR   $2, R4, R22")
	f.P("\tAND   $3, R4, R23")
	f.P("\tMOVD  taps+8(FP), R20")
	f.P("\tMOVD  offs+16(FP), R21")
	f.P("\tMOVD  x+24(FP), R0")
	f.P("\tMOVD  pp+32(FP), R4")
	f.P("\tADD   R4<<2, R0, R0")
	f.P("\tMOVD  s+40(FP), R8")
	f.P("\tLSL   $2, R8, R8")
	f.P("\tMOVD  r+48(FP), R9")
	f.P("\tLSL   $2, R9, R9")
	f.P("\tMOVD  b+56(FP), R15")
	f.P("\tMOVD  bias+64(FP), R6")
	f.P("\tMOVD  out+80(FP), R7")
	f.P("\tMOVD  po+88(FP), R4")
	f.P("\tADD   R4<<2, R7, R7")
	f.P("\tMOVD  $2, R14")
	f.P("")
	f.P("half:")
	for v := 16; v < 32; v++ {
		f.P("\tVEOR  V%d.B16, V%d.B16, V%d.B16", v, v, v)
	}
	f.P("\tMOVD  R15, R1")
	f.P("\tMOVD  R21, R2")
	f.P("\tMOVD  R20, R3")
	f.P("")
	f.P("tap:")
	f.P("\tMOVD.P 8(R2), R4")
	f.P("\tADD    R4<<2, R0, R10")
	f.P("\tADD    R8, R10, R11")
	f.P("\tADD    R9, R10, R12")
	f.P("\tADD    R8, R12, R13")
	f.P("\tMOVD   R22, R5")
	f.P("\tCBZ    R5, tail")
	f.P("")
	f.P("k4:")
	for w := 0; w < 4; w++ {
		f.P("\tVLD1.P 16(R%d), [V%d.S4]", 10+w, 4+w)
	}
	for l := 0; l < 4; l++ {
		wb := []int{0, 8}[l%2]
		f.P("\tVLD1   (R1), [V%d.S4, V%d.S4, V%d.S4, V%d.S4]", wb, wb+1, wb+2, wb+3)
		f.P("\tADD    $128, R1, R1")
		fmlas(wb, l)
	}
	f.P("\tSUBS   $1, R5, R5")
	f.P("\tBNE    k4")
	f.P("")
	f.P("tail:")
	f.P("\tMOVD   R23, R5")
	f.P("\tCBZ    R5, next")
	f.P("")
	f.P("one:")
	for w := 0; w < 4; w++ {
		f.P("\tFMOVS.P 4(R%d), F%d", 10+w, 4+w)
	}
	f.P("\tVLD1   (R1), [V0.S4, V1.S4, V2.S4, V3.S4]")
	f.P("\tADD    $128, R1, R1")
	fmlas(0, 0)
	f.P("\tSUBS   $1, R5, R5")
	f.P("\tBNE    one")
	f.P("")
	f.P("next:")
	f.P("\tSUBS   $1, R3, R3")
	f.P("\tBNE    tap")
	f.P("")
	f.P("\t// mn(hi, mx(lo, mx(mx(v0, v1), mx(v2, v3)) + bias)) into V4–V7.")
	f.P("\tFMOVS  lo+72(FP), F12")
	f.P("\tFMOVS  hi+76(FP), F13")
	dup(12, 12)
	dup(13, 13)
	f.P("\tVLD1.P 64(R6), [V0.S4, V1.S4, V2.S4, V3.S4]")
	for q := 0; q < 4; q++ {
		mx(8, acc(0, q), acc(1, q))
		mx(9, acc(2, q), acc(3, q))
		mx(10, 8, 9)
		f.FADD(10, 10, q)
		mx(11, 12, 10)
		mn(4+q, 13, 11)
	}
	f.P("\tVST1.P [V4.S4, V5.S4, V6.S4, V7.S4], 64(R7)")
	f.P("\tADD    $64, R15, R15")
	f.P("\tSUBS   $1, R14, R14")
	f.P("\tBNE    half")
	f.P("\tRET")
}

func main() {
	f.P("// Code generated by gen_convpool_arm64.go; DO NOT EDIT.")
	f.P("")
	f.P("//go:build !noasm")
	f.P("")
	f.P("#include \"textflag.h\"")
	f.P("")
	convPool1()
	if err := f.WriteOut("convpool_arm64.s"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
