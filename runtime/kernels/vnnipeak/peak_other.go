//go:build !amd64 || noasm

package vnnipeak

func available() bool { return false }

func loopAsm(iters int, a, b *[64]byte, out *[Chains][16]int32) { loopGo(iters, a, b, out) }
