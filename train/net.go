package train

import (
	"fmt"
	"math"
	"sync"

	"github.com/edgecnn/edgecnn/internal/sgemm"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/internal/vec"
)

// Net runs a model.Model on batches, forward and backward, on several
// goroutines. The batch is split into one contiguous shard per thread; each
// shard has its own activations, scratch buffers, parameter gradients and
// single-threaded GEMM context, and the goroutines move through the layers
// in lock step (BatchNorm needs statistics of the whole batch). All buffers
// are allocated once for the largest batch, so steps allocate nothing.
//
// The parameters are the model's own slices: training updates the model in
// place. A Net is not safe for concurrent use. Close stops its goroutines.
type Net struct {
	M        *model.Model
	ops      []op
	params   []param
	nparam   int // total trainable floats
	shards   []*shard
	maxBatch int
	perShard int

	// per-batch state
	batch    int
	train    bool
	rngSeed  uint64
	rngEpoch uint64
	rngPos   int // position in epoch of the first image of the batch
	labels   []uint8
	cur      *Batch
	scale    float32
	lr       float32
	// fusedGrad: the fused step's shards run backward (jobStep)
	fusedGrad bool

	work []chan job
	wg   sync.WaitGroup
	opt  optimizer
	fq   *fqState // quantization-aware training (nil: off)

	// FreezeConv: ops before firstTrain are frozen (no backward, no
	// update; BatchNorm uses its running statistics).
	firstTrain int
	frozen     []bool // per param
}

type param struct {
	name string
	data []float32
	off  int // offset in each shard's flat gradient
}

type shard struct {
	id    int
	gemm  *sgemm.Context
	first int // first image of the batch in this shard
	n     int // images in this shard
	act   [][]float32
	grad  [][]float32
	buf   [][]float32 // per-op scratch (im2col, dropout mask)
	ibuf  [][]int32   // per-op pooling winners
	gflat []float32   // gradients of all parameters
	// BatchNorm partial sums (float64, per channel)
	s1, s2  [][]float64
	loss    float64
	correct int
	prep    prep      // input preparation (scratch)
	tmp     []float32 // 2·(largest channel count) scratch
	// fake quantization STE masks (SetFakeQuant), per op and of the input
	fqMask   [][]uint8
	fqInMask []uint8
	// a fused convolution + pooling pair's padded input image and
	// tap-major weights (forwardConvPool)
	convX, convW []float32
	// a convolution + pooling pair's convolution output and its gradient,
	// one chunk of images (forwardPair, backwardPair)
	pairY, pairDY []float32
}

type opKind uint8

const (
	opConv opKind = iota
	opBN
	opReLU
	opPool
	opFlatten
	opDense
	opDropout
)

// op is one step of the network, made of one or two model layers (ReLU
// followed by max pooling is fused into one step).
type op struct {
	kind    opKind
	l       *model.Layer
	in, out model.Shape
	relu    bool // pool: fused ReLU
	// A convolution directly followed by pooling leaves its bias to the
	// pooling step (max(x+b) = max(x)+b), which also sums its gradient.
	biasLater bool // conv: bias added by the next op
	// pair: a convolution directly followed by pooling runs with it
	// image chunk by image chunk (jobForwardPair, jobBackwardPair), so
	// the convolution's output and its gradient stay in the L2 cache.
	pair     bool
	poolBias int  // pool: index of the previous conv's bias param, or -1
	needDx   bool // backward must produce the input gradient
	pw, pb   int  // parameter indices (conv, dense, BN gamma/beta)
	// Dense: the weights packed once per step for the GEMMs of every
	// shard (jobPack): wf for the forward (Wᵀ), wd for the input
	// gradient (W; nil when not needed).
	wf, wd *sgemm.PackedB
	// BatchNorm: batch statistics of the current step, the per-channel
	// affine map y = x·bnA + bnB, and the backward coefficients (all
	// computed serially between the parallel phases).
	mean, invstd, bnA, bnB, bnK, bnMdy, bnMdyx []float32
}

type job struct {
	kind jobKind
	op   int
}

type jobKind uint8

const (
	jobInput jobKind = iota
	jobForward
	jobBNStats
	jobBNApply
	jobLoss
	jobBackward
	jobBNBackStats
	jobBNBackApply
	jobReduce
	jobUpdate
	jobPack
	jobForwardPair
	jobBackwardPair
	jobStep
)

