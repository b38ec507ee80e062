package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// GraphOptions tune FloatGraphWith.
type GraphOptions struct {
	// Softmax appends a SOFTMAX op (beta 1) so that the graph outputs
	// probabilities. The default (false) outputs logits, which compare
	// directly with Model.Forward; argmax is the same either way.
	Softmax bool
	// StaticBatch fixes the batch dimension to 1 (Graph.DynamicBatch=false),
	// as the Edge TPU compiler requires. By default the batch is dynamic.
	StaticBatch bool
}

// Metadata keys stored in every exported graph (Graph.Metadata).
const (
	MetaNormMean = "edgecnn.norm_mean" // float, e.g. "0.1307"
	MetaNormStd  = "edgecnn.norm_std"  // float, e.g. "0.3081"
	MetaLabels   = "edgecnn.labels"    // comma separated class labels
	MetaVersion  = "edgecnn.version"   // edgecnn version that exported the file
	MetaArch     = "edgecnn.arch"      // JSON of Arch
	MetaOutput   = "edgecnn.output"    // "logits" or "softmax"
	// MetaDataSources records what the model was taught: JSON list of
	// {"path","kind","images","sha256"} from the checkpoint's data sources
	// (see DataSourcesMetadata); absent when the checkpoint has none.
	MetaDataSources = "edgecnn.data_sources"
)

// FloatGraph builds the float32 inference graph of m with default options:
// logits out, dynamic batch. See FloatGraphWith.
func FloatGraph(m *Model) (*Graph, error) { return FloatGraphWith(m, GraphOptions{}) }

