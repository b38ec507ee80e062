// Package arm64asm is shared by the generators of the arm64 assembly
// kernels (internal/sgemm/gen_arm64.go, runtime/kernels/qgemm/gen_arm64.go,
// runtime/native/gen_convpool_arm64.go): a buffer of assembly lines, the
// output path, and the A64 Advanced SIMD encodings that the Go assembler
// has no mnemonic for and more than one generator emits, each written as a
// WORD that carries the instruction in a comment.
package arm64asm

import (
	"bytes"
	"fmt"
	"os"
)

// File collects the lines of one generated assembly file.
type File struct {
	buf bytes.Buffer
}

// P appends one line (format and args as fmt.Sprintf).
func (f *File) P(format string, args ...any) { fmt.Fprintf(&f.buf, format+"\n", args...) }

// Word appends an instruction as its 32-bit encoding, with asm as comment.
func (f *File) Word(enc uint32, asm string) { f.P("\tWORD $0x%08x // %s", enc, asm) }

// FMLALane appends FMLA Vd.4S, Vn.4S, Vm.S[lane].
func (f *File) FMLALane(d, n, m, lane int) {
	f.Word(FMLALane(d, n, m, lane), fmt.Sprintf("FMLA V%d.4S, V%d.4S, V%d.S[%d]", d, n, m, lane))
}

// FADD appends FADD Vd.4S, Vn.4S, Vm.4S.
func (f *File) FADD(d, n, m int) {
	f.Word(FADD(d, n, m), fmt.Sprintf("FADD V%d.4S, V%d.4S, V%d.4S", d, n, m))
}

// Bytes returns the collected text.
func (f *File) Bytes() []byte { return f.buf.Bytes() }

// WriteOut writes the collected text to the path given as the program's
// first argument, else to def (the checked-in file, for go generate).
func (f *File) WriteOut(def string) error {
	path := def
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := os.WriteFile(path, f.buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("arm64asm: %w", err)
	}
	return nil
}

// FMLALane encodes FMLA Vd.4S, Vn.4S, Vm.S[lane] (A64 Advanced SIMD vector
// x indexed element): 0 Q=1 0 01111 1 sz=0 L M Rm 0001 H 0 Rn Rd, where
// Vm is M:Rm and lane is H:L.
func FMLALane(d, n, m, lane int) uint32 {
	return uint32(0x4f801000) | uint32(lane&1)<<21 | uint32(m>>4&1)<<20 | uint32(m&15)<<16 |
		uint32(lane>>1&1)<<11 | uint32(n)<<5 | uint32(d)
}

// FADD encodes FADD Vd.4S, Vn.4S, Vm.4S (three same):
// 0 Q=1 0 01110 0 sz=0 1 Rm 11010 1 Rn Rd.
func FADD(d, n, m int) uint32 {
	return 0x4e20d400 | uint32(m)<<16 | uint32(n)<<5 | uint32(d)
}
