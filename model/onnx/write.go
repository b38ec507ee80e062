// Package onnx writes and reads ONNX models (.onnx, protobuf) for edgecnn's
// graph IR (model.Graph), through Go types generated from Debian's
// onnx.proto (package onnxpb).
//
// Translation (opset 13, IR version 7):
//
//   - Layout: the graph is NHWC, ONNX is NCHW. 4-D activations get NCHW
//     shapes; the input is [N, C, H, W] with a symbolic batch "N" when
//     Graph.DynamicBatch (else the stored batch). Conv weights go from OHWI
//     to OIHW. A FULLY_CONNECTED fed by a RESHAPE of a 4-D tensor gets its
//     weight columns permuted from NHWC to NCHW flatten order, so Reshape on
//     the NCHW tensor feeds it the same numbers.
//   - Float ops: CONV_2D → Conv (+Relu), MAX_POOL_2D → MaxPool,
//     RESHAPE → Reshape (int64 shape initializer), FULLY_CONNECTED → Gemm
//     (transB=1) (+Relu), SOFTMAX → Softmax(axis=-1).
//   - Quantized graphs become QDQ graphs: every quantized activation T is an
//     int8/uint8 value named T; consumers read DequantizeLinear(T, T_scale,
//     T_zp) → "T_dq"; every op computes in float and its result is
//     QuantizeLinear'ed into its quantized output tensor. Weights are int8
//     initializers behind DequantizeLinear (per-channel: 1-D scale and zero
//     point, axis=0); int32 biases are initializers behind DequantizeLinear
//     with scale s_in·s_w[c] (the bias tensor's own scales when it has them).
//     QUANTIZE → QuantizeLinear (after a DequantizeLinear when requantizing),
//     DEQUANTIZE → DequantizeLinear.
//   - Graph.Metadata → metadata_props (sorted by key).
//
// The writer's output depends only on the ops (in order), the tensors they
// reference and the metadata, never on tensor numbering, and is marshalled
// deterministically, so Write(Read(Write(g))) is byte-identical to Write(g).
package onnx

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/edgecnn/edgecnn/model"
	pb "github.com/edgecnn/edgecnn/model/onnx/onnxpb"
)

// Opset is the ONNX operator set version written.
const Opset = 13

// IRVersion is the ONNX IR version written (the one that introduced opset 13).
const IRVersion = 7

// BatchParam is the name of the symbolic batch dimension.
const BatchParam = "N"

// ErrCorrupt is returned (wrapped) for malformed files.
var ErrCorrupt = errors.New("corrupt onnx file")

// ErrUnsupported is returned (wrapped) for ONNX models or graphs outside the
// subset edgecnn translates.
var ErrUnsupported = errors.New("unsupported onnx feature")

// WriteFile writes g to path atomically.
func WriteFile(path string, g *model.Graph) error {
	b, err := Write(g)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, b, 0o644)
}

// ReadFile reads a .onnx file.
func ReadFile(path string) (*model.Graph, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g, err := Read(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

// Write translates g to an ONNX model.
func Write(g *model.Graph) ([]byte, error) {
	m, err := ToProto(g)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: marshal: %w", err)
	}
	return b, nil
}

type writer struct {
	g        *model.Graph
	names    []string // ONNX value name of each graph tensor
	gp       *pb.GraphProto
	inits    map[string]bool
	dq       map[int]string // float view of quantized activations
	flatNCHW map[int][3]int // RESHAPE outputs flattened from a 4-D [H,W,C]
	node     int
}

// ToProto translates g to an ONNX ModelProto.
func ToProto(g *model.Graph) (*pb.ModelProto, error) {
	if g == nil {
		return nil, errors.New("onnx: write: nil graph")
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: write: %w", err)
	}
	w := &writer{g: g, gp: &pb.GraphProto{Name: proto.String("edgecnn")}, inits: map[string]bool{},
		dq: map[int]string{}, flatNCHW: map[int][3]int{}}
	w.names = tensorNames(g)
	if err := w.translate(); err != nil {
		return nil, fmt.Errorf("onnx: write: %w", err)
	}
	m := &pb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName: proto.String("edgecnn"),
		Graph:        w.gp,
	}
	if v := g.Metadata[model.MetaVersion]; v != "" {
		m.ProducerVersion = proto.String(v)
	}
	keys := make([]string, 0, len(g.Metadata))
	for k := range g.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &pb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(g.Metadata[k])})
	}
	return m, nil
}