// FloatGraphWith builds the float32 inference graph of m:
//
//	input [1,H,W,C] float32 (already normalized, NHWC)
//	CONV_2D (+ReLU fused) → MAX_POOL_2D → CONV_2D (+ReLU) → MAX_POOL_2D
//	→ RESHAPE [-1, H'·W'·C'] → FULLY_CONNECTED (+ReLU) → FULLY_CONNECTED
//	→ logits [1,Classes] (or SOFTMAX → probabilities when opt.Softmax)
//
// BatchNorm layers are folded into the preceding convolution. With
// a_c = γ_c / sqrt(σ²_c + ε), BN(conv(x)+b)_c = a_c·(conv(x)+b_c − μ_c) + β_c,
// so the folded weights are w'_c = a_c·w_c and the bias b'_c = a_c·(b_c − μ_c) + β_c
// (computed in float64, rounded once to float32). A ReLU directly after a
// convolution, its BatchNorm or a dense layer becomes the op's fused
// activation. Dropout is the identity at inference and is dropped.
//
// The RESHAPE shape constant is [-1, N] (TFLite semantics: -1 is inferred),
// so the same graph runs at any batch size. Convolutions with padding
// (k−1)/2 and stride 1 become Padding SAME, unpadded ones VALID; pooling is
// VALID. Anything else is reported as an error.
func FloatGraphWith(m *Model, opt GraphOptions) (*Graph, error) {
	if m == nil {
		return nil, fmt.Errorf("model: float graph: nil model")
	}
	if err := m.CheckFinite(); err != nil {
		return nil, fmt.Errorf("model: float graph: %w", err)
	}
	g := &Graph{DynamicBatch: !opt.StaticBatch, Metadata: GraphMetadata(m)}
	out := "logits"
	if opt.Softmax {
		out = "softmax"
	}
	g.Metadata[MetaOutput] = out
	add := func(t Tensor) int { g.Tensors = append(g.Tensors, t); return len(g.Tensors) - 1 }
	in := m.Input()
	cur := add(Tensor{Name: "input", Type: Float32, Shape: []int{1, in.H, in.W, in.C}})
	g.Inputs = []int{cur}
	curShape := in

	layers := m.Layers
	for i := 0; i < len(layers); i++ {
		l := &layers[i]
		if l.In != curShape {
			return nil, fmt.Errorf("model: float graph: layer %q expects input %v, previous layer gives %v", l.Name, l.In, curShape)
		}
		switch l.Kind {
		case KindConv2D:
			pad, err := convPadding(l)
			if err != nil {
				return nil, err
			}
			w := append([]float32(nil), l.Weight...)
			b := append([]float32(nil), l.Bias...)
			if len(w) != l.Out.C*l.Kernel*l.Kernel*l.In.C || len(b) != l.Out.C {
				return nil, fmt.Errorf("model: float graph: layer %q has %d weights and %d biases, want %d and %d", l.Name, len(w), len(b), l.Out.C*l.Kernel*l.Kernel*l.In.C, l.Out.C)
			}
			if i+1 < len(layers) && layers[i+1].Kind == KindBatchNorm {
				i++
				if err := foldBatchNorm(&layers[i], w, b); err != nil {
					return nil, err
				}
			}
			act := ActNone
			if i+1 < len(layers) && layers[i+1].Kind == KindReLU {
				i++
				act = ActReLU
			}
			wi := add(Tensor{Name: l.Name + "/weights", Type: Float32, Shape: []int{l.Out.C, l.Kernel, l.Kernel, l.In.C}, Data: F32Bytes(w)})
			bi := add(Tensor{Name: l.Name + "/bias", Type: Float32, Shape: []int{l.Out.C}, Data: F32Bytes(b)})
			oi := add(Tensor{Name: l.Name + "/out", Type: Float32, Shape: []int{1, l.Out.H, l.Out.W, l.Out.C}})
			g.Ops = append(g.Ops, Op{Code: OpConv2D, Inputs: []int{cur, wi, bi}, Outputs: []int{oi},
				StrideH: l.Stride, StrideW: l.Stride, Padding: pad, Activation: act})
			cur, curShape = oi, l.Out
		case KindMaxPool:
			if l.Kernel < 1 || l.Stride < 1 || l.Pad != 0 || l.In.H < l.Kernel || l.In.W < l.Kernel ||
				l.Out.H != (l.In.H-l.Kernel)/l.Stride+1 || l.Out.W != (l.In.W-l.Kernel)/l.Stride+1 || l.Out.C != l.In.C {
				return nil, fmt.Errorf("model: float graph: max pool %q (kernel %d, stride %d, pad %d, %v→%v) is not a VALID pooling", l.Name, l.Kernel, l.Stride, l.Pad, l.In, l.Out)
			}
			oi := add(Tensor{Name: l.Name + "/out", Type: Float32, Shape: []int{1, l.Out.H, l.Out.W, l.Out.C}})
			g.Ops = append(g.Ops, Op{Code: OpMaxPool2D, Inputs: []int{cur}, Outputs: []int{oi},
				FilterH: l.Kernel, FilterW: l.Kernel, StrideH: l.Stride, StrideW: l.Stride, Padding: PadValid})
			cur, curShape = oi, l.Out
		case KindFlatten:
			n := l.In.Size()
			if l.Out != (Shape{1, 1, n}) {
				return nil, fmt.Errorf("model: float graph: flatten %q: output %v, want 1x1x%d", l.Name, l.Out, n)
			}
			si := add(Tensor{Name: l.Name + "/shape", Type: Int32, Shape: []int{2}, Data: I32Bytes([]int32{-1, int32(n)})})
			oi := add(Tensor{Name: l.Name + "/out", Type: Float32, Shape: []int{1, n}})
			g.Ops = append(g.Ops, Op{Code: OpReshape, Inputs: []int{cur, si}, Outputs: []int{oi}, NewShape: []int{-1, n}})
			cur, curShape = oi, l.Out
		case KindDense:
			if curShape.H != 1 || curShape.W != 1 {
				return nil, fmt.Errorf("model: float graph: dense %q needs a flattened input, got %v", l.Name, curShape)
			}
			if len(l.Weight) != l.Out.C*l.In.C || len(l.Bias) != l.Out.C {
				return nil, fmt.Errorf("model: float graph: dense %q has %d weights and %d biases, want %d and %d", l.Name, len(l.Weight), len(l.Bias), l.Out.C*l.In.C, l.Out.C)
			}
			act := ActNone
			if i+1 < len(layers) && layers[i+1].Kind == KindReLU {
				i++
				act = ActReLU
			}
			wi := add(Tensor{Name: l.Name + "/weights", Type: Float32, Shape: []int{l.Out.C, l.In.C}, Data: F32Bytes(l.Weight)})
			bi := add(Tensor{Name: l.Name + "/bias", Type: Float32, Shape: []int{l.Out.C}, Data: F32Bytes(l.Bias)})
			oi := add(Tensor{Name: l.Name + "/out", Type: Float32, Shape: []int{1, l.Out.C}})
			g.Ops = append(g.Ops, Op{Code: OpFullyConnected, Inputs: []int{cur, wi, bi}, Outputs: []int{oi}, Activation: act})
			cur, curShape = oi, l.Out
		case KindDropout:
			// identity at inference
		case KindBatchNorm:
			return nil, fmt.Errorf("model: float graph: batch norm %q does not follow a convolution; only conv+BN folding is supported", l.Name)
		case KindReLU:
			return nil, fmt.Errorf("model: float graph: ReLU %q does not follow a convolution or dense layer; standalone ReLU is not supported", l.Name)
		default:
			return nil, fmt.Errorf("model: float graph: unsupported layer kind %q (%s)", l.Kind, l.Name)
		}
	}
	if len(g.Ops) == 0 {
		return nil, fmt.Errorf("model: float graph: model has no layers")
	}
	g.Tensors[cur].Name = "logits"
	if opt.Softmax {
		oi := add(Tensor{Name: "softmax", Type: Float32, Shape: append([]int(nil), g.Tensors[cur].Shape...)})
		g.Ops = append(g.Ops, Op{Code: OpSoftmax, Inputs: []int{cur}, Outputs: []int{oi}, Beta: 1})
		cur = oi
	}
	g.Outputs = []int{cur}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("model: float graph: %w", err)
	}
	return g, nil
}

