//go:build !noasm

package qgemm

import "golang.org/x/sys/cpu"

//go:generate go run gen_arm64.go

// gemmDot uses SDOT (ARMv8.2 dotprod: Cortex-A55/A76, Raspberry Pi 5).
//
//go:noescape
func gemmDot(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)

// gemmNEON uses SMULL/SMLAL/SADALP (ARMv8.0: Cortex-A53/A72, Pi 3/4).
//
//go:noescape
func gemmNEON(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)

// gemvDot is gemmDot for a single row (fully connected layers at batch 1).
//
//go:noescape
func gemvDot(a *byte, w *int8, ksteps, nblk int, c *int32)

// gemvNEON is gemmNEON for a single row.
//
//go:noescape
func gemvNEON(a *byte, w *int8, ksteps, nblk int, c *int32)

func asmKernels() []kernel {
	var ks []kernel
	if cpu.ARM64.HasASIMDDP { // "asimddp" is the dotprod HWCAP
		ks = append(ks, kernel{name: "neon-dotprod", fn: gemmDot, gemv: gemvDot})
	}
	if cpu.ARM64.HasASIMD {
		ks = append(ks, kernel{name: "neon", fn: gemmNEON, gemv: gemvNEON})
	}
	return ks
}