// tensorNames gives every tensor a unique, non-empty ONNX name (its graph
// name when possible).
func tensorNames(g *model.Graph) []string {
	count := map[string]int{}
	for _, t := range g.Tensors {
		count[t.Name]++
	}
	names := make([]string, len(g.Tensors))
	for i, t := range g.Tensors {
		if t.Name == "" || count[t.Name] > 1 {
			names[i] = fmt.Sprintf("t%d", i)
		} else {
			names[i] = t.Name
		}
	}
	return names
}

func quantized(t *model.Tensor) bool {
	return (t.Type == model.Int8 || t.Type == model.UInt8) && t.Quant != nil
}

func onnxType(d model.DType) (pb.TensorProto_DataType, error) {
	switch d {
	case model.Float32:
		return pb.TensorProto_FLOAT, nil
	case model.Int8:
		return pb.TensorProto_INT8, nil
	case model.UInt8:
		return pb.TensorProto_UINT8, nil
	case model.Int32:
		return pb.TensorProto_INT32, nil
	case model.Int64:
		return pb.TensorProto_INT64, nil
	}
	return 0, fmt.Errorf("%w: tensor type %v", ErrUnsupported, d)
}

// onnxShape converts a graph activation shape to ONNX dims (NHWC → NCHW).
func onnxShape(s []int) []int {
	if len(s) == 4 {
		return []int{s[0], s[3], s[1], s[2]}
	}
	return append([]int(nil), s...)
}

func (w *writer) valueInfo(i int) (*pb.ValueInfoProto, error) {
	t := &w.g.Tensors[i]
	et, err := onnxType(t.Type)
	if err != nil {
		return nil, err
	}
	shp := &pb.TensorShapeProto{}
	for j, d := range onnxShape(t.Shape) {
		dim := &pb.TensorShapeProto_Dimension{}
		if j == 0 && w.g.DynamicBatch {
			dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: BatchParam}
		} else {
			dim.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
		shp.Dim = append(shp.Dim, dim)
	}
	return &pb.ValueInfoProto{Name: proto.String(w.names[i]), Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: proto.Int32(int32(et)), Shape: shp}}}}, nil
}

func (w *writer) addInit(name string, dt pb.TensorProto_DataType, dims []int, raw []byte) {
	if w.inits[name] {
		return
	}
	w.inits[name] = true
	tp := &pb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), RawData: raw}
	for _, d := range dims {
		tp.Dims = append(tp.Dims, int64(d))
	}
	if raw == nil {
		tp.RawData = []byte{}
	}
	w.gp.Initializer = append(w.gp.Initializer, tp)
}

func (w *writer) addNode(opType string, in, out []string, attrs ...*pb.AttributeProto) {
	w.node++
	w.gp.Node = append(w.gp.Node, &pb.NodeProto{OpType: proto.String(opType), Input: in, Output: out,
		Name: proto.String(fmt.Sprintf("n%d_%s", w.node, opType)), Attribute: attrs})
}

