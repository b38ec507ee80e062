// Package qgemm is edgecnn's exact int8 matrix multiply with int32
// accumulation, the inner loop of the native engine's int8 convolution
// (after im2col) and fully connected layers:
//
//	C[r][n] = Σ_k A[r][k] · W[n][k]      (int32, wrapping)
//
// W is packed once (Pack) into blocks of 16 output channels × 4 depth
// values; A is row-major with a row stride that is a multiple of 4.
// Several kernels compute exactly the same thing and one is selected at
// start-up by CPU feature (golang.org/x/sys/cpu):
//
//	avx512vnni    amd64, VPDPBUSD on 4×16 tiles (A stored as x XOR 0x80, see Flip)
//	avx2          amd64, VPMOVSXBW-widened weights and VPMADDWD on 2×16 tiles
//	neon-dotprod  arm64 ARMv8.2 dotprod, SDOT on 4×16 tiles
//	neon          arm64 ARMv8.0, SMULL/SMLAL into int16 then SADALP, 2×16 tiles
//	go            everywhere (and with the noasm build tag): the pure-Go twin
//
// avx512vnni, avx2, neon-dotprod and neon also have a one-row kernel (Gemv,
// a fully connected layer at batch 1); the Go twin computes four rows and
// keeps one.
//
// The requantization after the GEMM (OutputStage) has kernels of its own,
// selected the same way (OutputKernel): avx512, avx2 and neon vector
// kernels and a Go loop (go-formula) of the same one-rounding formula,
// each compared with the qmath reference (max4Go) in the tests.
//
// All kernels are exact: no saturating instruction (VPMADDUBSW) is used;
// the int16 sums of the NEON kernel hold two products of an int8 by a
// weight in [−127, 127], at most 2·128·127 = 32512 in magnitude.
// Pack rejects weights of −128 for that reason (TFLite's int8 weights are
// symmetric, in [−127, 127]).
package qgemm

import (
	"fmt"
)

// Kernel describes one implementation.
type kernel struct {
	name string
	// flip is XORed into every A byte by the caller (0x80 turns int8 x into
	// the unsigned x+128 that VPDPBUSD needs).
	flip byte
	// w16 selects the int16 copy of the packed weights.
	w16 bool
	// fn computes rgroups×4 rows of C for nblk blocks of 16 columns.
	fn func(a *byte, lda int, w *int8, w16 *int16, ksteps, nblk int, c *int32, ldc, rgroups int)
	// gemv, when set, computes a single row (else Gemv uses fn on 4 rows).
	gemv func(a *byte, w *int8, ksteps, nblk int, c *int32)
	// conv3, when set, is the direct 3×3 one-channel convolution with 2×2
	// max pooling (see Conv3Pool2).
	conv3 func(src *byte, wp int, w *int8, nblk, count int, c *int32, ldc int)
	// seg, when set, is the segmented GEMM for nblk a multiple of 4 (see
	// GemmSeg).
	seg func(a *byte, lda int, w *int8, segK, segs, segStride, nblk int, c *int32, ldc, rows int)
}

var (
	// available lists the kernels this CPU can run, best first; the Go
	// twin is always last.
	available []kernel
	active    kernel
)

func init() {
	available = append(asmKernels(), kernel{name: "go", fn: gemmGoPtr})
	active = available[0]
}

// Kernel is the name of the kernel selected for this CPU (see the package
// documentation).
func Kernel() string { return active.name }

// OutputKernel names the output stage kernel this CPU runs for the Double
// and Ruy rules with multipliers < 1 (every TFLite int8 model's
// requantization): a vector kernel, or "go-formula".
func OutputKernel() string { return outputKernels[0].name }

// Kernels lists the names of the kernels this CPU can run, best first.
func Kernels() []string {
	var s []string
	for _, k := range available {
		s = append(s, k.name)
	}
	return s
}

// Flip is the byte to XOR into every element of A (including padding
// values) before Gemm: 0x80 for the avx512vnni kernel, 0 otherwise. The
// caller then subtracts 128·Sum[n] (see Weights.Offset).
func Flip() byte { return active.flip }

// Weights are packed weights of N output channels of depth K.
type Weights struct {
	N, K   int
	KSteps int     // ⌈K/4⌉: A rows need a stride of at least 4·KSteps
	NBlk   int     // ⌈N/16⌉: C rows need a stride of at least 16·NBlk
	Sum    []int32 // Σ_k W[n][k]
	w8     []int8  // [NBlk][KSteps][16][4], zero padded
	w16    []int16 // same layout widened, for kernels that want it
	k      kernel
}