// NewNet prepares m for batches of up to maxBatch images on threads
// goroutines (≤0: 1).
func NewNet(m *model.Model, maxBatch, threads int) (*Net, error) {
	if err := m.Arch.Validate(); err != nil {
		return nil, err
	}
	if maxBatch < 1 {
		return nil, fmt.Errorf("train: batch size %d must be positive", maxBatch)
	}
	threads = max(1, min(threads, maxBatch))
	n := &Net{M: m, maxBatch: maxBatch, perShard: (maxBatch + threads - 1) / threads}
	if err := n.buildOps(); err != nil {
		return nil, err
	}
	for t := 0; t < threads; t++ {
		n.shards = append(n.shards, n.newShard(t))
	}
	for t := 1; t < threads; t++ {
		ch := make(chan job)
		n.work = append(n.work, ch)
		go func(s *shard) {
			for j := range ch {
				n.exec(s, j)
				n.wg.Done()
			}
		}(n.shards[t])
	}
	return n, nil
}

// addParam registers a trainable parameter and returns its index.
func (n *Net) addParam(name string, d []float32) int {
	n.params = append(n.params, param{name: name, data: d, off: n.nparam})
	n.nparam += len(d)
	return len(n.params) - 1
}

// buildOps turns the model's layers into ops (fusing ReLU + max pooling
// and leaving a convolution's bias to the pooling after it) and
// registers the parameters.
func (n *Net) buildOps() error {
	m := n.M
	for i := 0; i < len(m.Layers); i++ {
		l := &m.Layers[i]
		o := op{l: l, in: l.In, out: l.Out, pw: -1, pb: -1}
		switch l.Kind {
		case model.KindConv2D:
			o.kind = opConv
			o.pw, o.pb = n.addParam(l.Name+".weight", l.Weight), n.addParam(l.Name+".bias", l.Bias)
		case model.KindDense:
			o.kind = opDense
			o.pw, o.pb = n.addParam(l.Name+".weight", l.Weight), n.addParam(l.Name+".bias", l.Bias)
			o.wf = sgemm.NewPackedB(l.Out.C, l.In.C)
		case model.KindBatchNorm:
			o.kind = opBN
			o.pw, o.pb = n.addParam(l.Name+".weight", l.Gamma), n.addParam(l.Name+".bias", l.Beta)
			C := l.Out.C
			o.mean, o.invstd, o.bnA, o.bnB = make([]float32, C), make([]float32, C), make([]float32, C), make([]float32, C)
			o.bnK, o.bnMdy, o.bnMdyx = make([]float32, C), make([]float32, C), make([]float32, C)
		case model.KindReLU:
			o.kind = opReLU
			if i+1 < len(m.Layers) && m.Layers[i+1].Kind == model.KindMaxPool {
				i++
				l = &m.Layers[i]
				o = op{kind: opPool, l: l, in: o.in, out: l.Out, relu: true, pw: -1, pb: -1}
			}
		case model.KindMaxPool:
			o.kind = opPool
		case model.KindFlatten:
			o.kind = opFlatten
		case model.KindDropout:
			o.kind = opDropout
		default:
			return fmt.Errorf("train: unsupported layer kind %q", l.Kind)
		}
		if o.kind == opPool && (o.out.H-1)*o.l.Stride+o.l.Kernel > o.in.H || (o.kind == opPool && (o.out.W-1)*o.l.Stride+o.l.Kernel > o.in.W) {
			return fmt.Errorf("train: pooling window of %s leaves the input", l.Name)
		}
		if o.kind == opPool && o.l.Kernel > 15 {
			return fmt.Errorf("train: pooling kernel %d too large", o.l.Kernel)
		}
		o.poolBias = -1
		if o.kind == opPool && len(n.ops) > 0 && n.ops[len(n.ops)-1].kind == opConv {
			prev := &n.ops[len(n.ops)-1]
			prev.biasLater = true
			prev.pair = true
			o.poolBias = prev.pb
		}
		n.ops = append(n.ops, o)
	}
	// Input gradients are needed from the first layer with parameters on.
	seenParam := false
	for i := range n.ops {
		o := &n.ops[i]
		o.needDx = seenParam
		if o.pw >= 0 {
			seenParam = true
		}
		if o.kind == opDense && o.needDx {
			o.wd = sgemm.NewPackedB(o.in.C, o.out.C)
		}
	}
	return nil
}

