// Package sgemm is edgecnn's float32 matrix multiply (C = alpha·op(A)·op(B) +
// beta·C, row-major), used by the trainer (im2col convolutions and dense
// layers, forward and backward) and the float runtime paths.
//
// # Algorithm
//
// The implementation follows the GotoBLAS/BLIS layering: C is cut into
// NC-wide column blocks, K into KC-deep slices; for each slice a KC×NC block
// of op(B) is packed into 16-column micro-panels and each MC×KC block of
// op(A) into 6-row micro-panels (alpha is folded into the A panels, edges are
// zero-padded). A 6×16 register-blocked micro-kernel then multiplies one A
// micro-panel by one B micro-panel and adds the 6×16 result into C. Packing
// turns all four transA/transB cases into the same contiguous stream, so the
// micro-kernel never sees strides.
//
// A thin C (fewer than 16 columns, like conv1's 32×9 weight gradient) is
// computed transposed, Cᵀ = op(B)ᵀ·op(A)ᵀ, so that its short side falls on
// the 6-row side of the tile.
//
// Threads split C into rectangles (along M or N, whichever balances better),
// one per goroutine, each with its own packing buffers. K is never split
// and K slices depend on k only, so no element's summation order depends
// on the thread count: results are bit-identical run to run and for any
// number of threads. Packing buffers and worker goroutines live in the
// Context, so a Gemm call in steady state allocates nothing; the workers
// end when the Context becomes unreachable.
//
// # Micro-kernel choice
//
// On amd64 with AVX2 and FMA (checked at run time with golang.org/x/sys/cpu)
// the micro-kernel is hand-written Go assembly: 12 YMM accumulators, two
// 8-wide B loads and six broadcasts per k step, 100-120 GFLOP/s per core on
// this AMD EPYC for large products; the four packing helpers have SSE/AVX
// twins as well. Hand-written assembly was chosen over the alternatives
// because the Go compiler does not vectorise the pure-Go loop;
// GOEXPERIMENT=simd (archsimd) is experimental, needs a toolchain flag for
// every build, and its AVX-512 code spilled accumulators and ran slower than
// this AVX2 kernel; avo would generate the same ~100 lines of straight-line
// code through a generator that must then be kept in sync and checked in
// CI. The assembly is small enough to review line by line against its
// pure-Go twins (kernel6x16Go, packRows6Go, packRows16Go, copyPanels6Go,
// copyPanels16Go), whose doc comments give the reference loops; tests
// compare each pair.
//
// With AVX-512 (checked at run time) the macro loop of Gemm and
// GemmPatchesA/B runs the 12×32 kernel on pairs of whole B panels and pairs
// of whole A micro-panels, and the 6×32 kernel on a remaining A
// micro-panel (see Pre-packed B below); edges and the transposed-C case
// keep the 6×16 kernel. All give the same bits as the 6×16 kernel.
//
// A one-channel 3×3 convolution (conv1, 9 patch columns) skips packing:
// GemmPatchesB (the weight gradient, m×9) runs directDW, which keeps 32
// output channels × 9 taps of sums in AVX-512 registers (dwConv3x3Asm;
// dwConv3x3Go beside the Go kernels) and streams dY and the zero-padded
// input by, with the GEMM's K slices and FMA chains; GemmPatchesA (the
// forward product) runs directFwd, which keeps the 9×32 weights in
// registers (conv3x3Asm, conv3x3Go) and reads the windows in place. Both
// are bit-identical to the GEMM. When C is a multiple of 16, the patch
// matrix packs as B in strided 16-channel blocks (packB16). GemmPatchesA
// (one thread, AVX-512) reads the windows of twelve neighbouring outputs
// in place from a zero-padded copy of the input (kernel12x32SegAsm: a
// constant row stride, jumps between window rows); a row of 12k+2
// outputs (conv2's 14) ends in one block of fourteen (kernel14x32SegAsm),
// other rows pack only the outputs left at their end (gemmRowsInPlace).
// GemmPatchesB (one thread, AVX-512, channels a multiple of 32) reads dY
// and the windows in place as well (kernelDW12x32Asm, kernelDW4x32Asm:
// twelve output channels broadcast from one dY row per depth, the 32
// channels of one tap of each depth's window found through a table of
// offsets), so a weight gradient packs nothing (gemmDWInPlace); Gemm with
// op(A) = Aᵀ (a dense layer's dW = dYᵀ·X) reads both operands in place
// the same way (gemmTA). A dense layer's other products read its weights
// in place too: GemmABt computes Y = X·Wᵀ as Yᵀ = W·Xᵀ (W's rows strided,
// only X packed) and Gemm with op(A) = A, op(B) = B reads both in place
// (kernelSB12x32Asm, kernelSB4x32Asm; gemmNN), so training repacks no
// weights per step (dense.go).
//
// # Pre-packed B (inference)
//
// PackB packs a constant right-hand matrix (layer weights) once;
// Context.GemmPacked then packs only A, computes any range of 16-column
// panels (so callers can split columns between goroutines) on the calling
// goroutine, and allocates nothing. With AVX-512 it runs a 12×32 kernel on
// pairs of panels (kernel12x32Asm: two A micro-panels share every B row
// loaded; kernel12x32StridedAsm reads those twelve rows of A in place, so
// when the column range is whole panel pairs only a block's last rows are
// packed), a 6×32 kernel (kernel6x32Asm) on a remaining A micro-panel
// and, for a single row (batch-1 fully
// connected layers), a one-row kernel over eight panels (kernel1x128Asm);
// with AVX2 the 6×16 kernel and a one-row kernel over four panels
// (kernel1x64Asm). Every one of them computes each element as one FMA chain
// in increasing depth from zero, so all give the same bits as the 6×16
// kernel: a row's result does not depend on how many rows are multiplied
// with it (tests compare them bit for bit).
//
// On arm64 the 6×16 micro-kernel is NEON (kernel_arm64.s, written by
// gen_arm64.go: FMLA by element into 24 accumulator registers, emitted as
// WORD encodings because the Go assembler lacks that form; `make
// check-sgemm-gen` fails when the file is stale), and so is the four-panel
// one-row kernel of batch-1 fully connected layers (kernel1x64Asm);
// packing and the one-panel row kernel stay in Go. The Go compiler fuses
// x*y+z into FMADD on arm64, so the Go twins are one FMA chain per element
// like FMLA, and the NEON kernels equal them bit for bit (TestKernelTwins
// and TestKernel1Twins assert this under qemu-aarch64 as a Cortex-A72 and
// as `max`).
//
// Everywhere else (32-bit arm, CPUs without AVX2/FMA, or the noasm build
// tag) the pure-Go micro-kernel runs; it computes the 6×16 tile in 2×4
// register sub-blocks. On amd64 the compiler does not fuse x*y+z, so the
// Go and assembly paths agree to rounding, not bit for bit; each path on
// its own is deterministic.
package sgemm
