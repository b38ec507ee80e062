package train

import (
	"github.com/edgecnn/edgecnn/internal/sgemm"
	"github.com/edgecnn/edgecnn/train/internal/vec"
)

// pairBytes is the size of a fused convolution+pooling pair's
// convolution output per image chunk: small enough to stay in the L2
// cache between the GEMM that writes it and the pooling that reads it
// (and, backward, between the unpooling and the GEMMs). A variable for
// the tests.
var pairBytes = 384 << 10

// pairChunk is the number of images per chunk of the pair whose
// convolution is op o.
func pairChunk(o *op) int {
	return max(1, pairBytes/(4*o.out.Size()))
}

// forwardPair runs convolution op i and the pooling op i+1 after it on
// shard s, chunk by chunk of images (the same arithmetic as running them
// one after the other on the whole shard).
func (n *Net) forwardPair(s *shard, i int) {
	o, po := &n.ops[i], &n.ops[i+1]
	var bias []float32
	if po.poolBias >= 0 {
		bias = n.params[po.poolBias].data
	}
	if convPoolFused(o, po) {
		n.forwardConvPool(s, i, bias)
		return
	}
	in, mid, out := o.in.Size(), o.out.Size(), po.out.Size()
	step := pairChunk(o)
	// The convolution's output lives one chunk at a time (only the
	// pooling reads it): one scratch chunk stays in the L2 cache, where
	// the whole shard's output would be written back and fetched anew.
	s.pairY = growF(s.pairY, min(step, s.n)*mid)
	for b0 := 0; b0 < s.n; b0 += step {
		m := min(step, s.n-b0)
		x := s.act[i][b0*in : (b0+m)*in]
		y := s.pairY[:m*mid]
		z := s.act[i+2][b0*out : (b0+m)*out]
		n.forwardOp(s, i, o, x, y, m)
		reluPool(y, po.in, po.l.Kernel, po.l.Stride, po.out, m, bias, z, s.ibuf[i+1][b0*out:(b0+m)*out], po.relu)
	}
}

// backwardPair runs the backward passes of the pooling op i+1 and the
// convolution op i before it on shard s, chunk by chunk of images: the
// convolution's weight and bias gradients are sums over the chunks (in
// chunk order, so the result depends on the chunk size only).
func (n *Net) backwardPair(s *shard, i int) {
	o, po := &n.ops[i], &n.ops[i+1]
	var db []float32
	if po.poolBias >= 0 {
		pb := &n.params[po.poolBias]
		db = s.gflat[pb.off : pb.off+len(pb.data)]
	}
	in, mid, out := o.in.Size(), o.out.Size(), po.out.Size()
	step := pairChunk(o)
	if unpoolFused(o, po) && db != nil {
		n.backwardConvUnpool(s, i, db, step)
		return
	}
	// The convolution's output gradient lives one chunk at a time, as
	// its output does forward (forwardPair); its output is not needed.
	s.pairDY = growF(s.pairDY, min(step, s.n)*mid)
	for b0 := 0; b0 < s.n; b0 += step {
		m := min(step, s.n-b0)
		x := s.act[i][b0*in : (b0+m)*in]
		dz := s.grad[i+2][b0*out : (b0+m)*out]
		dy := s.pairDY[:m*mid]
		var dbc []float32
		if db != nil {
			dbc = db
			if b0 > 0 {
				dbc = s.tmp[:len(db)]
			}
		}
		poolBackward(dz, s.ibuf[i+1][b0*out:(b0+m)*out], po.in, po.l.Kernel, po.l.Stride, po.out, m, dy, dbc)
		if b0 > 0 && db != nil {
			vec.Add(db, dbc)
		}
		var dx []float32
		if o.needDx {
			dx = s.grad[i][b0*in : (b0+m)*in]
		}
		n.backwardOp(s, i, o, x, nil, dy, dx, m, b0 > 0)
	}
}

// convPoolFused reports whether the pair of convolution op o and pooling
// op po runs as one kernel per pooled row (vec.Conv3x3Pool2x2Row): a
// one-channel 3×3 stride-1 convolution whose windows lie in the padded
// input, output channels a multiple of 32, 2×2 stride-2 pooling, and the
// AVX-512 kernel, whose results equal the convolution (internal/sgemm's
// direct path) followed by the pooling bit for bit.
func convPoolFused(o, po *op) bool {
	l := o.l
	return vec.ConvPoolFused() && o.kind == opConv && o.in.C == 1 && l.Kernel == 3 && l.Stride == 1 &&
		o.out.C%vec.ConvCols == 0 && o.out.C <= len(zeroBias) &&
		o.out.H+2 <= o.in.H+2*l.Pad && o.out.W+2 <= o.in.W+2*l.Pad &&
		po.l.Kernel == 2 && po.l.Stride == 2 && 2*po.out.H <= o.out.H && 2*po.out.W <= o.out.W
}

