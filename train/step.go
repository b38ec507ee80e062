package train

import (
	"math"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/data"
)

// Batch is one training batch: the images (uint8 pixels, H×W×C each,
// row-major), their labels, and where they sit in the epoch (for the
// per-image random streams of augmentation and dropout).
type Batch struct {
	Pixels []uint8 // the data set's pixels (all images)
	// Set, if not nil, holds the images instead of Pixels (8-bit or
	// float ink, see data.Set); Index indexes it.
	Set     *data.Set
	Index   []int   // images of this batch (indices into Pixels)
	Labels  []uint8 // labels of this batch, len(Index)
	Epoch   int
	Pos     int // position of the first image within the epoch order
	Augment bool
	// Robust gives half of the images the camera-robust augmentation
	// (robustAugment) and the others the plain one (one-channel images).
	Robust bool
	// Display adds display-like strokes to the robust augmentation.
	Display bool
	// Writers adds other hands (stronger slant, narrower or wider
	// digits) to the robust augmentation.
	Writers bool
	// Neighbors adds slivers of other digits of the batch at the edges of
	// some robust digit images.
	Neighbors bool
	// Breaks cuts short gaps across the strokes of some digit images
	// (penSkip), after their augmentation.
	Breaks bool
	// Input, if not nil, holds the batch's images already prepared
	// (normalized, augmented) by the trainer's data pipeline, len(Index)
	// images; Step then only copies them.
	Input []float32
}

// StepResult is the outcome of one training step.
type StepResult struct {
	Loss    float64 // mean cross-entropy of the batch
	Correct int     // correct predictions (before the update)
}

// SetOptimizer selects the optimizer ("adam" or "sgd"; momentum for sgd).
func (n *Net) SetOptimizer(name string, momentum float32) {
	if name == "sgd" {
		n.opt = &sgd{mom: momentum, buf: make([]float32, n.nparam)}
		return
	}
	n.opt = newAdam(n.nparam)
}

// Step runs forward, loss, backward and one optimizer update at learning
// rate lr on b. It allocates nothing.
func (n *Net) Step(b *Batch, seed uint64, lr float32) StepResult {
	if n.fq != nil {
		n.fqWeights()
	}
	res := n.forwardBackward(b, seed, true)
	if n.fq != nil {
		n.fqRestore()
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return res // no update: the caller stops on a non-finite loss
	}
	n.lr = lr
	n.opt.begin()
	n.run(job{kind: jobUpdate}) // reduces the gradients as it goes
	return res
}

// lossAndGrad runs forward and loss and, if grad (and the loss is finite),
// backward and the gradient reduction into shard 0's gflat.
func (n *Net) lossAndGrad(b *Batch, seed uint64, grad bool) StepResult {
	res := n.forwardBackward(b, seed, grad)
	if grad && !math.IsNaN(res.Loss) && !math.IsInf(res.Loss, 0) {
		n.run(job{kind: jobReduce})
	}
	return res
}

// forwardBackward runs forward and loss and, if grad (and the loss is
// finite), backward: every shard's gflat holds its images' gradients.
func (n *Net) forwardBackward(b *Batch, seed uint64, grad bool) StepResult {
	cnt := len(b.Index)
	n.split(cnt)
	n.train = true
	n.rngSeed, n.rngEpoch, n.rngPos = seed, uint64(b.Epoch), b.Pos
	n.cur = b
	defer func() { n.cur = nil }()
	n.labels = b.Labels
	n.scale = 1 / float32(cnt)
	if n.fusable() {
		return n.fusedForwardBackward(cnt, grad)
	}
	n.run(job{kind: jobInput})
	n.forward()
	n.run(job{kind: jobLoss})
	res := n.shardResult(cnt)
	if !grad || math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return res
	}
	n.backward()
	return res
}

