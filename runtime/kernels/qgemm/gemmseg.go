package qgemm

import "fmt"

// Segmented GEMM: a convolution without im2col. Row r of A is not stored
// as one run of K bytes but as segs segments of 4·segK bytes, segment s at
// a[r·lda + s·segStride:] — for an NHWC convolution whose kernel row
// (KW·C bytes) is a multiple of 4, the KH kernel rows of output pixel r
// of an output row, read in place from the padded input (lda = SW·C,
// segStride = the padded row, segK = KW·C/4).

// HasGemmSeg reports whether GemmSeg has an assembly kernel for these
// weights split into segs segments (otherwise it runs the Go twin, slower
// than im2col + Gemm).
func (p *Weights) HasGemmSeg(segs int) bool {
	return p.k.seg != nil && p.NBlk%4 == 0 && segs > 0 && p.KSteps%segs == 0
}

// GemmSeg computes rows rows of C (any count ≥ 0) for n < 16·NBlk:
//
//	C[r][n] = Σ_{s<segs, j<segK, t<4} A(a[r·lda + s·segStride + 4j + t]) · W[n][4(s·segK + j) + t]
//
// with segK = KSteps/segs and A(x) as in Gemm (uint8 when the kernel
// flips). Bytes beyond K in the last segment meet zero weights. It panics
// if the arguments do not fit (a programming error).
func (p *Weights) GemmSeg(a []byte, lda, rows, segs, segStride int, c []int32, ldc int) {
	if rows <= 0 {
		return
	}
	if segs < 1 || p.KSteps%segs != 0 {
		panic(fmt.Sprintf("qgemm: GemmSeg: %d k steps do not split into %d segments", p.KSteps, segs))
	}
	segK := p.KSteps / segs
	need := (rows-1)*lda + (segs-1)*segStride + 4*segK
	if lda < 0 || segStride < 4*segK || len(a) < need || ldc < 16*p.NBlk || len(c) < (rows-1)*ldc+16*p.NBlk {
		panic(fmt.Sprintf("qgemm: bad GemmSeg arguments rows=%d lda=%d segs=%d segStride=%d len(a)=%d (need %d) ldc=%d len(c)=%d (K=%d N=%d)",
			rows, lda, segs, segStride, len(a), need, ldc, len(c), p.K, p.N))
	}
	if p.k.seg == nil || p.NBlk%4 != 0 {
		gemmSegGo(a, lda, p.w8, segK, segs, segStride, p.NBlk, c, ldc, rows, p.k.flip != 0)
		return
	}
	p.k.seg(&a[0], lda, &p.w8[0], segK, segs, segStride, p.NBlk, &c[0], ldc, rows)
}

// gemmSegGo is the reference loop of the segmented kernels (see GemmSeg;
// w is the packed [NBlk][KSteps][16][4] layout).
func gemmSegGo(a []byte, lda int, w []int8, segK, segs, segStride, nblk int, c []int32, ldc, rows int, unsigned bool) {
	ksteps := segK * segs
	for r := 0; r < rows; r++ {
		for b := 0; b < nblk; b++ {
			var acc [16]int32
			for s := 0; s < segs; s++ {
				for j := 0; j < segK; j++ {
					ks := s*segK + j
					ws := w[(b*ksteps+ks)*64:][:64]
					for t := 0; t < 4; t++ {
						x := int32(int8(a[r*lda+s*segStride+4*j+t]))
						if unsigned {
							x = int32(a[r*lda+s*segStride+4*j+t])
						}
						for n := 0; n < 16; n++ {
							acc[n] += x * int32(ws[4*n+t])
						}
					}
				}
			}
			copy(c[r*ldc+16*b:][:16], acc[:])
		}
	}
}