// GraphMetadata returns the metadata every exported graph of m carries:
// normalization, labels, architecture and, when the model has one, the
// reject threshold (edgecnn.version is added by the
// exporter, which knows the build version).
func GraphMetadata(m *Model) map[string]string {
	arch, _ := json.Marshal(m.Arch) // plain struct of numbers: cannot fail
	md := map[string]string{
		MetaNormMean: strconv.FormatFloat(float64(m.Norm.Mean), 'g', -1, 32),
		MetaNormStd:  strconv.FormatFloat(float64(m.Norm.Std), 'g', -1, 32),
		MetaLabels:   strings.Join(m.Labels, ","),
		MetaArch:     string(arch),
	}
	if m.RejectThreshold > 0 {
		md[MetaRejectThreshold] = strconv.FormatFloat(float64(m.RejectThreshold), 'g', -1, 32)
	}
	return md
}

// convPadding maps a convolution's explicit padding to TFLite's SAME/VALID.
func convPadding(l *Layer) (Padding, error) {
	k, s, p := l.Kernel, l.Stride, l.Pad
	if k < 1 || s < 1 || p < 0 {
		return 0, fmt.Errorf("model: float graph: conv %q: kernel %d, stride %d, pad %d invalid", l.Name, k, s, p)
	}
	ceil := func(a, b int) int { return (a + b - 1) / b }
	switch {
	case p == 0 && l.Out.H == ceil(l.In.H-k+1, s) && l.Out.W == ceil(l.In.W-k+1, s):
		return PadValid, nil
	case s == 1 && k%2 == 1 && 2*p == k-1 && l.Out.H == l.In.H && l.Out.W == l.In.W:
		return PadSame, nil
	}
	return 0, fmt.Errorf("model: float graph: conv %q: kernel %d, stride %d, pad %d (%v→%v) is neither SAME nor VALID padding", l.Name, k, s, p, l.In, l.Out)
}

// foldBatchNorm folds bn into the OHWI weights w and bias b in place.
func foldBatchNorm(bn *Layer, w, b []float32) error {
	oc := len(b)
	if len(bn.Gamma) != oc || len(bn.Beta) != oc || len(bn.RunMean) != oc || len(bn.RunVar) != oc {
		return fmt.Errorf("model: float graph: batch norm %q has %d/%d/%d/%d parameters for %d channels", bn.Name, len(bn.Gamma), len(bn.Beta), len(bn.RunMean), len(bn.RunVar), oc)
	}
	per := len(w) / oc
	for c := 0; c < oc; c++ {
		v := float64(bn.RunVar[c]) + float64(bn.Eps)
		if !(v > 0) {
			return fmt.Errorf("model: float graph: batch norm %q channel %d: variance+eps = %v is not positive", bn.Name, c, v)
		}
		a := float64(bn.Gamma[c]) / math.Sqrt(v)
		for j := c * per; j < (c+1)*per; j++ {
			w[j] = float32(a * float64(w[j]))
		}
		b[c] = float32(a*(float64(b[c])-float64(bn.RunMean[c])) + float64(bn.Beta[c]))
	}
	return nil
}

// F32Bytes encodes float32 values little-endian (a TFLite/Graph buffer).
func F32Bytes(v []float32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
	}
	return out
}

// I32Bytes encodes int32 values little-endian.
func I32Bytes(v []int32) []byte {
	out := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(out[4*i:], uint32(x))
	}
	return out
}

// BytesF32 decodes little-endian float32 values (len(b) must be a multiple of 4).
func BytesF32(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// BytesI32 decodes little-endian int32 values (len(b) must be a multiple of 4).
func BytesI32(b []byte) []int32 {
	out := make([]int32, len(b)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