// prepInput writes the shard's images, normalized (and augmented if
// asked), into its input activations: copied from the batch's Input when
// the data pipeline prepared them, else prepared here.
func (n *Net) prepInput(s *shard) {
	b := n.cur
	size := n.M.Input().Size()
	if b.Input != nil {
		copy(s.act[0][:s.n*size], b.Input[s.first*size:(s.first+s.n)*size])
		return
	}
	for k := 0; k < s.n; k++ {
		s.prep.image(b, n.rngSeed, s.first+k, s.act[0][k*size:(k+1)*size])
	}
}

// prep prepares input images (normalization, augmentation) with its own
// scratch buffers; every image draws from its own random stream, so the
// result does not depend on who prepares it.
type prep struct {
	m         *model.Model
	img, img2 []float32
}

func newPrep(m *model.Model) prep {
	size := m.Input().Size()
	return prep{m: m, img: make([]float32, size), img2: make([]float32, size)}
}

// batch writes all images of b into dst (len(b.Index) images).
func (p *prep) batch(b *Batch, seed uint64, dst []float32) {
	size := p.m.Input().Size()
	for k := range b.Index {
		p.image(b, seed, k, dst[k*size:(k+1)*size])
	}
}

// image writes image k of batch b into dst, normalized: from the data
// set's 8-bit pixels or its data.Set, augmented as the batch asks.
func (p *prep) image(b *Batch, seed uint64, k int, dst []float32) {
	if b.Set != nil {
		p.setImage(b, seed, k, dst)
		return
	}
	in := p.m.Input()
	mean, inv := p.m.Norm.Mean, 1/p.m.Norm.Std
	src := p.pixels(b, k)
	if b.Robust && in.C == 1 {
		p.robust(b, seed, k, src, dst)
		return
	}
	if b.Augment {
		r := NewRNG(seed, streamAugment, uint64(b.Epoch), uint64(b.Pos+k))
		augment(src, in.H, in.W, in.C, &r, p.img)
		p.breaks(b, seed, k)
		for j, v := range p.img {
			dst[j] = (v - mean) * inv
		}
		return
	}
	for j, px := range src {
		dst[j] = (float32(px)*(1.0/255) - mean) * inv
	}
}

// robust writes image k (8-bit src, one channel) into dst, normalized:
// with probability robustShare camera-robust augmented, else with the
// plain augmentation, from the image's own random stream.
func (p *prep) robust(b *Batch, seed uint64, k int, src []uint8, dst []float32) {
	in := p.m.Input()
	mean, inv := p.m.Norm.Mean, 1/p.m.Norm.Std
	r := NewRNG(seed, streamRobust, uint64(b.Epoch), uint64(b.Pos+k))
	if r.Float32() < robustShare {
		robustAugment(src, in.H, in.W, &r, p.img, p.img2, robustStyle{Display: b.Display, Writers: b.Writers})
		if b.Neighbors {
			p.neighbor(b, seed, k)
		}
	} else {
		augment(src, in.H, in.W, in.C, &r, p.img)
	}
	p.breaks(b, seed, k)
	for j, v := range p.img {
		dst[j] = (v - mean) * inv
	}
}

// pixels returns image k of batch b as 8-bit pixels: from the data set's
// Pixels, or from its data.Set (nil for a float-ink image there).
func (p *prep) pixels(b *Batch, k int) []uint8 {
	if b.Set != nil {
		pix, _ := b.Set.Image(b.Index[k])
		return pix
	}
	size := p.m.Input().Size()
	return b.Pixels[b.Index[k]*size:][:size]
}

// neighbor gives the robust copy of digit k in p.img, with probability
// robNeighbors, a sliver of another digit of the batch at its left or right
// edge, from the image's own stream (the other streams stay as they are).
// Non-digits (the reject class) and one-image batches get none.
func (p *prep) neighbor(b *Batch, seed uint64, k int) {
	n := len(b.Index)
	if n < 2 || len(b.Labels) != n || b.Labels[k] >= RejectClasses-1 {
		return
	}
	r := NewRNG(seed, streamNeighbors, uint64(b.Epoch), uint64(b.Pos+k))
	if r.Float32() >= robNeighbors {
		return
	}
	j := (k + 1 + r.Intn(n-1)) % n // not k
	if b.Labels[j] >= RejectClasses-1 {
		return
	}
	in := p.m.Input()
	nb := p.pixels(b, j)
	if nb == nil {
		return
	}
	left := r.Float32() < 0.5
	w := robSliverMin + r.Intn(robSliverRange)
	inset := r.Intn(robSliverInset)
	dy := r.Intn(2*robSliverShift+1) - robSliverShift
	addSliver(p.img, nb, in.H, in.W, left, w, inset, dy)
}

