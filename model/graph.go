package model

import "fmt"

// Graph is edgecnn's deployable graph IR: a flat list of tensors and
// operators, deliberately close to a TFLite subgraph so that model/tflite
// writes it 1:1, model/onnx translates it, and runtime executes it.
// Activations are NHWC; Shape[0] is the batch (1 in a stored graph, any
// batch at run time when DynamicBatch is set).
type Graph struct {
	Tensors      []Tensor
	Ops          []Op
	Inputs       []int // tensor indices
	Outputs      []int // tensor indices
	DynamicBatch bool
	// Metadata travels inside the model file (TFLite metadata / ONNX
	// metadata_props): e.g. "edgecnn.norm_mean", "edgecnn.norm_std",
	// "edgecnn.labels" (comma separated), "edgecnn.version", "edgecnn.arch" (JSON).
	Metadata map[string]string
}

// DType is a tensor element type. Values match TFLite's TensorType enum.
type DType int8

// Element types (TFLite schema TensorType values).
const (
	Float32 DType = 0
	Int32   DType = 2
	UInt8   DType = 3
	Int64   DType = 4
	Int8    DType = 9
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int32:
		return "int32"
	case UInt8:
		return "uint8"
	case Int64:
		return "int64"
	case Int8:
		return "int8"
	}
	return fmt.Sprintf("dtype(%d)", int8(d))
}

// Size is the element size in bytes.
func (d DType) Size() int {
	switch d {
	case Int8, UInt8:
		return 1
	case Int64:
		return 8
	}
	return 4
}

// Quant holds affine quantization parameters: real = Scale*(q - ZeroPoint).
// Per-tensor when len(Scale)==1, else per channel along Axis.
type Quant struct {
	Scale     []float32
	ZeroPoint []int64
	Axis      int
	Min, Max  []float32 // optional calibration range, informational
}

// Tensor is a graph tensor. Constant tensors carry Data (little-endian raw
// bytes of Type, as in a TFLite buffer); activations have Data == nil.
type Tensor struct {
	Name  string
	Type  DType
	Shape []int
	Data  []byte
	Quant *Quant
}

// NumElements multiplies the shape.
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// OpCode is an operator type. Values match TFLite's BuiltinOperator enum.
type OpCode int32

// Operators (TFLite schema BuiltinOperator values).
const (
	OpConv2D         OpCode = 3
	OpDequantize     OpCode = 6
	OpFullyConnected OpCode = 9
	OpMaxPool2D      OpCode = 17
	OpReshape        OpCode = 22
	OpSoftmax        OpCode = 25
	OpQuantize       OpCode = 114
)

func (o OpCode) String() string {
	switch o {
	case OpConv2D:
		return "CONV_2D"
	case OpDequantize:
		return "DEQUANTIZE"
	case OpFullyConnected:
		return "FULLY_CONNECTED"
	case OpMaxPool2D:
		return "MAX_POOL_2D"
	case OpReshape:
		return "RESHAPE"
	case OpSoftmax:
		return "SOFTMAX"
	case OpQuantize:
		return "QUANTIZE"
	}
	return fmt.Sprintf("op(%d)", int32(o))
}

// Padding of a convolution or pooling (TFLite schema Padding values).
type Padding int8

// Paddings.
const (
	PadSame  Padding = 0
	PadValid Padding = 1
)

// Activation fused into an operator (TFLite ActivationFunctionType values).
type Activation int8

// Fused activations.
const (
	ActNone  Activation = 0
	ActReLU  Activation = 1
	ActReLU6 Activation = 3
)

// Op is one operator. Inputs/Outputs are tensor indices; -1 is an omitted
// optional input (e.g. no bias). Options not used by a code are zero.
//
//	CONV_2D          inputs [x, filter OHWI, bias]; Stride, Padding, Activation
//	MAX_POOL_2D      inputs [x]; Filter, Stride, Padding
//	FULLY_CONNECTED  inputs [x, weights [out,in], bias]; Activation
//	RESHAPE          inputs [x, shape (int32 const)]; NewShape mirrors the const
//	SOFTMAX          inputs [x]; Beta
//	QUANTIZE, DEQUANTIZE inputs [x]
type Op struct {
	Code       OpCode
	Inputs     []int
	Outputs    []int
	StrideH    int
	StrideW    int
	FilterH    int
	FilterW    int
	Padding    Padding
	Activation Activation
	NewShape   []int
	Beta       float32
}

// Validate checks indices and the basic well-formedness of the graph, so
// that readers can reject corrupt files before anything runs them.
// MaxTensorElements bounds every tensor a model declares: 2^28 elements
// (1 GiB of float32), so that element and byte counts fit in an int on
// 32-bit boards (GOARCH=arm) too; a digit CNN's largest tensor has 25,088.
const MaxTensorElements = 1 << 28

func (g *Graph) Validate() error {
	n := len(g.Tensors)
	chk := func(what string, idx []int, optional bool) error {
		for _, i := range idx {
			if i == -1 && optional {
				continue
			}
			if i < 0 || i >= n {
				return fmt.Errorf("graph: %s tensor index %d out of range [0,%d)", what, i, n)
			}
		}
		return nil
	}
	if len(g.Inputs) == 0 || len(g.Outputs) == 0 {
		return fmt.Errorf("graph: needs inputs and outputs")
	}
	if err := chk("input", g.Inputs, false); err != nil {
		return err
	}
	if err := chk("output", g.Outputs, false); err != nil {
		return err
	}
	for i := range g.Tensors {
		t := &g.Tensors[i]
		total := int64(1) // int64: also correct on 32-bit boards (GOARCH=arm)
		for _, d := range t.Shape {
			if d < 0 || d > 1<<24 {
				return fmt.Errorf("graph: tensor %q: dimension %d out of range", t.Name, d)
			}
			total *= int64(d)
			if total > MaxTensorElements {
				return fmt.Errorf("graph: tensor %q: shape %v is above the limit of %d elements a model may declare", t.Name, t.Shape, MaxTensorElements)
			}
		}
		if t.Data != nil && int64(len(t.Data)) != total*int64(t.Type.Size()) {
			return fmt.Errorf("graph: tensor %q: %d data bytes, shape %v of %v needs %d", t.Name, len(t.Data), t.Shape, t.Type, total*int64(t.Type.Size()))
		}
		if q := t.Quant; q != nil {
			if len(q.Scale) == 0 || len(q.Scale) != len(q.ZeroPoint) {
				return fmt.Errorf("graph: tensor %q: %d scales, %d zero points", t.Name, len(q.Scale), len(q.ZeroPoint))
			}
			if len(q.Scale) > 1 && (q.Axis < 0 || q.Axis >= len(t.Shape) || t.Shape[q.Axis] != len(q.Scale)) {
				return fmt.Errorf("graph: tensor %q: %d per-channel scales do not match axis %d of %v", t.Name, len(q.Scale), q.Axis, t.Shape)
			}
			if err := q.checkRanges(t.Type); err != nil {
				return fmt.Errorf("graph: tensor %q: %w", t.Name, err)
			}
		}
	}
	for k, op := range g.Ops {
		if err := chk(fmt.Sprintf("op %d (%v) input", k, op.Code), op.Inputs, true); err != nil {
			return err
		}
		if err := chk(fmt.Sprintf("op %d (%v) output", k, op.Code), op.Outputs, false); err != nil {
			return err
		}
	}
	return nil
}