// newShard allocates shard t's buffers for n.perShard images.
func (n *Net) newShard(t int) *shard {
	m := n.M
	P := n.perShard
	s := &shard{id: t, gemm: sgemm.New(1)}
	s.prep = newPrep(m)
	maxC := 0
	for i := range n.ops {
		maxC = max(maxC, n.ops[i].out.C)
	}
	s.tmp = make([]float32, 2*maxC)
	n.allocActivations(s)
	s.buf = make([][]float32, len(n.ops))
	s.ibuf = make([][]int32, len(n.ops))
	s.s1 = make([][]float64, len(n.ops))
	s.s2 = make([][]float64, len(n.ops))
	for i := range n.ops {
		o := &n.ops[i]
		switch o.kind {
		case opConv:
			switch {
			case o.needDx && transposable(o): // the flipped kernel (backward)
				s.buf[i] = make([]float32, len(o.l.Weight))
			case o.needDx: // the input gradient's im2col rows (backward)
				s.buf[i] = make([]float32, P*o.out.H*o.out.W*o.l.Kernel*o.l.Kernel*o.in.C)
			}
		case opPool:
			s.ibuf[i] = make([]int32, P*o.out.Size())
		case opDropout:
			s.buf[i] = make([]float32, P*o.out.Size())
		case opBN:
			s.s1[i] = make([]float64, o.out.C)
			s.s2[i] = make([]float64, o.out.C)
		}
	}
	s.gflat = make([]float32, n.nparam)
	return s
}

// allocActivations allocates shard s's activations and activation
// gradients (flatten shares its input's; input gradients only where
// backward needs them).
func (n *Net) allocActivations(s *shard) {
	P := n.perShard
	s.act = make([][]float32, len(n.ops)+1)
	s.grad = make([][]float32, len(n.ops)+1)
	s.act[0] = make([]float32, P*n.M.Input().Size())
	for i := range n.ops {
		o := &n.ops[i]
		if o.kind == opFlatten {
			s.act[i+1] = s.act[i]
		} else {
			s.act[i+1] = make([]float32, P*o.out.Size())
		}
	}
	for i := len(n.ops) - 1; i >= 0; i-- {
		o := &n.ops[i]
		if i == len(n.ops)-1 {
			s.grad[i+1] = make([]float32, P*o.out.Size())
		}
		switch {
		case o.kind == opFlatten:
			s.grad[i] = s.grad[i+1]
		case o.needDx:
			s.grad[i] = make([]float32, P*o.in.Size())
		}
	}
}

// FreezeConv freezes everything before the first dense layer (the
// convolutions and their BatchNorm): training then updates only the dense
// layers, skips the backward pass through the frozen part, and runs its
// BatchNorm layers in inference mode (running statistics, not updated),
// so the frozen parameters stay bit-identical.
func (n *Net) FreezeConv() {
	first := len(n.ops)
	for i := range n.ops {
		if n.ops[i].kind == opDense {
			first = i
			break
		}
	}
	n.firstTrain = first
	n.frozen = make([]bool, len(n.params))
	for i := 0; i < first; i++ {
		o := &n.ops[i]
		if o.pw >= 0 {
			n.frozen[o.pw], n.frozen[o.pb] = true, true
		}
		o.needDx = false
	}
	if first < len(n.ops) {
		n.ops[first].needDx = false
	}
	n.evalPrepare() // frozen BatchNorm: the running statistics' affine map
}

// Close stops the worker goroutines.
func (n *Net) Close() {
	for _, ch := range n.work {
		close(ch)
	}
	n.work = nil
}

// Threads is the number of goroutines (and shards).
func (n *Net) Threads() int { return len(n.shards) }

// run executes j on every shard in parallel and waits.
func (n *Net) run(j job) {
	n.wg.Add(len(n.work))
	for _, ch := range n.work {
		ch <- j
	}
	n.exec(n.shards[0], j)
	n.wg.Wait()
}

