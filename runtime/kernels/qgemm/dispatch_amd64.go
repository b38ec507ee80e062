//go:build !noasm

package qgemm

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func gemmVNNI(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)

// gemvVNNI is gemmVNNI for a single row.
//
//go:noescape
func gemvVNNI(a *byte, w *int8, ksteps, nblk int, c *int32)

// gemmVNNI6x64 is gemmVNNI on 6×64 tiles: nblk a multiple of 4, rgroups
// groups of 6 rows.
//
//go:noescape
func gemmVNNI6x64(a *byte, lda int, w *int8, ksteps, nblk int, c *int32, ldc, rgroups int)

// gemmVNNIWide computes rgroups×4 rows with the 6×64 kernel where the
// columns allow (nblk a multiple of 4), as many rows as leave a multiple
// of 4, and the 4×16 kernel for the rest.
func gemmVNNIWide(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int) {
	g6 := 0
	if nblk%4 == 0 {
		g6 = (4 * rgroups / 6) &^ 1 // even: 4·rgroups − 6·g6 stays a multiple of 4
	}
	if g6 > 0 {
		gemmVNNI6x64(a, lda, w, ksteps, nblk, c, ldc, g6)
		a = (*byte)(unsafe.Add(unsafe.Pointer(a), 6*g6*lda))
		c = (*int32)(unsafe.Add(unsafe.Pointer(c), 4*6*g6*ldc))
	}
	if rest := (4*rgroups - 6*g6) / 4; rest > 0 {
		gemmVNNI(a, lda, w, w16, ksteps, nblk, c, ldc, rest)
	}
}

//go:generate sh -c "python3 gen_seg_amd64.py > gemmseg_amd64.s"

// gemmSegR1 … gemmSegR6 compute 1…6 rows of GemmSeg (see gemmseg_amd64.s).
//
//go:noescape
func gemmSegR1(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc int)

//go:noescape
func gemmSegR2(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc int)

//go:noescape
func gemmSegR3(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc int)

//go:noescape
func gemmSegR4(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc int)

//go:noescape
func gemmSegR5(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc int)

//go:noescape
func gemmSegR6(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc int)

var segKernels = [7]func(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc int){
	nil, gemmSegR1, gemmSegR2, gemmSegR3, gemmSegR4, gemmSegR5, gemmSegR6}

// conv3VNNI is conv3Go (unsigned A) for an even number of blocks: see
// Conv3Pool2.
//
//go:noescape
func conv3VNNI(src *byte, wp int, w *int8, nblk, count int, c *int32, ldc int)

//go:noescape
func gemmAVX2(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)

// gemvAVX2 is gemmAVX2 for a single row, over the int8 weights.
//
//go:noescape
func gemvAVX2(a *byte, w *int8, ksteps, nblk int, c *int32)

func asmKernels() []kernel {
	var ks []kernel
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI {
		ks = append(ks, kernel{name: "avx512vnni", flip: 0x80, fn: gemmVNNIWide, gemv: gemvVNNI, conv3: conv3VNNI, seg: gemmSegVNNI})
	}
	if cpu.X86.HasAVX2 {
		ks = append(ks, kernel{name: "avx2", w16: true, fn: gemmAVX2, gemv: gemvAVX2})
	}
	return ks
}

// gemmSegVNNI runs rows rows on the 6-row kernel and the rest on the
// kernel of that many rows.
func gemmSegVNNI(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc, rows int) {
	for rows > 0 {
		r := min(rows, 6)
		if rows == 7 || rows == 8 {
			r = 4 // 4+4 or 4+3 rather than a 1- or 2-row tail (few chains, latency-bound)
		}
		segKernels[r](a, lda, w, segK, segs, segStride, nblk, c, ldc)
		a = (*byte)(unsafe.Add(unsafe.Pointer(a), r*lda))
		c = (*int32)(unsafe.Add(unsafe.Pointer(c), 4*r*ldc))
		rows -= r
	}
}
