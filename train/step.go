package train

import (
	"math"

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
	res := n.lossAndGrad(b, seed, true)
	if n.fq != nil {
		n.fqRestore()
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return res // no update: the caller stops on a non-finite loss
	}
	n.lr = lr
	n.opt.begin()
	n.run(job{kind: jobUpdate})
	return res
}

// lossAndGrad runs forward and loss and, if grad (and the loss is finite),
// backward and the gradient reduction into shard 0's gflat.
func (n *Net) lossAndGrad(b *Batch, seed uint64, grad bool) StepResult {
	cnt := len(b.Index)
	n.split(cnt)
	n.train = true
	n.rngSeed, n.rngEpoch, n.rngPos = seed, uint64(b.Epoch), b.Pos
	n.cur = b
	defer func() { n.cur = nil }()
	n.labels = b.Labels
	n.scale = 1 / float32(cnt)
	n.run(job{kind: jobInput})
	n.forward()
	n.run(job{kind: jobLoss})
	var res StepResult
	for _, s := range n.shards {
		res.Loss += s.loss
		res.Correct += s.correct
	}
	res.Loss /= float64(cnt)
	if !grad || math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return res
	}
	n.backward()
	n.run(job{kind: jobReduce})
	return res
}

// prepInput converts the shard's images to normalized floats, augmenting
// them if asked.
func (n *Net) prepInput(s *shard) {
	b := n.cur
	in := n.M.Input()
	size := in.Size()
	mean, inv := n.M.Norm.Mean, 1/n.M.Norm.Std
	for k := 0; k < s.n; k++ {
		if b.Set != nil {
			n.prepSetImage(s, k)
			continue
		}
		src := b.Pixels[b.Index[s.first+k]*size:][:size]
		dst := s.act[0][k*size : (k+1)*size]
		if b.Robust && in.C == 1 {
			n.robustInput(s, k, src, dst)
			continue
		}
		if b.Augment {
			r := NewRNG(n.rngSeed, streamAugment, n.rngEpoch, uint64(b.Pos+s.first+k))
			augment(src, in.H, in.W, in.C, &r, s.img)
			for j, v := range s.img {
				dst[j] = (v - mean) * inv
			}
			continue
		}
		for j, p := range src {
			dst[j] = (float32(p)*(1.0/255) - mean) * inv
		}
	}
}

// robustInput writes image k of shard s (8-bit src, one channel) into dst,
// normalized: with probability robustShare camera-robust augmented, else
// with the plain augmentation, from the image's own random stream.
func (n *Net) robustInput(s *shard, k int, src []uint8, dst []float32) {
	in := n.M.Input()
	mean, inv := n.M.Norm.Mean, 1/n.M.Norm.Std
	r := NewRNG(n.rngSeed, streamRobust, n.rngEpoch, uint64(n.cur.Pos+s.first+k))
	if r.Float32() < robustShare {
		robustAugment(src, in.H, in.W, &r, s.img, s.img2, n.cur.Display)
	} else {
		augment(src, in.H, in.W, in.C, &r, s.img)
	}
	for j, v := range s.img {
		dst[j] = (v - mean) * inv
	}
}

// prepSetImage prepares image k of shard s from the batch's data.Set:
// 8-bit images exactly as the Pixels path, float ink (photos) with the
// same arithmetic as camera/preprocess (data.Set.Input).
func (n *Net) prepSetImage(s *shard, k int) {
	b := n.cur
	in := n.M.Input()
	size := in.Size()
	dst := s.act[0][k*size : (k+1)*size]
	idx := b.Index[s.first+k]
	if b.Robust && in.C == 1 {
		// 8-bit images (MNIST, the negatives) as in the Pixels path.
		if pix, _ := b.Set.Image(idx); pix != nil {
			n.robustInput(s, k, pix, dst)
			return
		}
	}
	if !b.Augment {
		b.Set.Input(idx, n.M.Norm, dst)
		return
	}
	mean, inv := n.M.Norm.Mean, 1/n.M.Norm.Std
	r := NewRNG(n.rngSeed, streamAugment, n.rngEpoch, uint64(b.Pos+s.first+k))
	pix, ink := b.Set.Image(idx)
	if pix != nil {
		augment(pix, in.H, in.W, in.C, &r, s.img)
	} else {
		augmentInk(ink, in.H, in.W, in.C, &r, s.img)
	}
	for j, v := range s.img {
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