// split assigns batch images to shards.
func (n *Net) split(batch int) {
	n.batch = batch
	T := len(n.shards)
	first := 0
	for t, s := range n.shards {
		s.first = first
		s.n = batch / T
		if t < batch%T {
			s.n++
		}
		first += s.n
	}
}

// logits returns the output rows of shard s: a view of its
// last activation.
func (n *Net) logits(s *shard) []float32 {
	return s.act[len(n.ops)][:s.n*n.ops[len(n.ops)-1].out.Size()]
}

// ForwardBatch runs inference (BatchNorm with running statistics, no
// dropout) on batch normalized NHWC images x and writes logits to out.
func (n *Net) ForwardBatch(x []float32, batch int, out []float32) {
	n.split(batch)
	n.train = false
	n.evalPrepare()
	in := n.M.Input().Size()
	C := n.ops[len(n.ops)-1].out.Size()
	for _, s := range n.shards {
		copy(s.act[0][:s.n*in], x[s.first*in:(s.first+s.n)*in])
	}
	n.forward()
	for _, s := range n.shards {
		copy(out[s.first*C:(s.first+s.n)*C], n.logits(s))
	}
}

// denseInPlace reports whether the dense layers' forward products read
// their weights in place (sgemm's GemmABt on every shard's Context), so
// that the packed copies (wf) are not needed.
func (n *Net) denseInPlace() bool {
	return n.shards[0].gemm.InPlace()
}

// denseDxInPlace reports whether dense op o's input gradient on shard s
// reads dY and the weights in place (Gemm's in-place path: s.n a multiple
// of 4, o.in.C of 32).
func (n *Net) denseDxInPlace(s *shard, o *op) bool {
	return s.gemm.InPlace() && s.n%4 == 0 && o.in.C%32 == 0
}

// packPlan reports which packed copies of dense op i's weights the
// products of this batch read: the forward's (wf) unless the products run
// in place, the input gradient's (wd, only when training) unless every
// shard's runs in place.
func (n *Net) packPlan(i int) (wf, wd bool) {
	o := &n.ops[i]
	if o.kind != opDense {
		return false, false
	}
	dxPacked := false
	for _, sh := range n.shards {
		dxPacked = dxPacked || sh.n > 0 && !n.denseDxInPlace(sh, o)
	}
	return !n.denseInPlace(), o.wd != nil && n.train && i >= n.firstTrain && o.needDx && dxPacked
}

// needPack reports whether packWeights has anything to pack.
func (n *Net) needPack() bool {
	for i := range n.ops {
		if wf, wd := n.packPlan(i); wf || wd {
			return true
		}
	}
	return false
}

// packWeights packs shard s's share of the panels of every dense layer's
// weights that a product will read packed (packPlan).
func (n *Net) packWeights(s *shard) {
	for i := range n.ops {
		o := &n.ops[i]
		wf, wd := n.packPlan(i)
		if wf {
			lo, hi := n.chunk(s, o.wf.Panels())
			o.wf.Repack(true, o.l.Weight, o.in.C, lo, hi)
		}
		if wd {
			lo, hi := n.chunk(s, o.wd.Panels())
			o.wd.Repack(false, o.l.Weight, o.in.C, lo, hi)
		}
	}
}

func (n *Net) forward() {
	n.run(job{kind: jobPack})
	for i := 0; i < len(n.ops); i++ { // not range: a pair skips its pooling op
		if n.ops[i].kind == opBN && n.train && i >= n.firstTrain {
			n.run(job{jobBNStats, i})
			n.bnCombine(i)
			n.run(job{jobBNApply, i})
			continue
		}
		if n.ops[i].kind == opFlatten {
			continue
		}
		if n.ops[i].pair && n.fq == nil {
			n.run(job{jobForwardPair, i})
			i++ // the pooling ran with it
			continue
		}
		n.run(job{jobForward, i})
	}
}

func (n *Net) backward() {
	for i := len(n.ops) - 1; i >= n.firstTrain; i-- {
		switch n.ops[i].kind {
		case opFlatten:
			continue
		case opBN:
			n.run(job{jobBNBackStats, i})
			n.bnBackCombine(i)
			n.run(job{jobBNBackApply, i})
			continue
		}
		if i > n.firstTrain && n.ops[i-1].pair && n.fq == nil {
			n.run(job{jobBackwardPair, i - 1})
			i-- // the convolution ran with it
			continue
		}
		n.run(job{jobBackward, i})
	}
}