// breaks gives the augmented digit k in p.img its broken strokes
// (breakStrokes) from the image's own stream (the other streams stay as
// they are). Non-digits (the reject class) get none.
func (p *prep) breaks(b *Batch, seed uint64, k int) {
	in := p.m.Input()
	if !b.Breaks || in.C != 1 || len(b.Labels) != len(b.Index) || b.Labels[k] >= RejectClasses-1 {
		return
	}
	r := NewRNG(seed, streamBreaks, uint64(b.Epoch), uint64(b.Pos+k))
	breakStrokes(p.img, in.H, in.W, &r)
}

// setImage prepares image k from the batch's data.Set: 8-bit images
// exactly as the Pixels path, float ink (photos) with the same arithmetic
// as camera/preprocess (data.Set.Input).
func (p *prep) setImage(b *Batch, seed uint64, k int, dst []float32) {
	in := p.m.Input()
	idx := b.Index[k]
	if b.Robust && in.C == 1 {
		// 8-bit images (MNIST, the negatives) as in the Pixels path.
		if pix, _ := b.Set.Image(idx); pix != nil {
			p.robust(b, seed, k, pix, dst)
			return
		}
	}
	if !b.Augment {
		b.Set.Input(idx, p.m.Norm, dst)
		return
	}
	mean, inv := p.m.Norm.Mean, 1/p.m.Norm.Std
	r := NewRNG(seed, streamAugment, uint64(b.Epoch), uint64(b.Pos+k))
	pix, ink := b.Set.Image(idx)
	if pix != nil {
		augment(pix, in.H, in.W, in.C, &r, p.img)
	} else {
		augmentInk(ink, in.H, in.W, in.C, &r, p.img)
	}
	p.breaks(b, seed, k)
	for j, v := range p.img {
		dst[j] = (v - mean) * inv
	}
}

// Augmentation ranges (as the seed suggests).
const (
	augDegrees = 10
	augShift   = 2
)

// augment writes a randomly rotated (±10°) and shifted (±2 px) copy of the
// image src, scaled to [0, 1], into dst (bilinear sampling, zero outside).
func augment(src []uint8, H, W, C int, r *RNG, dst []float32) {
	theta := float64(r.Uniform(-augDegrees, augDegrees)) * math.Pi / 180
	tx := float64(r.Uniform(-augShift, augShift))
	ty := float64(r.Uniform(-augShift, augShift))
	warp(src, H, W, C, theta, tx, ty, dst)
}

// augmentInk is augment for float ink images (0..1).
func augmentInk(src []float32, H, W, C int, r *RNG, dst []float32) {
	theta := float64(r.Uniform(-augDegrees, augDegrees)) * math.Pi / 180
	tx := float64(r.Uniform(-augShift, augShift))
	ty := float64(r.Uniform(-augShift, augShift))
	warpF(func(i int) float32 { return src[i] }, H, W, C, theta, tx, ty, dst)
}

// warpF is warp over a pixel accessor returning values in [0, 1].
func warpF(at func(int) float32, H, W, C int, theta, tx, ty float64, dst []float32) {
	cx, cy := float64(W-1)/2, float64(H-1)/2
	cs, sn := math.Cos(theta), math.Sin(theta)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			dx, dy := float64(x)-cx-tx, float64(y)-cy-ty
			sx := cs*dx + sn*dy + cx
			sy := -sn*dx + cs*dy + cy
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := float32(sx-float64(x0)), float32(sy-float64(y0))
			for c := 0; c < C; c++ {
				px := func(yy, xx int) float32 {
					if yy < 0 || yy >= H || xx < 0 || xx >= W {
						return 0
					}
					return at((yy*W+xx)*C + c)
				}
				v := (1-fy)*((1-fx)*px(y0, x0)+fx*px(y0, x0+1)) + fy*((1-fx)*px(y0+1, x0)+fx*px(y0+1, x0+1))
				dst[(y*W+x)*C+c] = v
			}
		}
	}
}

