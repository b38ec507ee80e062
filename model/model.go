// Package model describes edgecnn's network: the architecture, the float
// layers with their weights, the normalization constants, a naive reference
// forward pass, the checkpoint file format, and the quantization-ready graph
// IR (see graph.go) that the exporters and runtimes share.
//
// Layout conventions (used everywhere in edgecnn):
//   - activations are NHWC, one image is H×W×C float32, row-major;
//   - Conv2D weights are OHWI: [out][kh][kw][in];
//   - Dense weights are [out][in], where "in" follows the NHWC flatten order
//     of the previous layer (the ONNX exporter permutes to NCHW order).
package model

import (
	"errors"
	"fmt"
	"math"
)

// Arch is the architecture of the seed CNN family. The seed model is
// conv3x3(1→W) ReLU maxpool2 → conv3x3(W→2W) ReLU maxpool2 → dense(→Hidden)
// ReLU → dense(→Classes), with W=32, Hidden=128, Classes=10.
type Arch struct {
	InputH    int     `json:"input_h"`
	InputW    int     `json:"input_w"`
	InputC    int     `json:"input_c"`
	Width     int     `json:"width"`      // channels of conv1; conv2 has 2×Width
	Hidden    int     `json:"hidden"`     // units of the first dense layer
	Classes   int     `json:"classes"`    // units of the output layer
	BatchNorm bool    `json:"batch_norm"` // BatchNorm after each conv (before ReLU)
	Dropout   float32 `json:"dropout"`    // dropout rate before the last dense layer (training only)
}

// SeedArch returns the architecture of the seed tutorial.
func SeedArch() Arch {
	return Arch{InputH: 28, InputW: 28, InputC: 1, Width: 32, Hidden: 128, Classes: 10}
}

// Validate reports whether the architecture can be built.
func (a Arch) Validate() error {
	switch {
	case a.InputH < 4 || a.InputW < 4 || a.InputC < 1:
		return fmt.Errorf("model: input %dx%dx%d too small (need at least 4x4x1)", a.InputH, a.InputW, a.InputC)
	case a.InputH > 4096 || a.InputW > 4096 || a.InputC > 64:
		return fmt.Errorf("model: input %dx%dx%d too large", a.InputH, a.InputW, a.InputC)
	case a.Width < 1 || a.Width > 1024:
		return fmt.Errorf("model: width %d out of range [1, 1024]", a.Width)
	case a.Hidden < 1 || a.Hidden > 65536:
		return fmt.Errorf("model: hidden %d out of range [1, 65536]", a.Hidden)
	case a.Classes < 2 || a.Classes > 65536:
		return fmt.Errorf("model: classes %d out of range [2, 65536]", a.Classes)
	case !(a.Dropout >= 0 && a.Dropout < 1):
		return fmt.Errorf("model: dropout %v out of range [0, 1)", a.Dropout)
	}
	return nil
}

// paramFloats counts the float values New allocates for parameters and
// BatchNorm statistics, without allocating (int64: safe for huge archs).
func (a Arch) paramFloats() int64 {
	c1, c2 := int64(a.Width), int64(2*a.Width)
	n := c1*9*int64(a.InputC) + c1 + c2*9*c1 + c2
	if a.BatchNorm {
		n += 4 * (c1 + c2)
	}
	flat := int64(a.InputH/4) * int64(a.InputW/4) * c2
	n += int64(a.Hidden)*flat + int64(a.Hidden) + int64(a.Classes)*int64(a.Hidden) + int64(a.Classes)
	return n
}

// Normalization maps a pixel p in [0,1] to (p-Mean)/Std, as in training.
type Normalization struct {
	Mean float32 `json:"mean"`
	Std  float32 `json:"std"`
}

// Pixels writes the normalized input of 8-bit pixels pix (0 black … 255
// white) to dst: (p/255 − Mean) / Std, as the trainer and edgecnn eval
// compute it.
func (n Normalization) Pixels(dst []float32, pix []uint8) {
	for i, p := range pix {
		dst[i] = (float32(p)*(1.0/255) - n.Mean) / n.Std
	}
}

// MNISTNorm is the seed's normalization (0.1307, 0.3081).
var MNISTNorm = Normalization{Mean: 0.1307, Std: 0.3081}

// LayerKind names a layer type.
type LayerKind string

// Layer kinds of the float network.
const (
	KindConv2D    LayerKind = "conv2d"
	KindBatchNorm LayerKind = "batchnorm"
	KindReLU      LayerKind = "relu"
	KindMaxPool   LayerKind = "maxpool"
	KindFlatten   LayerKind = "flatten"
	KindDense     LayerKind = "dense"
	KindDropout   LayerKind = "dropout"
)

// Shape is the per-image shape of an activation in NHWC order.
type Shape struct{ H, W, C int }