// exec runs one job on one shard.
func (n *Net) exec(s *shard, j job) {
	switch j.kind {
	case jobInput:
		n.prepInput(s)
		if n.fq != nil && n.train {
			n.fqInput(s)
		}
		return
	case jobLoss:
		n.lossShard(s)
		return
	case jobReduce:
		n.reduce(s)
		return
	case jobUpdate:
		n.update(s)
		return
	case jobPack:
		n.packWeights(s)
		return
	case jobStep:
		n.stepShard(s)
		return
	}
	if s.n == 0 {
		return
	}
	switch j.kind {
	case jobForwardPair:
		n.forwardPair(s, j.op)
		return
	case jobBackwardPair:
		n.backwardPair(s, j.op)
		return
	}
	o := &n.ops[j.op]
	i := j.op
	cnt := s.n
	x := s.act[i][:cnt*o.in.Size()]
	y := s.act[i+1][:cnt*o.out.Size()]
	switch j.kind {
	case jobForward:
		n.forwardShard(s, i)
	case jobBackward:
		n.backwardShard(s, i)
	case jobBNStats:
		channelSums(x, o.in.C, s.s1[i], s.s2[i])
	case jobBNApply:
		bnApply(x, y, o.bnA, o.bnB)
	case jobBNBackStats:
		bnBackStats(x, s.grad[i+1][:cnt*o.out.Size()], o.mean, o.invstd, s.s1[i], s.s2[i], s.tmp)
	case jobBNBackApply:
		n.bnBackApply(s, i, o, x, cnt)
	}
}

// forwardShard runs op i forward on shard s's images.
func (n *Net) forwardShard(s *shard, i int) {
	o := &n.ops[i]
	x := s.act[i][:s.n*o.in.Size()]
	y := s.act[i+1][:s.n*o.out.Size()]
	n.forwardOp(s, i, o, x, y, s.n)
	if n.fq != nil && n.train {
		n.fqForward(s, i, y)
	}
}

// backwardShard runs op i backward on shard s's images.
func (n *Net) backwardShard(s *shard, i int) {
	o := &n.ops[i]
	cnt := s.n
	var dx []float32
	if o.needDx {
		dx = s.grad[i][:cnt*o.in.Size()]
	}
	dy := s.grad[i+1][:cnt*o.out.Size()]
	if n.fq != nil {
		n.fqBackward(s, i, dy)
	}
	n.backwardOp(s, i, o, s.act[i][:cnt*o.in.Size()], s.act[i+1][:cnt*o.out.Size()], dy, dx, cnt, false)
}

func (n *Net) forwardOp(s *shard, i int, o *op, x, y []float32, cnt int) {
	l := o.l
	switch o.kind {
	case opConv:
		K := l.Kernel * l.Kernel * o.in.C
		p := patches(x, o, cnt)
		s.gemm.GemmPatchesA(&p, true, o.out.C, l.Weight, K, 0, y, o.out.C)
		if !o.biasLater {
			addBias(y, l.Bias)
		}
	case opDense:
		if n.denseInPlace() {
			s.gemm.GemmABt(cnt, o.out.C, o.in.C, x, o.in.C, l.Weight, o.in.C, y, o.out.C)
		} else {
			s.gemm.GemmPacked(cnt, x, o.in.C, o.wf, 0, o.out.C, y, o.out.C)
		}
		addBias(y, l.Bias)
	case opBN: // inference: bnA, bnB from the running statistics (evalPrepare)
		bnApply(x, y, o.bnA, o.bnB)
	case opReLU:
		relu(x, y)
	case opPool:
		var bias []float32
		if o.poolBias >= 0 {
			bias = n.params[o.poolBias].data
		}
		reluPool(x, o.in, l.Kernel, l.Stride, o.out, cnt, bias, y, s.ibuf[i][:len(y)], o.relu)
	case opDropout:
		if !n.train || l.Rate == 0 {
			copy(y, x)
			return
		}
		mask := s.buf[i][:len(y)]
		keep := 1 - l.Rate
		inv := 1 / keep
		size := o.in.Size()
		for b := 0; b < cnt; b++ {
			r := NewRNG(n.rngSeed, streamDropout, n.rngEpoch, uint64(n.rngPos+s.first+b))
			mb := mask[b*size : (b+1)*size]
			for k := range mb {
				if r.Float32() < keep {
					mb[k] = inv
				} else {
					mb[k] = 0
				}
			}
		}
		for k, v := range x {
			y[k] = v * mask[k]
		}
	}
}