func intsAttr(name string, v ...int) *pb.AttributeProto {
	a := &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INTS.Enum()}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func intAttr(name string, v int) *pb.AttributeProto {
	return &pb.AttributeProto{Name: proto.String(name), Type: pb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

// quantParams writes the scale and zero-point initializers of the tensor
// named name and returns their names ("" for an omitted int32 zero point)
// and the axis attribute (nil for per-tensor).
func (w *writer) quantParams(name string, typ model.DType, q *model.Quant) (string, string, *pb.AttributeProto, error) {
	var dims []int
	var axis *pb.AttributeProto
	if len(q.Scale) != len(q.ZeroPoint) {
		return "", "", nil, fmt.Errorf("tensor %q: %d zero points for %d scales", name, len(q.ZeroPoint), len(q.Scale))
	}
	if len(q.Scale) > 1 {
		dims = []int{len(q.Scale)}
		if q.Axis != 0 {
			return "", "", nil, fmt.Errorf("%w: tensor %q quantized along axis %d (only axis 0 is supported)", ErrUnsupported, name, q.Axis)
		}
		axis = intAttr("axis", 0)
	}
	w.addInit(name+"_scale", pb.TensorProto_FLOAT, dims, model.F32Bytes(q.Scale))
	if typ == model.Int32 {
		for _, z := range q.ZeroPoint {
			if z != 0 {
				return "", "", nil, fmt.Errorf("%w: int32 tensor %q has zero point %d", ErrUnsupported, name, z)
			}
		}
		return name + "_scale", "", axis, nil
	}
	zt, err := onnxType(typ)
	if err != nil {
		return "", "", nil, err
	}
	zp := make([]byte, len(q.ZeroPoint))
	lo, hi := int64(-128), int64(127)
	if typ == model.UInt8 {
		lo, hi = 0, 255
	}
	for j, z := range q.ZeroPoint {
		if z < lo || z > hi {
			return "", "", nil, fmt.Errorf("tensor %q: zero point %d out of range for %v", name, z, typ)
		}
		zp[j] = byte(z)
	}
	w.addInit(name+"_zp", zt, dims, zp)
	return name + "_scale", name + "_zp", axis, nil
}

// actQuantParams is quantParams for a per-tensor quantized activation.
func (w *writer) actQuantParams(i int) (string, string, error) {
	t := &w.g.Tensors[i]
	if len(t.Quant.Scale) != 1 {
		return "", "", fmt.Errorf("%w: activation %q has per-channel quantization", ErrUnsupported, t.Name)
	}
	s, z, _, err := w.quantParams(w.names[i], t.Type, t.Quant)
	return s, z, err
}

// floatInput returns the name of a float value holding activation i:
// the tensor itself when it is float, else its DequantizeLinear view.
func (w *writer) floatInput(i int) (string, error) {
	t := &w.g.Tensors[i]
	if t.Type == model.Float32 {
		return w.names[i], nil
	}
	if !quantized(t) {
		return "", fmt.Errorf("%w: activation %q of type %v without quantization", ErrUnsupported, t.Name, t.Type)
	}
	if n, ok := w.dq[i]; ok {
		return n, nil
	}
	s, z, err := w.actQuantParams(i)
	if err != nil {
		return "", err
	}
	n := w.names[i] + "_dq"
	w.addNode("DequantizeLinear", []string{w.names[i], s, z}, []string{n})
	w.dq[i] = n
	return n, nil
}

// finish routes the float result pre of op k to its output tensor: through
// Relu when fused, then QuantizeLinear when the output is quantized.
func (w *writer) finish(pre string, op *model.Op, out int) error {
	t := &w.g.Tensors[out]
	q := quantized(t)
	switch op.Activation {
	case model.ActNone:
	case model.ActReLU:
		dst := pre + "_relu"
		if !q {
			dst = w.names[out]
		}
		w.addNode("Relu", []string{pre}, []string{dst})
		pre = dst
	default:
		return fmt.Errorf("%w: fused activation %d on %v", ErrUnsupported, op.Activation, op.Code)
	}
	if q {
		s, z, err := w.actQuantParams(out)
		if err != nil {
			return err
		}
		w.addNode("QuantizeLinear", []string{pre, s, z}, []string{w.names[out]})
		return nil
	}
	if t.Type != model.Float32 {
		return fmt.Errorf("%w: activation %q of type %v without quantization", ErrUnsupported, t.Name, t.Type)
	}
	if pre != w.names[out] {
		return fmt.Errorf("internal: float result %q not named after its tensor", pre)
	}
	return nil
}

// preName is the name of an op's float result before activation and
// quantization; it is the output tensor's own name when nothing follows.
func (w *writer) preName(op *model.Op, out int) string {
	if op.Activation == model.ActNone && !quantized(&w.g.Tensors[out]) {
		return w.names[out]
	}
	return w.names[out] + "_pre"
}

// constInput writes a weight or bias constant (transformed by perm, an
// element permutation from ONNX order to graph order) and returns the float
// value name the consumer reads.
func (w *writer) constInput(i int, dims []int, perm []int, scale []float32) (string, error) {
	t := &w.g.Tensors[i]
	if t.Data == nil {
		return "", fmt.Errorf("%w: %q must be a constant", ErrUnsupported, t.Name)
	}
	dt, err := onnxType(t.Type)
	if err != nil {
		return "", err
	}
	data := t.Data
	if perm != nil {
		es := t.Type.Size()
		data = make([]byte, len(t.Data))
		for dst, src := range perm {
			copy(data[dst*es:(dst+1)*es], t.Data[src*es:(src+1)*es])
		}
	}
	w.addInit(w.names[i], dt, dims, data)
	if t.Type == model.Float32 {
		return w.names[i], nil
	}
	q := t.Quant
	if q == nil {
		if scale == nil {
			return "", fmt.Errorf("%w: %v constant %q without quantization", ErrUnsupported, t.Type, t.Name)
		}
		q = &model.Quant{Scale: scale, ZeroPoint: make([]int64, len(scale))}
	}
	s, z, axis, err := w.quantParams(w.names[i], t.Type, q)
	if err != nil {
		return "", err
	}
	in := []string{w.names[i], s}
	if z != "" {
		in = append(in, z)
	}
	n := w.names[i] + "_dq"
	if axis != nil {
		w.addNode("DequantizeLinear", in, []string{n}, axis)
	} else {
		w.addNode("DequantizeLinear", in, []string{n})
	}
	return n, nil
}

// samePads returns ONNX pads [top, left, bottom, right] for TFLite SAME.
func samePads(in, out, k, s int) (int, int) {
	total := max((out-1)*s+k-in, 0)
	return total / 2, total - total/2
}

// opWrite is the op being translated, with its data input and its output.
type opWrite struct {
	k      int // index in the graph
	op     *model.Op
	x, out int // data input and output tensors
	xt, ot *model.Tensor
}

// opWriters maps each graph op code to the writer of its ONNX nodes.
var opWriters = map[model.OpCode]func(w *writer, o opWrite) error{
	model.OpConv2D:         (*writer).writeConv,
	model.OpFullyConnected: (*writer).writeFullyConnected,
	model.OpMaxPool2D:      (*writer).writeMaxPool,
	model.OpReshape:        (*writer).writeReshape,
	model.OpSoftmax:        (*writer).writeSoftmax,
	model.OpQuantize:       (*writer).writeQuantize,
	model.OpDequantize:     (*writer).writeDequantize,
}

func (w *writer) translate() error {
	g := w.g
	for _, i := range g.Inputs {
		vi, err := w.valueInfo(i)
		if err != nil {
			return err
		}
		w.gp.Input = append(w.gp.Input, vi)
	}
	isIO := map[int]bool{}
	for _, i := range g.Inputs {
		isIO[i] = true
	}
	for _, i := range g.Outputs {
		isIO[i] = true
	}
	declared := map[int]bool{}
	for k := range g.Ops {
		op := &g.Ops[k]
		if len(op.Outputs) != 1 || len(op.Inputs) < 1 || op.Inputs[0] < 0 {
			return fmt.Errorf("op %d (%v): needs one data input and one output", k, op.Code)
		}
		o := opWrite{k: k, op: op, x: op.Inputs[0], out: op.Outputs[0]}
		o.xt, o.ot = &g.Tensors[o.x], &g.Tensors[o.out]
		if o.ot.Data != nil {
			return fmt.Errorf("op %d (%v): output %q is a constant", k, op.Code, o.ot.Name)
		}
		write, ok := opWriters[op.Code]
		if !ok {
			return fmt.Errorf("%w: op %d is %v", ErrUnsupported, k, op.Code)
		}
		if err := write(w, o); err != nil {
			return err
		}
		if !isIO[o.out] && !declared[o.out] {
			declared[o.out] = true
			vi, err := w.valueInfo(o.out)
			if err != nil {
				return err
			}
			w.gp.ValueInfo = append(w.gp.ValueInfo, vi)
		}
	}
	for _, i := range g.Outputs {
		vi, err := w.valueInfo(i)
		if err != nil {
			return err
		}
		w.gp.Output = append(w.gp.Output, vi)
	}
	return nil
}

// layerInputs checks a CONV_2D or FULLY_CONNECTED's weights and bias and
// returns its float data input and, for an int32 bias without its own
// scales, the bias scales s_in·s_w[c].
func (w *writer) layerInputs(o opWrite) (xf string, bscale []float32, err error) {
	op, xt, g := o.op, o.xt, w.g
	if len(op.Inputs) != 3 || op.Inputs[1] < 0 || op.Inputs[2] < 0 {
		return "", nil, fmt.Errorf("%w: op %d (%v) without weights and bias", ErrUnsupported, o.k, op.Code)
	}
	if xf, err = w.floatInput(o.x); err != nil {
		return "", nil, err
	}
	wt, bt := &g.Tensors[op.Inputs[1]], &g.Tensors[op.Inputs[2]]
	if bt.Type == model.Int32 && bt.Quant == nil {
		if !quantized(xt) || wt.Quant == nil {
			return "", nil, fmt.Errorf("%w: op %d: int32 bias without scales", ErrUnsupported, o.k)
		}
		for c := 0; c < bt.NumElements(); c++ {
			sw := wt.Quant.Scale[0]
			if len(wt.Quant.Scale) > 1 {
				sw = wt.Quant.Scale[c]
			}
			bscale = append(bscale, float32(float64(xt.Quant.Scale[0])*float64(sw)))
		}
	}
	return xf, bscale, nil
}

// writeConv writes a CONV_2D as Conv (weights OHWI → OIHW, SAME padding
// made explicit).
func (w *writer) writeConv(o opWrite) error {
	op, xt, ot, g := o.op, o.xt, o.ot, w.g
	xf, bscale, err := w.layerInputs(o)
	if err != nil {
		return err
	}
	wt, bt := &g.Tensors[op.Inputs[1]], &g.Tensors[op.Inputs[2]]
	if len(wt.Shape) != 4 || len(xt.Shape) != 4 || len(ot.Shape) != 4 {
		return fmt.Errorf("op %d (CONV_2D): needs 4-D input, weights and output", o.k)
	}
	oc, kh, kw, ci := wt.Shape[0], wt.Shape[1], wt.Shape[2], wt.Shape[3]
	// ONNX element (o, c, y, x) comes from graph element (o, y, x, c).
	perm := make([]int, 0, oc*kh*kw*ci)
	for a := 0; a < oc; a++ {
		for c := 0; c < ci; c++ {
			for y := 0; y < kh; y++ {
				for xx := 0; xx < kw; xx++ {
					perm = append(perm, ((a*kh+y)*kw+xx)*ci+c)
				}
			}
		}
	}
	wf, err := w.constInput(op.Inputs[1], []int{oc, ci, kh, kw}, perm, nil)
	if err != nil {
		return err
	}
	bf, err := w.constInput(op.Inputs[2], []int{bt.NumElements()}, nil, bscale)
	if err != nil {
		return err
	}
	pt, pb2 := 0, 0
	pl, pr := 0, 0
	if op.Padding == model.PadSame {
		pt, pb2 = samePads(xt.Shape[1], ot.Shape[1], kh, op.StrideH)
		pl, pr = samePads(xt.Shape[2], ot.Shape[2], kw, op.StrideW)
	}
	pre := w.preName(op, o.out)
	w.addNode("Conv", []string{xf, wf, bf}, []string{pre}, intsAttr("kernel_shape", kh, kw),
		intsAttr("pads", pt, pl, pb2, pr), intsAttr("strides", op.StrideH, op.StrideW))
	return w.finish(pre, op, o.out)
}

// writeFullyConnected writes a FULLY_CONNECTED as Gemm (transB=1); fed by
// a RESHAPE of a 4-D tensor, its weight columns go back to NCHW order.
func (w *writer) writeFullyConnected(o opWrite) error {
	op, xt, g := o.op, o.xt, w.g
	xf, bscale, err := w.layerInputs(o)
	if err != nil {
		return err
	}
	wt, bt := &g.Tensors[op.Inputs[1]], &g.Tensors[op.Inputs[2]]
	if len(wt.Shape) != 2 || len(xt.Shape) != 2 {
		return fmt.Errorf("op %d (FULLY_CONNECTED): needs 2-D input and weights (input %v)", o.k, xt.Shape)
	}
	oc, n := wt.Shape[0], wt.Shape[1]
	var perm []int
	if hwc, ok := w.flatNCHW[o.x]; ok {
		h, wd, c := hwc[0], hwc[1], hwc[2]
		if h*wd*c != n {
			return fmt.Errorf("op %d (FULLY_CONNECTED): %d inputs, flattened tensor has %d", o.k, n, h*wd*c)
		}
		// ONNX column (c, y, x) is graph column (y, x, c).
		perm = make([]int, 0, oc*n)
		for a := 0; a < oc; a++ {
			for cc := 0; cc < c; cc++ {
				for y := 0; y < h; y++ {
					for xx := 0; xx < wd; xx++ {
						perm = append(perm, a*n+(y*wd+xx)*c+cc)
					}
				}
			}
		}
	}
	wf, err := w.constInput(op.Inputs[1], []int{oc, n}, perm, nil)
	if err != nil {
		return err
	}
	bf, err := w.constInput(op.Inputs[2], []int{bt.NumElements()}, nil, bscale)
	if err != nil {
		return err
	}
	pre := w.preName(op, o.out)
	w.addNode("Gemm", []string{xf, wf, bf}, []string{pre}, intAttr("transB", 1))
	return w.finish(pre, op, o.out)
}

// writeMaxPool writes a MAX_POOL_2D as MaxPool with explicit pads.
func (w *writer) writeMaxPool(o opWrite) error {
	op, xt, ot := o.op, o.xt, o.ot
	if len(xt.Shape) != 4 || len(ot.Shape) != 4 {
		return fmt.Errorf("op %d (MAX_POOL_2D): needs 4-D input and output", o.k)
	}
	xf, err := w.floatInput(o.x)
	if err != nil {
		return err
	}
	pt, pb2, pl, pr := 0, 0, 0, 0
	if op.Padding == model.PadSame {
		pt, pb2 = samePads(xt.Shape[1], ot.Shape[1], op.FilterH, op.StrideH)
		pl, pr = samePads(xt.Shape[2], ot.Shape[2], op.FilterW, op.StrideW)
	}
	pre := w.preName(op, o.out)
	w.addNode("MaxPool", []string{xf}, []string{pre}, intsAttr("kernel_shape", op.FilterH, op.FilterW),
		intsAttr("pads", pt, pl, pb2, pr), intsAttr("strides", op.StrideH, op.StrideW))
	return w.finish(pre, op, o.out)
}

// writeReshape writes a RESHAPE to 2-D as Reshape with an int64 shape
// initializer, remembering a flattened 4-D input for the next Gemm.
func (w *writer) writeReshape(o opWrite) error {
	op, xt, ot, g := o.op, o.xt, o.ot, w.g
	if len(op.Inputs) != 2 || op.Inputs[1] < 0 {
		return fmt.Errorf("op %d (RESHAPE): needs a shape input", o.k)
	}
	st := &g.Tensors[op.Inputs[1]]
	if st.Data == nil || st.Type != model.Int32 || len(st.Shape) != 1 {
		return fmt.Errorf("%w: op %d (RESHAPE): shape must be a constant 1-D int32 tensor", ErrUnsupported, o.k)
	}
	if len(ot.Shape) != 2 {
		return fmt.Errorf("%w: op %d (RESHAPE): only reshapes to 2-D are supported, output %v", ErrUnsupported, o.k, ot.Shape)
	}
	if len(xt.Shape) == 4 && (xt.Shape[1] != 1 || xt.Shape[2] != 1) {
		w.flatNCHW[o.out] = [3]int{xt.Shape[1], xt.Shape[2], xt.Shape[3]}
	}
	shp := model.BytesI32(st.Data)
	raw := make([]byte, 8*len(shp))
	for j, v := range shp {
		u := uint64(int64(v))
		for b := 0; b < 8; b++ {
			raw[8*j+b] = byte(u >> (8 * b))
		}
	}
	w.addInit(w.names[op.Inputs[1]], pb.TensorProto_INT64, []int{len(shp)}, raw)
	xf, err := w.floatInput(o.x)
	if err != nil {
		return err
	}
	pre := w.preName(op, o.out)
	w.addNode("Reshape", []string{xf, w.names[op.Inputs[1]]}, []string{pre})
	return w.finish(pre, op, o.out)
}

// writeSoftmax writes a SOFTMAX (beta 1) as Softmax over the last axis.
func (w *writer) writeSoftmax(o opWrite) error {
	op := o.op
	if op.Beta != 1 {
		return fmt.Errorf("%w: op %d (SOFTMAX): beta %v (only 1)", ErrUnsupported, o.k, op.Beta)
	}
	xf, err := w.floatInput(o.x)
	if err != nil {
		return err
	}
	pre := w.preName(op, o.out)
	w.addNode("Softmax", []string{xf}, []string{pre}, intAttr("axis", -1))
	return w.finish(pre, op, o.out)
}

// writeQuantize writes a QUANTIZE to a per-tensor int8/uint8 output as
// QuantizeLinear.
func (w *writer) writeQuantize(o opWrite) error {
	if !quantized(o.ot) || len(o.ot.Quant.Scale) != 1 {
		return fmt.Errorf("op %d (QUANTIZE): output %q must be per-tensor int8/uint8", o.k, o.ot.Name)
	}
	xf, err := w.floatInput(o.x)
	if err != nil {
		return err
	}
	s, z, err := w.actQuantParams(o.out)
	if err != nil {
		return err
	}
	w.addNode("QuantizeLinear", []string{xf, s, z}, []string{w.names[o.out]})
	return nil
}

// writeDequantize writes a DEQUANTIZE of a per-tensor quantized input as
// DequantizeLinear.
func (w *writer) writeDequantize(o opWrite) error {
	xt, ot := o.xt, o.ot
	if !quantized(xt) || ot.Type != model.Float32 || len(xt.Quant.Scale) != 1 {
		return fmt.Errorf("op %d (DEQUANTIZE): needs a per-tensor quantized input and a float output", o.k)
	}
	s, z, err := w.actQuantParams(o.x)
	if err != nil {
		return err
	}
	w.addNode("DequantizeLinear", []string{w.names[o.x], s, z}, []string{w.names[o.out]})
	return nil
}
