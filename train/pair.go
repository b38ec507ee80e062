package train

import "github.com/edgecnn/edgecnn/train/internal/vec"

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
	in, mid, out := o.in.Size(), o.out.Size(), po.out.Size()
	step := pairChunk(o)
	for b0 := 0; b0 < s.n; b0 += step {
		m := min(step, s.n-b0)
		x := s.act[i][b0*in : (b0+m)*in]
		y := s.act[i+1][b0*mid : (b0+m)*mid]
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
	for b0 := 0; b0 < s.n; b0 += step {
		m := min(step, s.n-b0)
		x := s.act[i][b0*in : (b0+m)*in]
		y := s.act[i+1][b0*mid : (b0+m)*mid]
		dz := s.grad[i+2][b0*out : (b0+m)*out]
		dy := s.grad[i+1][b0*mid : (b0+m)*mid]
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
		n.backwardOp(s, i, o, x, y, dy, dx, m, b0 > 0)
	}
}