// Size is H×W×C.
func (s Shape) Size() int { return s.H * s.W * s.C }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.H, s.W, s.C) }

// Layer is one float layer with its parameters. Which fields are used
// depends on Kind; see the package doc for weight layouts.
type Layer struct {
	Kind LayerKind
	Name string
	In   Shape
	Out  Shape

	Kernel, Stride, Pad int // Conv2D and MaxPool

	Weight []float32 // Conv2D OHWI, Dense [out][in]
	Bias   []float32 // Conv2D, Dense: [out]

	// BatchNorm (per channel, inference statistics).
	Gamma, Beta, RunMean, RunVar []float32
	Eps                          float32

	Rate float32 // Dropout
}

// Model is a float network built from an Arch.
type Model struct {
	Arch   Arch
	Norm   Normalization
	Labels []string
	Layers []Layer
	// RejectThreshold, when above 0, is the confidence below which a
	// recognizer answers "no digit" (chosen on validation data by the
	// trainer; see MetaRejectThreshold).
	RejectThreshold float32
}

// New builds a model with zeroed parameters (BatchNorm gamma and running
// variance 1). Shapes are derived from the architecture.
func New(a Arch) (*Model, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Arch: a, Norm: MNISTNorm}
	for i := 0; i < a.Classes; i++ {
		m.Labels = append(m.Labels, fmt.Sprint(i))
	}
	s := Shape{a.InputH, a.InputW, a.InputC}
	conv := func(name string, out int) {
		l := Layer{Kind: KindConv2D, Name: name, In: s, Kernel: 3, Stride: 1, Pad: 1}
		l.Out = Shape{s.H, s.W, out}
		l.Weight = make([]float32, out*3*3*s.C)
		l.Bias = make([]float32, out)
		m.Layers = append(m.Layers, l)
		s = l.Out
		if a.BatchNorm {
			bn := Layer{Kind: KindBatchNorm, Name: name + "_bn", In: s, Out: s, Eps: 1e-5,
				Gamma: fill(out, 1), Beta: make([]float32, out), RunMean: make([]float32, out), RunVar: fill(out, 1)}
			m.Layers = append(m.Layers, bn)
		}
		m.Layers = append(m.Layers, Layer{Kind: KindReLU, Name: name + "_relu", In: s, Out: s})
		p := Layer{Kind: KindMaxPool, Name: name + "_pool", In: s, Kernel: 2, Stride: 2}
		p.Out = Shape{s.H / 2, s.W / 2, s.C}
		m.Layers = append(m.Layers, p)
		s = p.Out
	}
	conv("conv1", a.Width)
	conv("conv2", 2*a.Width)
	flat := Shape{1, 1, s.Size()}
	m.Layers = append(m.Layers, Layer{Kind: KindFlatten, Name: "flatten", In: s, Out: flat})
	s = flat
	dense := func(name string, out int) {
		l := Layer{Kind: KindDense, Name: name, In: s, Out: Shape{1, 1, out}}
		l.Weight = make([]float32, out*s.C)
		l.Bias = make([]float32, out)
		m.Layers = append(m.Layers, l)
		s = l.Out
	}
	dense("fc1", a.Hidden)
	m.Layers = append(m.Layers, Layer{Kind: KindReLU, Name: "fc1_relu", In: s, Out: s})
	if a.Dropout > 0 {
		m.Layers = append(m.Layers, Layer{Kind: KindDropout, Name: "dropout", In: s, Out: s, Rate: a.Dropout})
	}
	dense("fc2", a.Classes)
	return m, nil
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// Input is the per-image input shape.
func (m *Model) Input() Shape { return Shape{m.Arch.InputH, m.Arch.InputW, m.Arch.InputC} }

// Layer returns the layer with the given name, or nil.
func (m *Model) Layer(name string) *Layer {
	for i := range m.Layers {
		if m.Layers[i].Name == name {
			return &m.Layers[i]
		}
	}
	return nil
}

// Param is a named parameter tensor of the model (a view, not a copy).
type Param struct {
	Name  string
	Shape []int
	Data  []float32
}

// Params lists every parameter and BatchNorm statistic in a fixed order,
// with names like "conv1.weight", "conv1_bn.running_var".
func (m *Model) Params() []Param {
	var ps []Param
	for i := range m.Layers {
		l := &m.Layers[i]
		switch l.Kind {
		case KindConv2D:
			ps = append(ps, Param{l.Name + ".weight", []int{l.Out.C, l.Kernel, l.Kernel, l.In.C}, l.Weight},
				Param{l.Name + ".bias", []int{l.Out.C}, l.Bias})
		case KindDense:
			ps = append(ps, Param{l.Name + ".weight", []int{l.Out.C, l.In.C}, l.Weight},
				Param{l.Name + ".bias", []int{l.Out.C}, l.Bias})
		case KindBatchNorm:
			ps = append(ps, Param{l.Name + ".weight", []int{l.Out.C}, l.Gamma},
				Param{l.Name + ".bias", []int{l.Out.C}, l.Beta},
				Param{l.Name + ".running_mean", []int{l.Out.C}, l.RunMean},
				Param{l.Name + ".running_var", []int{l.Out.C}, l.RunVar})
		}
	}
	return ps
}

