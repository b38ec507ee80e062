//go:build !noasm

package vnnipeak

import "golang.org/x/sys/cpu"

func available() bool { return cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI }

// loopAsm equals loopGo (see there): Chains independent VPDPBUSD chains,
// iters iterations, registers only inside the loop.
//
//go:noescape
func loopAsm(iters int, a, b *[64]byte, out *[Chains][16]int32)
