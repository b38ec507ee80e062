package train

import (
	"errors"
	"fmt"
	"math"
)

// QuantParams is the int8 quantization of one activation tensor, TFLite's
// asymmetric per-tensor scheme: q = clamp(round(x/Scale)+ZeroPoint, −128,
// 127), x̂ = (q−ZeroPoint)·Scale.
type QuantParams struct {
	Scale     float32
	ZeroPoint int32
}

// FakeQuant makes a Net's training steps quantization-aware: the forward
// pass sees the values the int8 model computes with (fake quantization),
// and the backward pass uses the straight-through estimator.
//
//   - Weights of every convolution and dense layer are rounded to symmetric
//     int8 ([-127, 127], scale max|w|/127) per output channel for
//     convolutions and per tensor for dense layers (unless PerChannelDense).
//     Before each step's forward pass the float weights are replaced by
//     their fake-quantized values, and restored before the optimizer update,
//     which therefore applies the gradient taken at the quantized weights to
//     the float weights (the scale is the largest |w|, so nothing is clipped
//     and the STE mask is all ones).
//   - Activations named in Act are fake-quantized after the layer's ReLU and
//     max pooling (max pooling commutes with the monotone fake quantization,
//     so this equals pooling the quantized conv output as the int8 graph
//     does). Their gradient passes where round(x/Scale)+ZeroPoint lies in
//     [-128, 127] and is zero outside.
//   - Input, when set, fake-quantizes the normalized input images.
//
// Biases stay float (int32 in the int8 model, far finer than int8). The
// model must not contain BatchNorm: fold it into the convolutions first, as
// the int8 graph does.
type FakeQuant struct {
	Input *QuantParams
	// Act maps the name of a convolution or dense layer to the quantization
	// of its output activation.
	Act             map[string]QuantParams
	PerChannelDense bool
	// noRound skips rounding (clamp only, float weights): a differentiable
	// surrogate whose exact gradient is the STE gradient, for tests.
	noRound bool
}

// fqState is a Net's quantization-aware training state.
type fqState struct {
	cfg    FakeQuant
	act    []*QuantParams // per op: fake-quantize its output
	input  *QuantParams
	master [][]float32 // float copies of the weights, per param (nil: not a weight)
	perCh  []bool      // per param: per-channel scales
	rows   []int       // per param: output channels
}

// SetFakeQuant turns quantization-aware training on for the following
// Step calls (nil turns it off). ForwardBatch and Predict are unaffected.
func (n *Net) SetFakeQuant(fq *FakeQuant) error {
	if fq == nil {
		n.fq = nil
		for _, s := range n.shards {
			s.fqMask = nil
		}
		return nil
	}
	st := &fqState{cfg: *fq, act: make([]*QuantParams, len(n.ops)), input: fq.Input,
		master: make([][]float32, len(n.params)), perCh: make([]bool, len(n.params)), rows: make([]int, len(n.params))}
	check := func(what string, q QuantParams) error {
		if !(q.Scale > 0) || math.IsInf(float64(q.Scale), 0) || q.ZeroPoint < -128 || q.ZeroPoint > 127 {
			return fmt.Errorf("train: fake quantization of %s: scale %v, zero point %d (need scale > 0, zero point in [-128, 127])", what, q.Scale, q.ZeroPoint)
		}
		return nil
	}
	if fq.Input != nil {
		if err := check("the input", *fq.Input); err != nil {
			return err
		}
		q := *fq.Input
		st.input = &q
	}
	used := 0
	for i := range n.ops {
		o := &n.ops[i]
		switch o.kind {
		case opBN:
			return errors.New("train: fake quantization needs a model without BatchNorm (fold it into the convolutions first)")
		case opConv, opDense:
			pw := o.pw
			st.master[pw] = make([]float32, len(n.params[pw].data))
			st.perCh[pw] = o.kind == opConv || fq.PerChannelDense
			st.rows[pw] = o.out.C
			q, ok := fq.Act[o.l.Name]
			if !ok {
				continue
			}
			if err := check(o.l.Name, q); err != nil {
				return err
			}
			used++
			// The quantization point is after the layer's ReLU and pooling.
			j := i
			for j+1 < len(n.ops) && (n.ops[j+1].kind == opReLU || n.ops[j+1].kind == opPool) {
				j++
			}
			st.act[j] = &q
		}
	}
	if used != len(fq.Act) {
		return fmt.Errorf("train: fake quantization names %d activations, the model has %d of them among its conv/dense layers", len(fq.Act), used)
	}
	for _, s := range n.shards {
		s.fqMask = make([][]uint8, len(n.ops))
		for i, q := range st.act {
			if q != nil {
				s.fqMask[i] = make([]uint8, n.perShard*n.ops[i].out.Size())
			}
		}
	}
	n.fq = st
	return nil
}

