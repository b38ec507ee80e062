//go:build !noasm

package sgemm

import "golang.org/x/sys/cpu"

// hasAsm reports whether the AVX2+FMA micro-kernel can run on this CPU.
var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// hasKernelAsm and hasKernel1x64Asm report whether kernelAsm (the 6×16
// micro-kernel) and kernel1x64Asm can run.
var (
	hasKernelAsm     = hasAsm
	hasKernel1x64Asm = hasAsm
)

// kernelAsm is the AVX2+FMA twin of kernel6x16Go (see its doc comment for
// the reference loop): a points to the packed 6×kc A micro-panel, b to the
// packed kc×16 B micro-panel, c to the 6×16 tile with row stride ldc
// (elements); kc ≥ 1. The caller has bounds-checked all three.
//
//go:noescape
func kernelAsm(kc int, a, b, c *float32, ldc int, accumulate bool)

// packRows6Asm is the SSE twin of packRows6Go: dst[p*6+r] = src[r*ld+p]
// for r < 6, p < kc. The caller has bounds-checked src and dst.
//
//go:noescape
func packRows6Asm(kc int, src *float32, ld int, dst *float32)

// packRows16Asm is the SSE twin of packRows16Go: dst[p*16+c] = src[c*ld+p]
// for c < 16, p < kc. The caller has bounds-checked src and dst.
//
//go:noescape
func packRows16Asm(kc int, src *float32, ld int, dst *float32)

// copyPanels6Asm is the SSE twin of copyPanels6Go; kc, np ≥ 1 and the
// caller has bounds-checked src and dst.
//
//go:noescape
func copyPanels6Asm(kc int, src *float32, ld, np int, dst *float32)

// copyPanels16Asm is the AVX twin of copyPanels16Go; kc, np ≥ 1 and the
// caller has bounds-checked src and dst.
//
//go:noescape
func copyPanels16Asm(kc int, src *float32, ld, np int, dst *float32)

// kernel1x16Asm is the AVX2+FMA twin of kernel1x16Go: a points to kc
// values of one A row, b to the packed kc×16 B micro-panel, c to 16
// outputs; kc ≥ 1. The caller has bounds-checked all three.
//
//go:noescape
func kernel1x16Asm(kc int, a, b, c *float32, accumulate bool)

// kernel1x64Asm is the AVX2+FMA twin of four kernel1x16Go calls on the
// consecutive panels at b (stride kc·16): c receives 64 outputs.
//
//go:noescape
func kernel1x64Asm(kc int, a, b, c *float32, accumulate bool)

// hasAVX512 reports whether the AVX-512 6×32 kernel can run (it is used by
// GemmPacked only).
var hasAVX512 = hasAsm && cpu.X86.HasAVX512F

// kernel6x32Asm is the AVX-512 twin of two kernel6x16Go calls (columns
// 0-15 from the panel at b0, 16-31 from b1) into the 6×32 tile at c with
// row stride ldc; kc ≥ 1, all bounds checked by the caller. It equals two
// kernelAsm calls bit for bit.
//
//go:noescape
func kernel6x32Asm(kc int, a, b0, b1, c *float32, ldc int, accumulate bool)

// kernel1x128Asm is the AVX-512 twin of eight kernel1x16Go calls on the
// consecutive panels at b (stride kc·16): c receives 128 outputs.
//
//go:noescape
func kernel1x128Asm(kc int, a, b, c *float32, accumulate bool)

// kernel12x32Asm is the AVX-512 twin of two kernel6x32Asm calls on the
// consecutive 6-row A micro-panels at a (rows 0-5 and 6-11) into the 12×32
// tile at c; kc ≥ 1, all bounds checked by the caller. It equals them bit
// for bit.
//
//go:noescape
func kernel12x32Asm(kc int, a, b0, b1, c *float32, ldc int, accumulate bool)

// kernel12x32StridedAsm is kernel12x32Asm with A read in place: row i < 12
// is a[i·lda : i·lda+kc] instead of a packed micro-panel; kc ≥ 1, all
// bounds checked by the caller. It equals kernel12x32Asm on the packed
// rows bit for bit.
//
//go:noescape
func kernel12x32StridedAsm(kc int, a *float32, lda int, b0, b1, c *float32, ldc int, accumulate bool)

// kernel12x32SegAsm is kernel12x32StridedAsm over segmented rows: row i <
// 12 reads depths [0, first) at a + i·lda, then seg depths after each jump
// of gap elements from a segment's end (kc depths in all); kc, first,
// seg ≥ 1, all bounds checked by the caller. It equals kernel12x32Asm on
// the gathered rows bit for bit.
//
//go:noescape
func kernel12x32SegAsm(kc int, a *float32, lda, first, seg, gap int, b0, b1, c *float32, ldc int, accumulate bool)

// kernel14x32SegAsm is kernel12x32SegAsm with fourteen rows (row i < 14
// at a + i·lda): one whole 14-wide output row of a convolution in one
// call; kc, first, seg ≥ 1, all bounds checked by the caller. Every row
// equals kernel12x32Asm on the gathered rows bit for bit (the reference
// loop is kernelSegGo).
//
//go:noescape
func kernel14x32SegAsm(kc int, a *float32, lda, first, seg, gap int, b0, b1, c *float32, ldc int, accumulate bool)

// kernelDW12x32Asm and kernelDW4x32Asm compute a 12×32 or 4×32 tile of a
// weight gradient with both operands in place: row i of depth d is a[d·lda
// + i], the 32 B values of depth d start offs[d] bytes after b; kc ≥ 1,
// all bounds checked by the caller. Every element is one FMA chain in
// increasing depth, as in kernel12x32Asm on the packed rows (bit for bit);
// the reference loop is kernelDWGo.
//
//go:noescape
func kernelDW12x32Asm(kc int, a *float32, lda int, b *float32, offs *int, c *float32, ldc int, accumulate bool)

//go:noescape
func kernelDW4x32Asm(kc int, a *float32, lda int, b *float32, offs *int, c *float32, ldc int, accumulate bool)

// kernelSB12x32Asm and kernelSB4x32Asm compute a 12×32 or 4×32 tile with
// both operands in place: row i of A is a[i·lda : i·lda+kc], depth d of B
// is b[d·ldb : d·ldb+32]; kc ≥ 1, all bounds checked by the caller. Every
// element is one FMA chain in increasing depth, as in kernel12x32Asm on
// the packed operands (bit for bit); the reference loop is kernelSBGo.
//
//go:noescape
func kernelSB12x32Asm(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, accumulate bool)

//go:noescape
func kernelSB4x32Asm(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, accumulate bool)