// transposable reports whether conv op o's input gradient can be computed
// as a convolution of the output gradient (stride 1, padding at most
// kernel−1): then dx = patches(dy, pad kernel−1−pad) · flipped kernelᵀ.
func transposable(o *op) bool {
	l := o.l
	return l.Stride == 1 && l.Pad <= l.Kernel-1 && o.out.H == o.in.H+2*l.Pad-l.Kernel+1 && o.out.W == o.in.W+2*l.Pad-l.Kernel+1
}

// flipKernel writes the OHWI kernel w (cout × k×k×cin) rotated by 180°
// with input and output channels swapped into dst (cin × k×k×cout):
// dst[ci][ky][kx][co] = w[co][k−1−ky][k−1−kx][ci].
func flipKernel(w []float32, cout, k, cin int, dst []float32) {
	kk := k * k
	for co := 0; co < cout; co++ {
		for t := 0; t < kk; t++ {
			src := w[(co*kk+kk-1-t)*cin : (co*kk+kk-t)*cin]
			for ci, v := range src {
				dst[(ci*kk+t)*cout+co] = v
			}
		}
	}
}

// patches is the im2col matrix of conv op o over cnt images x, read by
// the GEMM while packing (never stored).
func patches(x []float32, o *op, cnt int) sgemm.Patches {
	l := o.l
	return sgemm.Patches{X: x, N: cnt, H: o.in.H, W: o.in.W, C: o.in.C, Kernel: l.Kernel, Stride: l.Stride, Pad: l.Pad, OH: o.out.H, OW: o.out.W}
}

// backwardOp runs op i's backward pass on cnt images; with acc (a
// convolution's later image chunks) the weight gradient is added to.
func (n *Net) backwardOp(s *shard, i int, o *op, x, y, dy, dx []float32, cnt int, acc bool) {
	l := o.l
	switch o.kind {
	case opConv:
		K := l.Kernel * l.Kernel * o.in.C
		M := cnt * o.out.H * o.out.W
		pw, pb := &n.params[o.pw], &n.params[o.pb]
		p := patches(x, o, cnt)
		beta := float32(0)
		if acc {
			beta = 1
		}
		s.gemm.GemmPatchesB(true, o.out.C, dy, o.out.C, &p, beta, s.gflat[pw.off:pw.off+len(pw.data)], K)
		if !o.biasLater {
			sumRows(dy, s.gflat[pb.off:pb.off+len(pb.data)])
		}
		switch {
		case dx == nil:
		case transposable(o):
			// dx is the convolution of dy with the flipped, transposed
			// kernel: patches of dy times wflip, no column buffer.
			if !acc {
				flipKernel(l.Weight, o.out.C, l.Kernel, o.in.C, s.buf[i])
			}
			p := sgemm.Patches{X: dy, N: cnt, H: o.out.H, W: o.out.W, C: o.out.C, Kernel: l.Kernel, Stride: 1, Pad: l.Kernel - 1 - l.Pad, OH: o.in.H, OW: o.in.W}
			s.gemm.GemmPatchesA(&p, true, o.in.C, s.buf[i], l.Kernel*l.Kernel*o.out.C, 0, dx, o.in.C)
		default:
			col := s.buf[i][:M*K] // the input gradient's im2col rows
			s.gemm.Gemm(false, false, M, K, o.out.C, 1, dy, o.out.C, l.Weight, K, 0, col, K)
			col2im(col, o.in, l.Kernel, l.Stride, l.Pad, o.out, cnt, dx)
		}
	case opDense:
		pw, pb := &n.params[o.pw], &n.params[o.pb]
		s.gemm.Gemm(true, false, o.out.C, o.in.C, cnt, 1, dy, o.out.C, x, o.in.C, 0, s.gflat[pw.off:pw.off+len(pw.data)], o.in.C)
		sumRows(dy, s.gflat[pb.off:pb.off+len(pb.data)])
		switch {
		case dx == nil:
		case n.denseDxInPlace(s, o):
			s.gemm.Gemm(false, false, cnt, o.in.C, o.out.C, 1, dy, o.out.C, l.Weight, o.in.C, 0, dx, o.in.C)
		default:
			s.gemm.GemmPacked(cnt, dy, o.out.C, o.wd, 0, o.in.C, dx, o.in.C)
		}
	case opReLU:
		if dx != nil {
			reluBackward(y, dy, dx)
		}
	case opPool:
		var db []float32
		if o.poolBias >= 0 {
			pb := &n.params[o.poolBias]
			db = s.gflat[pb.off : pb.off+len(pb.data)]
		}
		if dx != nil || db != nil {
			if dx == nil {
				dx = s.grad[i][:cnt*o.in.Size()]
			}
			poolBackward(dy, s.ibuf[i][:len(dy)], o.in, l.Kernel, l.Stride, o.out, cnt, dx, db)
		}
	case opDropout:
		if dx != nil {
			mask := s.buf[i][:len(dy)]
			for k, v := range dy {
				dx[k] = v * mask[k]
			}
		}
	}
}