// NumParams counts trainable parameters (BatchNorm running statistics excluded).
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.Params() {
		if len(p.Name) > 12 && p.Name[len(p.Name)-12:] == "running_mean" || len(p.Name) > 11 && p.Name[len(p.Name)-11:] == "running_var" {
			continue
		}
		n += len(p.Data)
	}
	return n
}

// MACs is the number of multiply-accumulates for one inference.
func (m *Model) MACs() int {
	n := 0
	for _, l := range m.Layers {
		switch l.Kind {
		case KindConv2D:
			n += l.Out.Size() * l.Kernel * l.Kernel * l.In.C
		case KindDense:
			n += l.Out.C * l.In.C
		}
	}
	return n
}

// CheckFinite returns an error naming the first parameter holding NaN or Inf.
func (m *Model) CheckFinite() error {
	for _, p := range m.Params() {
		for i, v := range p.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("model: parameter %s[%d] is %v", p.Name, i, v)
			}
		}
	}
	return nil
}

// ErrShape is returned (wrapped) when an input has the wrong size.
var ErrShape = errors.New("wrong input shape")

// Forward is the naive float reference forward pass for one image in NHWC
// (already normalized). It returns the logits. It is slow and simple on
// purpose: fast paths in train and runtime are tested against it.
func (m *Model) Forward(x []float32) ([]float32, error) {
	if len(x) != m.Input().Size() {
		return nil, fmt.Errorf("model: forward: %w: got %d values, want %d (%v)", ErrShape, len(x), m.Input().Size(), m.Input())
	}
	cur := append([]float32(nil), x...)
	for i := range m.Layers {
		l := &m.Layers[i]
		out := make([]float32, l.Out.Size())
		switch l.Kind {
		case KindConv2D:
			ConvRef(cur, l.In, l.Weight, l.Bias, l.Kernel, l.Stride, l.Pad, out, l.Out)
		case KindBatchNorm:
			for j := range cur {
				c := j % l.In.C
				out[j] = (cur[j]-l.RunMean[c])/float32(math.Sqrt(float64(l.RunVar[c]+l.Eps)))*l.Gamma[c] + l.Beta[c]
			}
		case KindReLU:
			for j, v := range cur {
				out[j] = max(v, 0)
			}
		case KindMaxPool:
			MaxPoolRef(cur, l.In, l.Kernel, l.Stride, out, l.Out)
		case KindFlatten, KindDropout:
			copy(out, cur)
		case KindDense:
			for o := 0; o < l.Out.C; o++ {
				acc := l.Bias[o]
				w := l.Weight[o*l.In.C : (o+1)*l.In.C]
				for k, v := range cur {
					acc += w[k] * v
				}
				out[o] = acc
			}
		default:
			return nil, fmt.Errorf("model: forward: unknown layer kind %q", l.Kind)
		}
		cur = out
	}
	return cur, nil
}

// ConvRef is a naive NHWC convolution with OHWI weights and zero padding.
func ConvRef(x []float32, in Shape, w, b []float32, k, stride, pad int, out []float32, os Shape) {
	for oy := 0; oy < os.H; oy++ {
		for ox := 0; ox < os.W; ox++ {
			for oc := 0; oc < os.C; oc++ {
				acc := b[oc]
				for ky := 0; ky < k; ky++ {
					iy := oy*stride - pad + ky
					if iy < 0 || iy >= in.H {
						continue
					}
					for kx := 0; kx < k; kx++ {
						ix := ox*stride - pad + kx
						if ix < 0 || ix >= in.W {
							continue
						}
						xi := (iy*in.W + ix) * in.C
						wi := ((oc*k+ky)*k + kx) * in.C
						for ic := 0; ic < in.C; ic++ {
							acc += w[wi+ic] * x[xi+ic]
						}
					}
				}
				out[(oy*os.W+ox)*os.C+oc] = acc
			}
		}
	}
}

// MaxPoolRef is a naive NHWC max pooling (no padding).
func MaxPoolRef(x []float32, in Shape, k, stride int, out []float32, os Shape) {
	for oy := 0; oy < os.H; oy++ {
		for ox := 0; ox < os.W; ox++ {
			for c := 0; c < os.C; c++ {
				best := float32(math.Inf(-1))
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						iy, ix := oy*stride+ky, ox*stride+kx
						if iy < in.H && ix < in.W {
							best = max(best, x[(iy*in.W+ix)*in.C+c])
						}
					}
				}
				out[(oy*os.W+ox)*os.C+c] = best
			}
		}
	}
}
