package qgemm

import (
	"fmt"
	"unsafe"
)

// Direct 3×3 convolution of a one-channel image fused with a 2×2 max
// pooling (the first layer of the seed CNN): no im2col, the windows are
// read straight from the zero-point-padded input.
//
// The weights are packed with K = 12 as three k steps of 4 bytes, one per
// kernel row: W'[n][4·ky + t] = W[n][ky][t] for t < 3 and 0 for t = 3, so
// the k step ky of the output pixel (y, x) is the 4 bytes at row y+ky,
// columns x…x+3 of the padded input (the fourth byte meets a zero weight).

// PackConv3 packs the weights w ([n][3][3], one input channel) in the
// layout Conv3Pool2 reads, with n rounded up to a multiple of 32 output
// channels (zero weights). Values must lie in [−127, 127].
func PackConv3(w []int8, n int) (*Weights, error) { return packConv3(active, w, n) }

func packConv3(kn kernel, w []int8, n int) (*Weights, error) {
	if n < 1 || len(w) != n*9 {
		return nil, fmt.Errorf("qgemm: %d weights for %d 3×3 one-channel filters", len(w), n)
	}
	np := (n + 31) &^ 31
	re := make([]int8, np*12)
	for o := 0; o < n; o++ {
		for ky := 0; ky < 3; ky++ {
			copy(re[o*12+4*ky:o*12+4*ky+3], w[o*9+3*ky:o*9+3*ky+3])
		}
	}
	p, err := packWith(kn, re, np, 12)
	if err != nil {
		return nil, err
	}
	p.N = n
	p.Sum = p.Sum[:n]
	return p, nil
}

// HasConv3 reports whether Conv3Pool2 has an assembly kernel for these
// weights (otherwise it runs the Go twin, slower than im2col + Gemm).
func (p *Weights) HasConv3() bool { return p.k.conv3 != nil }

// Conv3Pool2 computes count pooled pixels of a 3×3 convolution over one
// channel followed by a 2×2 max pooling of stride 2, from weights packed by
// PackConv3: for i < count and n < 16·NBlk,
//
//	c[i·ldc + n] = max_{dy,dx∈{0,1}} Σ_{ky<3, t<4} A(src[(dy+ky)·wp + 2i+dx+t]) · W'[n][4ky+t]
//
// where src is the padded input (int8 XOR Flip(), rows wp bytes apart)
// starting at the top-left of the first window, and A reads a byte as
// uint8 when the kernel flips, int8 otherwise. The reads reach
// src[3·wp + 2·count + 2]. It panics if the buffers are too small (a
// programming error).
func (p *Weights) Conv3Pool2(src []byte, wp, count int, c []int32, ldc int) {
	if count <= 0 {
		return
	}
	if p.K != 12 || p.NBlk%2 != 0 || wp < 2*count+2 || len(src) < 3*wp+2*count+3 || ldc < 16*p.NBlk || len(c) < (count-1)*ldc+16*p.NBlk {
		panic(fmt.Sprintf("qgemm: bad Conv3Pool2 arguments wp=%d count=%d len(src)=%d ldc=%d len(c)=%d (K=%d N=%d)", wp, count, len(src), ldc, len(c), p.K, p.N))
	}
	if p.k.conv3 != nil {
		p.k.conv3(&src[0], wp, &p.w8[0], p.NBlk, count, &c[0], ldc)
		return
	}
	conv3Go(src, wp, p.w8, p.NBlk, count, c, ldc, p.k.flip != 0)
}

// conv3Go is the reference loop of the conv3 kernels (see Conv3Pool2;
// w is the packed [NBlk][3][16][4] layout).
func conv3Go(src []byte, wp int, w []int8, nblk, count int, c []int32, ldc int, unsigned bool) {
	a := func(i int) int32 {
		if unsigned {
			return int32(src[i])
		}
		return int32(int8(src[i]))
	}
	for i := 0; i < count; i++ {
		for b := 0; b < nblk; b++ {
			for j := 0; j < 16; j++ {
				m := int32(0)
				for d := 0; d < 4; d++ {
					dy, dx := d/2, d%2
					var acc int32
					for ky := 0; ky < 3; ky++ {
						ws := w[((b*3+ky)*16+j)*4:]
						o := (dy+ky)*wp + 2*i + dx
						for t := 0; t < 4; t++ {
							acc += a(o+t) * int32(ws[t])
						}
					}
					if d == 0 || acc > m {
						m = acc
					}
				}
				c[i*ldc+16*b+j] = m
			}
		}
	}
}

// conv3GoPtr adapts conv3Go to the kernel signature (unsigned A).
func conv3GoPtr(src *byte, wp int, w *int8, nblk, count int, c *int32, ldc int) {
	conv3Go(unsafe.Slice(src, 3*wp+2*count+3), wp, unsafe.Slice(w, nblk*3*64), nblk, count, unsafe.Slice(c, (count-1)*ldc+16*nblk), ldc, true)
}