// bnApply computes y = x·a + b per channel.
func bnApply(x, y, a, b []float32) {
	C := len(a)
	b = b[:C]
	for i := 0; i+C <= len(x); i += C {
		xr, yr := x[i:i+C], y[i:i+C]
		for c, v := range xr {
			yr[c] = v*a[c] + b[c]
		}
	}
}

// evalPrepare computes the inference affine map of every BatchNorm layer
// from its running statistics.
func (n *Net) evalPrepare() {
	for i := range n.ops {
		o := &n.ops[i]
		if o.kind != opBN {
			continue
		}
		l := o.l
		for c := range o.bnA {
			inv := float32(1 / math.Sqrt(float64(l.RunVar[c])+float64(l.Eps)))
			o.bnA[c] = inv * l.Gamma[c]
			o.bnB[c] = l.Beta[c] - l.RunMean[c]*o.bnA[c]
		}
	}
}

// bnCombine turns the shards' partial sums into batch mean and inverse
// standard deviation and updates the running statistics (momentum 0.1,
// unbiased variance, as PyTorch).
func (n *Net) bnCombine(i int) {
	o := &n.ops[i]
	C := o.in.C
	cnt := float64(n.batch * o.in.H * o.in.W)
	l := o.l
	for c := 0; c < C; c++ {
		var s1, s2 float64
		for _, s := range n.shards {
			if s.n > 0 {
				s1 += s.s1[i][c]
				s2 += s.s2[i][c]
			}
		}
		mean := s1 / cnt
		v := max(0, s2/cnt-mean*mean)
		o.mean[c] = float32(mean)
		o.invstd[c] = float32(1 / math.Sqrt(v+float64(l.Eps)))
		o.bnA[c] = o.invstd[c] * l.Gamma[c]
		o.bnB[c] = l.Beta[c] - o.mean[c]*o.bnA[c]
		unbiased := v
		if cnt > 1 {
			unbiased = v * cnt / (cnt - 1)
		}
		l.RunMean[c] = 0.9*l.RunMean[c] + 0.1*float32(mean)
		l.RunVar[c] = 0.9*l.RunVar[c] + 0.1*float32(unbiased)
	}
}

// bnBackStats accumulates per channel Σdy and Σdy·x̂ (tmp: 2·C scratch).
func bnBackStats(x, dy, mean, invstd []float32, sdy, sdyx []float64, tmp []float32) {
	C := len(mean)
	clear(sdy)
	clear(sdyx)
	a, b := tmp[:C], tmp[C:2*C]
	const block = 64
	rows := len(x) / C
	for r0 := 0; r0 < rows; r0 += block {
		r1 := min(rows, r0+block)
		clear(a)
		clear(b)
		for r := r0; r < r1; r++ {
			xr, dr := x[r*C:(r+1)*C], dy[r*C:(r+1)*C]
			for c, d := range dr {
				a[c] += d
				b[c] += d * (xr[c] - mean[c]) * invstd[c]
			}
		}
		for c := 0; c < C; c++ {
			sdy[c] += float64(a[c])
			sdyx[c] += float64(b[c])
		}
	}
}