// forwardConvPool is forwardPair for a fused pair (convPoolFused): image
// by image, the zero-padded input and one kernel call per pooled row and
// 32 output channels. The convolution's output is not stored (backward
// reads only the pooling winners and the input).
func (n *Net) forwardConvPool(s *shard, i int, bias []float32) {
	o, po := &n.ops[i], &n.ops[i+1]
	l := o.l
	C := o.out.C
	if bias == nil {
		bias = zeroBias[:C]
	}
	const blk = vec.ConvTaps * vec.ConvCols
	nb := C / vec.ConvCols
	s.convW = growF(s.convW, nb*blk)
	for b := range nb { // the weights, tap-major per 32 channels
		w := s.convW[b*blk : (b+1)*blk]
		for j := range vec.ConvCols {
			for t, v := range l.Weight[(b*vec.ConvCols+j)*vec.ConvTaps : (b*vec.ConvCols+j+1)*vec.ConvTaps] {
				w[t*vec.ConvCols+j] = v
			}
		}
	}
	hp, wp := o.in.H+2*l.Pad, o.in.W+2*l.Pad
	s.convX = growF(s.convX, hp*wp)
	clear(s.convX)
	in, out, row := o.in.Size(), po.out.Size(), po.out.W*C
	for img := range s.n {
		x := s.act[i][img*in : (img+1)*in]
		for y := range o.in.H {
			copy(s.convX[(y+l.Pad)*wp+l.Pad:], x[y*o.in.W:(y+1)*o.in.W])
		}
		z := s.act[i+2][img*out : (img+1)*out]
		win := s.ibuf[i+1][img*out : (img+1)*out]
		for py := range po.out.H {
			xr := s.convX[2*py*wp:]
			for b := range nb {
				w := (*[blk]float32)(s.convW[b*blk : (b+1)*blk])
				o := py*row + b*vec.ConvCols
				vec.Conv3x3Pool2x2Row(xr, wp, w, bias[b*vec.ConvCols:], z[o:], win[o:], C, po.out.W, po.relu)
			}
		}
	}
}

// growF returns s with length n, reusing its storage when large enough.
func growF(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// unpoolFused reports whether the backward pass of the pair of
// convolution op o and pooling op po runs as one pass per chunk
// (backwardConvUnpool): a fused forward pair (convPoolFused) with 32
// output channels, no input gradient, and even convolution output sides
// (the pooling covers every output).
func unpoolFused(o, po *op) bool {
	return convPoolFused(o, po) && o.out.C == vec.ConvCols && !o.needDx &&
		o.out.H == 2*po.out.H && o.out.W == 2*po.out.W
}

// backwardConvUnpool is backwardPair for unpoolFused pairs, chunk by chunk
// of step images as backwardPair cuts them: the bias gradient as the
// unpooling adds it (vec.UnpoolBias), and the weight gradient with the
// unpooling in the same pass (vec.DWUnpool), sliced and summed exactly as
// internal/sgemm's GemmPatchesB sums it (sgemm.KSlice), so the gradients
// are bit-identical and the convolution's output gradient is never
// stored.
func (n *Net) backwardConvUnpool(s *shard, i int, db []float32, step int) {
	o, po := &n.ops[i], &n.ops[i+1]
	l := o.l
	pw := &n.params[o.pw]
	dw := s.gflat[pw.off : pw.off+len(pw.data)]
	C, in, out := o.out.C, o.in.Size(), po.out.Size()
	hp, wp := o.in.H+2*l.Pad, o.in.W+2*l.Pad
	var acc [vec.ConvTaps * vec.ConvCols]float32
	for b0 := 0; b0 < s.n; b0 += step {
		m := min(step, s.n-b0)
		dz := s.grad[i+2][b0*out : (b0+m)*out]
		win := s.ibuf[i+1][b0*out : (b0+m)*out]
		dbc := db
		if b0 > 0 {
			dbc = s.tmp[:len(db)]
		}
		clear(dbc)
		vec.UnpoolBias(dz, win, dbc, C, m*po.out.H*po.out.W)
		if b0 > 0 {
			vec.Add(db, dbc)
		}
		s.convX = growF(s.convX, m*hp*wp)
		clear(s.convX)
		x := s.act[i][b0*in : (b0+m)*in]
		for b := range m {
			for y := range o.in.H {
				copy(s.convX[(b*hp+y+l.Pad)*wp+l.Pad:], x[(b*o.in.H+y)*o.in.W:(b*o.in.H+y+1)*o.in.W])
			}
		}
		k := m * o.out.H * o.out.W
		kstep := sgemm.KSlice(k)
		for pc := 0; pc < k; pc += kstep {
			kcb := min(kstep, k-pc)
			acc = [vec.ConvTaps * vec.ConvCols]float32{}
			for q := pc; q < pc+kcb; {
				b, oy, ox := q/(o.out.H*o.out.W), q/o.out.W%o.out.H, q%o.out.W
				nq := min(pc+kcb-q, o.out.W-ox)
				zr := (b*po.out.H + oy/2) * po.out.W * C
				vec.DWUnpool(nq, s.convX[(b*hp+oy)*wp+ox:], wp, dz[zr:], win[zr:], C, ox, oy%2, &acc)
				q += nq
			}
			accumulate := pc > 0 || b0 > 0
			for j := range C {
				row := dw[j*vec.ConvTaps : (j+1)*vec.ConvTaps]
				for t := range row {
					if accumulate {
						row[t] += acc[t*vec.ConvCols+j]
					} else {
						row[t] = acc[t*vec.ConvCols+j]
					}
				}
			}
		}
	}
}