// warp samples dst(x, y) = src(R⁻¹·((x, y) − c − t) + c) with bilinear
// interpolation, c the image centre, R the rotation by theta.
func warp(src []uint8, H, W, C int, theta, tx, ty float64, dst []float32) {
	cx, cy := float64(W-1)/2, float64(H-1)/2
	cs, sn := math.Cos(theta), math.Sin(theta)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			dx, dy := float64(x)-cx-tx, float64(y)-cy-ty
			sx := cs*dx + sn*dy + cx
			sy := -sn*dx + cs*dy + cy
			x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
			fx, fy := float32(sx-float64(x0)), float32(sy-float64(y0))
			for c := 0; c < C; c++ {
				px := func(yy, xx int) float32 {
					if yy < 0 || yy >= H || xx < 0 || xx >= W {
						return 0
					}
					return float32(src[(yy*W+xx)*C+c]) * (1.0 / 255)
				}
				v := (1-fy)*((1-fx)*px(y0, x0)+fx*px(y0, x0+1)) + fy*((1-fx)*px(y0+1, x0)+fx*px(y0+1, x0+1))
				dst[(y*W+x)*C+c] = v
			}
		}
	}
}

// fusable reports whether a training step can run forward, loss and
// backward as one job per shard (jobStep): no BatchNorm in training mode
// (its statistics span the shards) and no fake quantization. Dense
// weights that a product reads packed are packed before (jobPack).
func (n *Net) fusable() bool {
	if n.fq != nil {
		return false
	}
	for i := n.firstTrain; i < len(n.ops); i++ {
		if n.ops[i].kind == opBN {
			return false
		}
	}
	return true
}

// fusedForwardBackward is forwardBackward for fusable nets: every shard
// runs its input, forward, loss and (if grad) backward in one job, the
// same ops in the same order as forward and backward run them phase by
// phase, so the results are bit-identical, with two thread handoffs
// instead of two per op. Backward runs even when the loss is not finite;
// its gradients are then never used (no update, no reduction).
func (n *Net) fusedForwardBackward(cnt int, grad bool) StepResult {
	if n.needPack() {
		n.run(job{kind: jobPack})
	}
	n.fusedGrad = grad
	n.run(job{kind: jobStep})
	return n.shardResult(cnt)
}

// shardResult sums the shards' losses and correct answers of a step
// over cnt images (the loss as their mean).
func (n *Net) shardResult(cnt int) StepResult {
	var res StepResult
	for _, s := range n.shards {
		res.Loss += s.loss
		res.Correct += s.correct
	}
	res.Loss /= float64(cnt)
	return res
}

// stepShard is shard s's part of a fused step (fusedForwardBackward):
// forward and backward walk the ops as forward and backward do.
func (n *Net) stepShard(s *shard) {
	n.prepInput(s)
	if s.n > 0 {
		for i := 0; i < len(n.ops); i++ { // not range: a pair skips its pooling op
			switch {
			case n.ops[i].kind == opFlatten:
			case n.ops[i].pair:
				n.forwardPair(s, i)
				i++
			default:
				n.forwardShard(s, i)
			}
		}
	}
	n.lossShard(s)
	if !n.fusedGrad || s.n == 0 {
		return
	}
	for i := len(n.ops) - 1; i >= n.firstTrain; i-- {
		switch {
		case n.ops[i].kind == opFlatten:
		case i > n.firstTrain && n.ops[i-1].pair:
			n.backwardPair(s, i-1)
			i--
		default:
			n.backwardShard(s, i)
		}
	}
}