// bnBackCombine sums the shards' Σdy and Σdy·x̂, which are also the
// gradients of beta and gamma (stored in shard 0, zero in the others).
func (n *Net) bnBackCombine(i int) {
	o := &n.ops[i]
	pg, pb := &n.params[o.pw], &n.params[o.pb]
	s0 := n.shards[0]
	for c := 0; c < o.in.C; c++ {
		var a, b float64
		for _, s := range n.shards {
			if s.n > 0 {
				a += s.s1[i][c]
				b += s.s2[i][c]
			}
		}
		s0.s1[i][c], s0.s2[i][c] = a, b
		s0.gflat[pb.off+c] = float32(a)
		s0.gflat[pg.off+c] = float32(b)
		N := float32(n.batch * o.in.H * o.in.W)
		o.bnK[c] = o.l.Gamma[c] * o.invstd[c]
		o.bnMdy[c] = float32(a) / N
		o.bnMdyx[c] = float32(b) / N
	}
	for _, s := range n.shards[1:] {
		clear(s.gflat[pb.off : pb.off+o.in.C])
		clear(s.gflat[pg.off : pg.off+o.in.C])
	}
}

// bnBackApply computes dx = γ·invstd/N·(N·dy − Σdy − x̂·Σdy·x̂).
func (n *Net) bnBackApply(s *shard, i int, o *op, x []float32, cnt int) {
	C := o.in.C
	k, mdy, mdyx := o.bnK[:C], o.bnMdy[:C], o.bnMdyx[:C]
	dy := s.grad[i+1][:len(x)]
	dx := s.grad[i][:len(x)]
	mean, invstd := o.mean, o.invstd
	for r := 0; r+C <= len(x); r += C {
		xr, dr, or := x[r:r+C], dy[r:r+C], dx[r:r+C]
		for c, d := range dr {
			xh := (xr[c] - mean[c]) * invstd[c]
			or[c] = k[c] * (d - mdy[c] - xh*mdyx[c])
		}
	}
}

// lossShard computes the softmax cross-entropy of the shard's images and
// the logits gradient (mean over the whole batch).
func (n *Net) lossShard(s *shard) {
	s.loss, s.correct = 0, 0
	if s.n == 0 {
		return
	}
	C := n.ops[len(n.ops)-1].out.C
	last := len(n.ops)
	s.loss, s.correct = softmaxXent(s.act[last][:s.n*C], n.labels[s.first:s.first+s.n], C, n.scale, s.grad[last][:s.n*C])
}

// chunk returns shard s's share [lo, hi) of a range of length total.
func (n *Net) chunk(s *shard, total int) (int, int) {
	T := len(n.shards)
	return total * s.id / T, total * (s.id + 1) / T
}

// reduce sums every shard's parameter gradients into shard 0, each
// goroutine handling a slice of the parameter vector (fixed order).
func (n *Net) reduce(s *shard) {
	lo, hi := n.chunk(s, n.nparam)
	n.reduceRange(lo, hi)
}

// reduceRange sums the shards' gradients [lo, hi) into shard 0's.
func (n *Net) reduceRange(lo, hi int) {
	g0 := n.shards[0].gflat[lo:hi]
	for _, o := range n.shards[1:] {
		if o.n > 0 {
			vec.Add(g0, o.gflat[lo:hi])
		}
	}
}

// updateBlock is the span of the parameter vector that update reduces and
// then steps while it is in the L1 cache (16 KiB of gradients).
const updateBlock = 4096

// update reduces the gradients of shard s's slice of the parameters
// and applies the optimizer to it, block by block: one pass over the
// gradients, parameters and optimizer state. Frozen parameters are
// skipped.
func (n *Net) update(s *shard) {
	lo, hi := n.chunk(s, n.nparam)
	g := n.shards[0].gflat
	for pi := range n.params {
		p := &n.params[pi]
		if n.frozen != nil && n.frozen[pi] {
			continue
		}
		a, b := max(lo, p.off), min(hi, p.off+len(p.data))
		for ; a < b; a += updateBlock {
			e := min(b, a+updateBlock)
			n.reduceRange(a, e)
			n.opt.step(p.data[a-p.off:e-p.off], g[a:e], a, n.lr)
		}
	}
}