// fqWeights saves the float weights and replaces them by their fake
// quantization.
func (n *Net) fqWeights() {
	for pi, m := range n.fq.master {
		if m == nil {
			continue
		}
		w := n.params[pi].data
		copy(m, w)
		if n.fq.cfg.noRound {
			continue
		}
		FakeQuantWeights(w, n.fq.rows[pi], n.fq.perCh[pi])
	}
}

// fqRestore puts the float weights back.
func (n *Net) fqRestore() {
	for pi, m := range n.fq.master {
		if m != nil {
			copy(n.params[pi].data, m)
		}
	}
}

// FakeQuantWeights rounds w (rows output channels of equal length) in place
// to symmetric int8 with scale max|w|/127, per row or for the whole tensor.
// An all-zero row stays zero.
func FakeQuantWeights(w []float32, rows int, perRow bool) {
	if rows < 1 || len(w)%rows != 0 {
		return
	}
	per := len(w) / rows
	if !perRow {
		per, rows = len(w), 1
	}
	for r := 0; r < rows; r++ {
		row := w[r*per : (r+1)*per]
		var m float64
		for _, v := range row {
			m = math.Max(m, math.Abs(float64(v)))
		}
		if m == 0 {
			continue
		}
		s := float32(m / 127)
		for k, v := range row {
			q := math.Round(float64(v / s))
			row[k] = float32(max(-127, min(127, q))) * s
		}
	}
}

// fakeQuantAct fake-quantizes x in place and records the STE mask (1: the
// value was inside the int8 range).
func fakeQuantAct(x []float32, q *QuantParams, mask []uint8, noRound bool) {
	s, zp := q.Scale, float32(q.ZeroPoint)
	inv := 1 / s
	lo, hi := (-128-zp)*s, (127-zp)*s
	for k, v := range x {
		if noRound {
			switch {
			case v < lo:
				x[k], mask[k] = lo, 0
			case v > hi:
				x[k], mask[k] = hi, 0
			default:
				mask[k] = 1
			}
			continue
		}
		r := float32(math.Round(float64(v*inv))) + zp
		switch {
		case r < -128:
			x[k], mask[k] = lo, 0
		case r > 127:
			x[k], mask[k] = hi, 0
		default:
			x[k], mask[k] = (r-zp)*s, 1
		}
	}
}

// fqForward fake-quantizes the output y of op i on shard s (training only).
func (n *Net) fqForward(s *shard, i int, y []float32) {
	if q := n.fq.act[i]; q != nil {
		fakeQuantAct(y, q, s.fqMask[i][:len(y)], n.fq.cfg.noRound)
	}
}

// fqBackward zeroes the output gradient dy of op i where its forward value
// was clipped.
func (n *Net) fqBackward(s *shard, i int, dy []float32) {
	if n.fq.act[i] == nil {
		return
	}
	mask := s.fqMask[i][:len(dy)]
	for k, m := range mask {
		if m == 0 {
			dy[k] = 0
		}
	}
}

// fqInput fake-quantizes the shard's input images.
func (n *Net) fqInput(s *shard) {
	q := n.fq.input
	if q == nil || s.n == 0 {
		return
	}
	x := s.act[0][:s.n*n.M.Input().Size()]
	s.fqInMask = growU8(s.fqInMask, len(x))
	fakeQuantAct(x, q, s.fqInMask, n.fq.cfg.noRound)
}

func growU8(b []uint8, n int) []uint8 {
	if cap(b) < n {
		return make([]uint8, n)
	}
	return b[:n]
}