// Pack packs row-major weights w ([n][k]) for the selected kernel. Values
// must lie in [−127, 127].
func Pack(w []int8, n, k int) (*Weights, error) {
	return packWith(active, w, n, k)
}

func packWith(kn kernel, w []int8, n, k int) (*Weights, error) {
	if n < 1 || k < 1 || len(w) != n*k {
		return nil, fmt.Errorf("qgemm: %d weights for %d×%d", len(w), n, k)
	}
	p := &Weights{N: n, K: k, KSteps: (k + 3) / 4, NBlk: (n + 15) / 16, Sum: make([]int32, n), k: kn}
	p.w8 = make([]int8, p.NBlk*p.KSteps*64)
	for o := 0; o < n; o++ {
		b, j := o/16, o%16
		for i := 0; i < k; i++ {
			v := w[o*k+i]
			if v == -128 {
				return nil, fmt.Errorf("qgemm: weight [%d][%d] is −128; int8 weights must lie in [−127, 127]", o, i)
			}
			p.Sum[o] += int32(v)
			s, t := i/4, i%4
			p.w8[((b*p.KSteps+s)*16+j)*4+t] = v
		}
	}
	if kn.w16 {
		p.w16 = make([]int16, len(p.w8))
		for i, v := range p.w8 {
			p.w16[i] = int16(v)
		}
	}
	return p, nil
}

// Offset is the per-channel constant to add to C so that it equals
// Σ_k (x[k] − zpIn)·W[n][k] for the un-flipped int8 activations x:
// −zpIn·Sum[n], minus 128·Sum[n] when the kernel flips A.
func (p *Weights) Offset(n int, zpIn int32) int32 {
	off := -zpIn * p.Sum[n]
	if p.k.flip != 0 {
		off -= 128 * p.Sum[n]
	}
	return off
}

// Flip is the byte to XOR into A for these weights' kernel.
func (p *Weights) Flip() byte { return p.k.flip }

// Kernel is the name of the kernel these weights were packed for.
func (p *Weights) Kernel() string { return p.k.name }

// Gemm computes rows rows of C (rows a multiple of 4): C[r][n] for
// n < 16·NBlk (columns ≥ N are zero-weight padding). A holds rows×lda bytes
// (int8, XOR Flip()), lda ≥ 4·KSteps and a multiple of 4; bytes of a row
// beyond K are multiplied by zero weights and may hold anything.
// It panics if the buffers are too small (a programming error).
func (p *Weights) Gemm(a []byte, lda, rows int, c []int32, ldc int) {
	if rows == 0 {
		return
	}
	if rows%4 != 0 || lda%4 != 0 || lda < 4*p.KSteps || len(a) < (rows-1)*lda+4*p.KSteps || ldc < 16*p.NBlk || len(c) < (rows-1)*ldc+16*p.NBlk {
		panic(fmt.Sprintf("qgemm: bad Gemm arguments rows=%d lda=%d len(a)=%d ldc=%d len(c)=%d (K=%d N=%d)", rows, lda, len(a), ldc, len(c), p.K, p.N))
	}
	var w16 *int16
	if p.w16 != nil {
		w16 = &p.w16[0]
	}
	p.k.fn(&a[0], lda, &p.w8[0], w16, p.KSteps, p.NBlk, &c[0], ldc, rows/4)
}

// HasGemv reports whether Gemv has a single-row kernel; without one it
// computes four rows, of which three are wasted.
func (p *Weights) HasGemv() bool { return p.k.gemv != nil }

// Gemv computes one row: c[n] for n < 16·NBlk from the 4·KSteps bytes of a
// (int8 XOR Flip()). Without a single-row kernel, a and c must hold 4 rows
// (4·4·KSteps bytes, 4·16·NBlk values: rows 1–3 are scratch).
func (p *Weights) Gemv(a []byte, c []int32) {
	if p.k.gemv == nil {
		p.Gemm(a, 4*p.KSteps, 4, c, 16*p.NBlk)
		return
	}
	if len(a) < 4*p.KSteps || len(c) < 16*p.NBlk {
		panic(fmt.Sprintf("qgemm: bad Gemv arguments len(a)=%d len(c)=%d (K=%d N=%d)", len(a), len(c), p.K, p.N))
	}
	p.k.gemv(&a[0], &p.w8[0], p.KSteps, p.NBlk, &c[0])
}
