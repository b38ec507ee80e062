//go:build !noasm

package qgemm

import "golang.org/x/sys/cpu"

//go:noescape
func gemmVNNI(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)

// gemvVNNI is gemmVNNI for a single row.
//
//go:noescape
func gemvVNNI(a *byte, w *int8, ksteps, nblk int, c *int32)

//go:noescape
func gemmAVX2(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)

func asmKernels() []kernel {
	var ks []kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI {
		ks = append(ks, kernel{name: "avx512vnni", flip: 0x80, fn: gemmVNNI, gemv: gemvVNNI})
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, kernel{name: "avx2", w16: true, fn: gemmAVX2})
	}
	return ks
}
