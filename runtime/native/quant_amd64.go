//go:build !noasm

package native

import "golang.org/x/sys/cpu"

var hasQuantizeAsm = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512BW

// quantizeAsm quantizes up to blocks blocks of 16 values and returns how
// many it did (see quant_amd64.s and quantizeI8).
//
//go:noescape
func quantizeAsm(dst *int8, src *float32, blocks int, p *quantParams) int
