package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/edgecnn/edgecnn/model"
	pb "github.com/edgecnn/edgecnn/model/onnx/onnxpb"
)

// Limits on what Read accepts.
const (
	maxRank     = 8
	maxElements = 1 << 31
	maxNodes    = 1 << 16
)

// Read parses an ONNX model in the subset Write produces (float or QDQ) back
// into a graph. Anything else is an error naming what is unsupported; it
// never panics.
func Read(data []byte) (g *model.Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("onnx: %w: %v", ErrCorrupt, r)
		}
	}()
	m := &pb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("onnx: %w: %v", ErrCorrupt, err)
	}
	g, err = FromProto(m)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// value is what an ONNX value name stands for while reading.
type value struct {
	kind   int // vGraph: graph tensor idx; vDQ: float view of idx; vPre: float result of op idx (pending)
	idx    int
	dqInit bool // vDQ of a constant (DequantizeLinear of an initializer)
}

const (
	vGraph = iota
	vDQ
	vPre
)

type reader struct {
	gp       *pb.GraphProto
	g        *model.Graph
	inits    map[string]*pb.TensorProto
	declared map[string]*pb.ValueInfoProto
	vals     map[string]value
	consts   map[string]int // initializer name → const tensor
	used     map[int]bool   // const tensors already laid out by a consumer
	dyn      int            // -1 unknown, 0 static, 1 dynamic
}

// FromProto translates a ModelProto (in the subset Write produces) to a graph.
func FromProto(m *pb.ModelProto) (*model.Graph, error) {
	g, err := fromProto(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return g, nil
}

func fromProto(m *pb.ModelProto) (*model.Graph, error) {
	if m.GetGraph() == nil {
		return nil, fmt.Errorf("%w: no graph", ErrCorrupt)
	}
	opset := int64(-1)
	for _, o := range m.GetOpsetImport() {
		switch o.GetDomain() {
		case "", "ai.onnx":
			opset = o.GetVersion()
		default:
			return nil, fmt.Errorf("%w: operator set domain %q", ErrUnsupported, o.GetDomain())
		}
	}
	if opset < 13 {
		return nil, fmt.Errorf("%w: opset %d (edgecnn reads opset ≥ 13)", ErrUnsupported, opset)
	}
	if len(m.GetFunctions()) > 0 || len(m.GetTrainingInfo()) > 0 {
		return nil, fmt.Errorf("%w: functions or training info", ErrUnsupported)
	}
	gp := m.GetGraph()
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("%w: sparse initializers", ErrUnsupported)
	}
	if len(gp.GetNode()) > maxNodes {
		return nil, fmt.Errorf("%w: %d nodes", ErrUnsupported, len(gp.GetNode()))
	}
	r := &reader{gp: gp, g: &model.Graph{}, inits: map[string]*pb.TensorProto{}, declared: map[string]*pb.ValueInfoProto{},
		vals: map[string]value{}, consts: map[string]int{}, used: map[int]bool{}, dyn: -1}
	for _, t := range gp.GetInitializer() {
		if t.GetName() == "" || r.inits[t.GetName()] != nil {
			return nil, fmt.Errorf("%w: initializer name %q empty or repeated", ErrCorrupt, t.GetName())
		}
		r.inits[t.GetName()] = t
	}
	for _, vi := range append(append(append([]*pb.ValueInfoProto(nil), gp.GetInput()...), gp.GetOutput()...), gp.GetValueInfo()...) {
		r.declared[vi.GetName()] = vi
	}
	for _, vi := range gp.GetInput() {
		if r.inits[vi.GetName()] != nil {
			continue // an initializer listed as input (IR < 4 style): a constant
		}
		i, err := r.newActivation(vi.GetName())
		if err != nil {
			return nil, err
		}
		r.g.Inputs = append(r.g.Inputs, i)
		r.vals[vi.GetName()] = value{kind: vGraph, idx: i}
	}
	for k, n := range gp.GetNode() {
		if err := r.node(n); err != nil {
			return nil, fmt.Errorf("node %d (%s %q): %w", k, n.GetOpType(), n.GetName(), err)
		}
	}
	for _, vi := range gp.GetOutput() {
		v, ok := r.vals[vi.GetName()]
		if !ok || v.kind != vGraph {
			return nil, fmt.Errorf("%w: graph output %q is not produced by a supported node", ErrCorrupt, vi.GetName())
		}
		r.g.Outputs = append(r.g.Outputs, v.idx)
	}
	for _, t := range r.g.Tensors {
		if t.Data == nil && (t.Type == model.Int8 || t.Type == model.UInt8) && t.Quant == nil {
			return nil, fmt.Errorf("%w: quantized tensor %q has no quantization parameters", ErrUnsupported, t.Name)
		}
	}
	for _, k := range pendingOps(r) {
		return nil, fmt.Errorf("%w: result of op %d (%v) is never used", ErrCorrupt, k, r.g.Ops[k].Code)
	}
	if len(m.GetMetadataProps()) > 0 {
		r.g.Metadata = map[string]string{}
		for _, p := range m.GetMetadataProps() {
			r.g.Metadata[p.GetKey()] = p.GetValue()
		}
	}
	r.g.DynamicBatch = r.dyn == 1
	if err := r.g.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return r.g, nil
}

func pendingOps(r *reader) []int {
	var ks []int
	for k := range r.g.Ops {
		if len(r.g.Ops[k].Outputs) == 0 {
			ks = append(ks, k)
		}
	}
	sort.Ints(ks)
	return ks
}

func graphType(et int32) (model.DType, error) {
	switch pb.TensorProto_DataType(et) {
	case pb.TensorProto_FLOAT:
		return model.Float32, nil
	case pb.TensorProto_INT8:
		return model.Int8, nil
	case pb.TensorProto_UINT8:
		return model.UInt8, nil
	case pb.TensorProto_INT32:
		return model.Int32, nil
	case pb.TensorProto_INT64:
		return model.Int64, nil
	}
	return 0, fmt.Errorf("%w: element type %s", ErrUnsupported, pb.TensorProto_DataType(et))
}

// newActivation creates a graph tensor for a declared ONNX value (NCHW →
// NHWC for 4-D shapes; a symbolic batch becomes 1 and marks the graph
// dynamic).
func (r *reader) newActivation(name string) (int, error) {
	if _, ok := r.vals[name]; ok {
		return 0, fmt.Errorf("%w: value %q defined twice", ErrCorrupt, name)
	}
	vi := r.declared[name]
	if vi == nil {
		return 0, fmt.Errorf("%w: value %q has no type information", ErrUnsupported, name)
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		return 0, fmt.Errorf("%w: value %q is not a tensor of known rank", ErrUnsupported, name)
	}
	typ, err := graphType(tt.GetElemType())
	if err != nil {
		return 0, fmt.Errorf("value %q: %w", name, err)
	}
	dims := tt.GetShape().GetDim()
	if len(dims) > maxRank {
		return 0, fmt.Errorf("%w: value %q has rank %d", ErrUnsupported, name, len(dims))
	}
	shape := make([]int, len(dims))
	total := int64(1)
	for j, d := range dims {
		switch v := d.GetValue().(type) {
		case *pb.TensorShapeProto_Dimension_DimValue:
			if v.DimValue < 0 || v.DimValue > 1<<24 {
				return 0, fmt.Errorf("%w: value %q: dimension %d out of range", ErrCorrupt, name, v.DimValue)
			}
			shape[j] = int(v.DimValue)
			if j == 0 {
				if err := r.batch(0); err != nil {
					return 0, err
				}
			}
		case *pb.TensorShapeProto_Dimension_DimParam:
			if j != 0 || v.DimParam != BatchParam {
				return 0, fmt.Errorf("%w: value %q: symbolic dimension %q at %d (only the batch %q)", ErrUnsupported, name, v.DimParam, j, BatchParam)
			}
			shape[j] = 1
			if err := r.batch(1); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("%w: value %q: unknown dimension %d", ErrUnsupported, name, j)
		}
		total *= int64(max(shape[j], 1))
		if total > maxElements {
			return 0, fmt.Errorf("%w: value %q too large", ErrCorrupt, name)
		}
	}
	if len(shape) == 4 {
		shape = []int{shape[0], shape[2], shape[3], shape[1]}
	}
	r.g.Tensors = append(r.g.Tensors, model.Tensor{Name: name, Type: typ, Shape: shape})
	return len(r.g.Tensors) - 1, nil
}

func (r *reader) batch(d int) error {
	if r.dyn == -1 {
		r.dyn = d
	}
	if r.dyn != d {
		return fmt.Errorf("%w: some values have a symbolic batch and some do not", ErrUnsupported)
	}
	return nil
}

// initData returns the raw little-endian bytes and dims of an initializer.
func initData(t *pb.TensorProto) (model.DType, []int, []byte, error) {
	typ, err := graphType(t.GetDataType())
	if err != nil {
		return 0, nil, nil, fmt.Errorf("initializer %q: %w", t.GetName(), err)
	}
	if t.GetDataLocation() == pb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 || t.GetSegment() != nil {
		return 0, nil, nil, fmt.Errorf("%w: initializer %q stored externally or segmented", ErrUnsupported, t.GetName())
	}
	if len(t.GetDims()) > maxRank {
		return 0, nil, nil, fmt.Errorf("%w: initializer %q of rank %d", ErrUnsupported, t.GetName(), len(t.GetDims()))
	}
	dims := make([]int, len(t.GetDims()))
	n := int64(1)
	for j, d := range t.GetDims() {
		if d < 0 || d > 1<<24 {
			return 0, nil, nil, fmt.Errorf("%w: initializer %q: dimension %d out of range", ErrCorrupt, t.GetName(), d)
		}
		dims[j] = int(d)
		n *= d
		if n > maxElements {
			return 0, nil, nil, fmt.Errorf("%w: initializer %q too large", ErrCorrupt, t.GetName())
		}
	}
	es := int64(typ.Size())
	raw := t.GetRawData()
	if raw == nil {
		// Typed fields (written by other tools).
		switch typ {
		case model.Float32:
			if int64(len(t.GetFloatData())) == n {
				raw = model.F32Bytes(t.GetFloatData())
			}
		case model.Int32, model.Int8, model.UInt8:
			if int64(len(t.GetInt32Data())) == n {
				raw = make([]byte, n*es)
				for i, v := range t.GetInt32Data() {
					switch typ {
					case model.Int32:
						binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
					default:
						raw[i] = byte(v)
					}
				}
			}
		case model.Int64:
			if int64(len(t.GetInt64Data())) == n {
				raw = make([]byte, 8*n)
				for i, v := range t.GetInt64Data() {
					binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
				}
			}
		}
	}
	if int64(len(raw)) != n*es {
		return 0, nil, nil, fmt.Errorf("%w: initializer %q: %d data bytes for dims %v of %v", ErrCorrupt, t.GetName(), len(raw), dims, typ)
	}
	return typ, dims, append([]byte{}, raw...), nil
}

// constTensor creates (once) the graph tensor of an initializer, in ONNX
// layout; consumers lay it out.
func (r *reader) constTensor(name string) (int, error) {
	if i, ok := r.consts[name]; ok {
		return i, nil
	}
	t := r.inits[name]
	if t == nil {
		return 0, fmt.Errorf("%w: %q is not an initializer", ErrUnsupported, name)
	}
	typ, dims, raw, err := initData(t)
	if err != nil {
		return 0, err
	}
	r.g.Tensors = append(r.g.Tensors, model.Tensor{Name: name, Type: typ, Shape: dims, Data: raw})
	i := len(r.g.Tensors) - 1
	r.consts[name] = i
	return i, nil
}

// floatsInit reads a float initializer (scale).
func (r *reader) floatsInit(name string) ([]float32, []int, error) {
	t := r.inits[name]
	if t == nil {
		return nil, nil, fmt.Errorf("%w: scale %q is not an initializer", ErrUnsupported, name)
	}
	typ, dims, raw, err := initData(t)
	if err != nil {
		return nil, nil, err
	}
	if typ != model.Float32 {
		return nil, nil, fmt.Errorf("%w: scale %q is %v", ErrCorrupt, name, typ)
	}
	s := model.BytesF32(raw)
	for _, v := range s {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("%w: scale %q has value %v", ErrCorrupt, name, v)
		}
	}
	return s, dims, nil
}

// quant reads (scale, zero point, axis) of a Q/DQ node.
func (r *reader) quant(n *pb.NodeProto, xType model.DType) (*model.Quant, model.DType, error) {
	in := n.GetInput()
	if len(in) < 2 || len(in) > 3 {
		return nil, 0, fmt.Errorf("%w: %d inputs", ErrCorrupt, len(in))
	}
	scale, sdims, err := r.floatsInit(in[1])
	if err != nil {
		return nil, 0, err
	}
	if len(scale) == 0 || len(sdims) > 1 {
		return nil, 0, fmt.Errorf("%w: scale %q must be a scalar or 1-D", ErrCorrupt, in[1])
	}
	q := &model.Quant{Scale: scale, ZeroPoint: make([]int64, len(scale))}
	zt := model.Int32
	if n.GetOpType() == "QuantizeLinear" {
		zt = model.UInt8 // ONNX default when the zero point is omitted
	} else if xType >= 0 {
		zt = xType
	}
	if len(in) == 3 && in[2] != "" {
		t := r.inits[in[2]]
		if t == nil {
			return nil, 0, fmt.Errorf("%w: zero point %q is not an initializer", ErrUnsupported, in[2])
		}
		typ, dims, raw, err := initData(t)
		if err != nil {
			return nil, 0, err
		}
		if len(dims) != len(sdims) || (len(dims) == 1 && dims[0] != sdims[0]) {
			return nil, 0, fmt.Errorf("%w: zero point %q shape %v, scale shape %v", ErrCorrupt, in[2], dims, sdims)
		}
		switch typ {
		case model.Int8:
			for j := range q.ZeroPoint {
				q.ZeroPoint[j] = int64(int8(raw[j]))
			}
		case model.UInt8:
			for j := range q.ZeroPoint {
				q.ZeroPoint[j] = int64(raw[j])
			}
		case model.Int32:
			for j, v := range model.BytesI32(raw) {
				q.ZeroPoint[j] = int64(v)
			}
		default:
			return nil, 0, fmt.Errorf("%w: zero point type %v", ErrUnsupported, typ)
		}
		zt = typ
	}
	axis := 1
	for _, a := range n.GetAttribute() {
		switch a.GetName() {
		case "axis":
			axis = int(a.GetI())
		default:
			return nil, 0, fmt.Errorf("%w: attribute %q", ErrUnsupported, a.GetName())
		}
	}
	if len(sdims) == 1 {
		if axis != 0 {
			return nil, 0, fmt.Errorf("%w: per-axis quantization along axis %d (edgecnn uses axis 0)", ErrUnsupported, axis)
		}
		q.Axis = 0
	}
	return q, zt, nil
}

func attrs(n *pb.NodeProto, allowed ...string) (map[string]*pb.AttributeProto, error) {
	m := map[string]*pb.AttributeProto{}
	for _, a := range n.GetAttribute() {
		ok := false
		for _, s := range allowed {
			ok = ok || a.GetName() == s
		}
		if !ok {
			return nil, fmt.Errorf("%w: attribute %q", ErrUnsupported, a.GetName())
		}
		m[a.GetName()] = a
	}
	return m, nil
}

func ints(a *pb.AttributeProto, n int) ([]int, error) {
	if a == nil || len(a.GetInts()) != n {
		return nil, fmt.Errorf("%w: attribute %q needs %d ints", ErrCorrupt, a.GetName(), n)
	}
	out := make([]int, n)
	for i, v := range a.GetInts() {
		if v < 0 || v > 1<<20 {
			return nil, fmt.Errorf("%w: attribute %q value %d", ErrCorrupt, a.GetName(), v)
		}
		out[i] = int(v)
	}
	return out, nil
}

// floatIn resolves a float input of a compute node to a graph activation.
// layerIn resolves the [x, weights, bias] inputs of a Conv or Gemm node:
// a float activation and two constants of which the weights have rank
// dims, neither shared with another node; it marks both as used.
func (r *reader) layerIn(in []string, op string, dims int) (x, wi, bi int, err error) {
	if x, err = r.floatIn(in[0]); err != nil {
		return
	}
	if wi, err = r.constIn(in[1]); err != nil {
		return
	}
	if bi, err = r.constIn(in[2]); err != nil {
		return
	}
	if len(r.g.Tensors[wi].Shape) != dims || r.used[wi] || r.used[bi] {
		return 0, 0, 0, fmt.Errorf("%w: %s weights %q must be %d-D and not shared", ErrUnsupported, op, in[1], dims)
	}
	r.used[wi], r.used[bi] = true, true
	return x, wi, bi, nil
}

func (r *reader) floatIn(name string) (int, error) {
	v, ok := r.vals[name]
	if !ok {
		return 0, fmt.Errorf("%w: input %q is not defined before use", ErrCorrupt, name)
	}
	switch {
	case v.kind == vGraph && r.g.Tensors[v.idx].Type == model.Float32 && r.g.Tensors[v.idx].Data == nil:
		return v.idx, nil
	case v.kind == vDQ && !v.dqInit:
		return v.idx, nil
	}
	return 0, fmt.Errorf("%w: input %q must be a float activation or its DequantizeLinear", ErrUnsupported, name)
}

// constIn resolves a weight/bias input: a float initializer or the
// DequantizeLinear of one.
func (r *reader) constIn(name string) (int, error) {
	if v, ok := r.vals[name]; ok {
		if v.kind == vDQ && v.dqInit {
			return v.idx, nil
		}
		return 0, fmt.Errorf("%w: weights %q must be constant", ErrUnsupported, name)
	}
	i, err := r.constTensor(name)
	if err != nil {
		return 0, err
	}
	if r.g.Tensors[i].Type != model.Float32 {
		return 0, fmt.Errorf("%w: %v weights %q without DequantizeLinear", ErrUnsupported, r.g.Tensors[i].Type, name)
	}
	return i, nil
}

// output handles the output of a compute node: a declared name is the op's
// float output tensor, anything else a pending result.
func (r *reader) output(n *pb.NodeProto, k int) error {
	if len(n.GetOutput()) != 1 || n.GetOutput()[0] == "" {
		return fmt.Errorf("%w: needs exactly one output", ErrUnsupported)
	}
	name := n.GetOutput()[0]
	if _, ok := r.vals[name]; ok {
		return fmt.Errorf("%w: value %q defined twice", ErrCorrupt, name)
	}
	if r.declared[name] != nil {
		i, err := r.newActivation(name)
		if err != nil {
			return err
		}
		r.g.Ops[k].Outputs = []int{i}
		r.vals[name] = value{kind: vGraph, idx: i}
		return nil
	}
	r.vals[name] = value{kind: vPre, idx: k}
	return nil
}

// nodeReader reads one kind of ONNX operator into the graph.
type nodeReader struct {
	minIn, maxIn int // the number of inputs the operator takes
	read         func(r *reader, n *pb.NodeProto, in []string) error
}

// nodeReaders maps each ONNX operator type edgecnn reads to its reader.
var nodeReaders = map[string]nodeReader{
	"DequantizeLinear": {2, 3, (*reader).dequantizeNode},
	"QuantizeLinear":   {2, 3, (*reader).quantizeNode},
	"Relu":             {1, 1, (*reader).reluNode},
	"Conv":             {3, 3, (*reader).convNode},
	"MaxPool":          {1, 1, (*reader).maxPoolNode},
	"Reshape":          {2, 2, (*reader).reshapeNode},
	"Gemm":             {3, 3, (*reader).gemmNode},
	"Softmax":          {1, 1, (*reader).softmaxNode},
}

func (r *reader) node(n *pb.NodeProto) error {
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return fmt.Errorf("%w: operator domain %q", ErrUnsupported, d)
	}
	nr, ok := nodeReaders[n.GetOpType()]
	if !ok {
		return fmt.Errorf("%w: operator %q (edgecnn reads Conv, Relu, MaxPool, Reshape, Gemm, Softmax, QuantizeLinear, DequantizeLinear)", ErrUnsupported, n.GetOpType())
	}
	in := n.GetInput()
	if len(in) < nr.minIn || len(in) > nr.maxIn {
		return fmt.Errorf("%w: %d inputs (want %d to %d)", ErrCorrupt, len(in), nr.minIn, nr.maxIn)
	}
	return nr.read(r, n, in)
}

// newOp appends op to the graph and returns its index.
func (r *reader) newOp(op model.Op) int {
	r.g.Ops = append(r.g.Ops, op)
	return len(r.g.Ops) - 1
}

// singleOutput is the one output name of a Q/DQ node, not yet defined.
func (r *reader) singleOutput(n *pb.NodeProto) (string, error) {
	if len(n.GetOutput()) != 1 {
		return "", fmt.Errorf("%w: needs one output", ErrCorrupt)
	}
	return n.GetOutput()[0], nil
}

// dequantizeNode reads a DequantizeLinear: of an initializer (quantized
// weights or bias) or of a quantized activation.
func (r *reader) dequantizeNode(n *pb.NodeProto, in []string) error {
	out, err := r.singleOutput(n)
	if err != nil {
		return err
	}
	if _, ok := r.vals[out]; ok {
		return fmt.Errorf("%w: value %q defined twice", ErrCorrupt, out)
	}
	if r.inits[in[0]] != nil {
		return r.dequantizeConst(n, in, out)
	}
	return r.dequantizeActivation(n, in, out)
}

// dequantizeConst attaches the quantization of a DequantizeLinear to the
// constant it reads; out names the constant's float view.
func (r *reader) dequantizeConst(n *pb.NodeProto, in []string, out string) error {
	i, err := r.constTensor(in[0])
	if err != nil {
		return err
	}
	t := &r.g.Tensors[i]
	q, zt, err := r.quant(n, t.Type)
	if err != nil {
		return err
	}
	if zt != t.Type && !(t.Type == model.Int32 && len(in) == 2) {
		return fmt.Errorf("%w: zero point type %v for %v data", ErrCorrupt, zt, t.Type)
	}
	if t.Quant != nil {
		return fmt.Errorf("%w: constant %q dequantized twice", ErrUnsupported, in[0])
	}
	if len(q.Scale) > 1 && (len(t.Shape) == 0 || t.Shape[0] != len(q.Scale)) {
		return fmt.Errorf("%w: %d scales for %q of shape %v", ErrCorrupt, len(q.Scale), in[0], t.Shape)
	}
	t.Quant = q
	r.vals[out] = value{kind: vDQ, idx: i, dqInit: true}
	return nil
}

// dequantizeActivation reads the DequantizeLinear of a quantized
// activation: a DEQUANTIZE op when out is a declared (graph) value, else a
// float view that the next compute node consumes.
func (r *reader) dequantizeActivation(n *pb.NodeProto, in []string, out string) error {
	v, ok := r.vals[in[0]]
	if !ok || v.kind != vGraph {
		return fmt.Errorf("%w: input %q is not a quantized activation", ErrUnsupported, in[0])
	}
	t := &r.g.Tensors[v.idx]
	if t.Type != model.Int8 && t.Type != model.UInt8 {
		return fmt.Errorf("%w: DequantizeLinear of %v value %q", ErrUnsupported, t.Type, in[0])
	}
	q, zt, err := r.quant(n, t.Type)
	if err != nil {
		return err
	}
	if zt != t.Type || len(q.Scale) != 1 {
		return fmt.Errorf("%w: activation %q: zero point %v / %d scales", ErrUnsupported, in[0], zt, len(q.Scale))
	}
	if t.Quant == nil {
		t.Quant = q
	} else if t.Quant.Scale[0] != q.Scale[0] || t.Quant.ZeroPoint[0] != q.ZeroPoint[0] {
		return fmt.Errorf("%w: activation %q dequantized with different parameters than it was quantized with", ErrUnsupported, in[0])
	}
	if r.declared[out] != nil {
		k := r.newOp(model.Op{Code: model.OpDequantize, Inputs: []int{v.idx}})
		return r.output(n, k)
	}
	r.vals[out] = value{kind: vDQ, idx: v.idx}
	return nil
}

// quantizeNode reads a QuantizeLinear: it becomes the int8/uint8 output of
// the pending op it follows, or a QUANTIZE op of a float activation.
func (r *reader) quantizeNode(n *pb.NodeProto, in []string) error {
	out, err := r.singleOutput(n)
	if err != nil {
		return err
	}
	q, zt, err := r.quant(n, -1)
	if err != nil {
		return err
	}
	if len(q.Scale) != 1 || (zt != model.Int8 && zt != model.UInt8) {
		return fmt.Errorf("%w: QuantizeLinear to %v with %d scales", ErrUnsupported, zt, len(q.Scale))
	}
	oi, err := r.newActivation(out)
	if err != nil {
		return err
	}
	ot := &r.g.Tensors[oi]
	if ot.Type != zt {
		return fmt.Errorf("%w: %q declared %v, zero point is %v", ErrCorrupt, out, ot.Type, zt)
	}
	ot.Quant = q
	r.vals[out] = value{kind: vGraph, idx: oi}
	v, ok := r.vals[in[0]]
	if !ok {
		return fmt.Errorf("%w: input %q is not defined before use", ErrCorrupt, in[0])
	}
	switch {
	case v.kind == vPre:
		if len(r.g.Ops[v.idx].Outputs) != 0 {
			return fmt.Errorf("%w: op result %q used twice", ErrUnsupported, in[0])
		}
		r.g.Ops[v.idx].Outputs = []int{oi}
	case v.kind == vGraph && r.g.Tensors[v.idx].Type == model.Float32 && r.g.Tensors[v.idx].Data == nil,
		v.kind == vDQ && !v.dqInit:
		r.newOp(model.Op{Code: model.OpQuantize, Inputs: []int{v.idx}, Outputs: []int{oi}})
	default:
		return fmt.Errorf("%w: QuantizeLinear of %q", ErrUnsupported, in[0])
	}
	return nil
}

// reluNode fuses a Relu into the Conv or Gemm whose result it reads.
func (r *reader) reluNode(n *pb.NodeProto, in []string) error {
	if _, err := attrs(n); err != nil {
		return err
	}
	v, ok := r.vals[in[0]]
	if !ok || v.kind != vPre {
		return fmt.Errorf("%w: Relu must directly follow Conv or Gemm", ErrUnsupported)
	}
	op := &r.g.Ops[v.idx]
	if (op.Code != model.OpConv2D && op.Code != model.OpFullyConnected) || op.Activation != model.ActNone || len(op.Outputs) != 0 {
		return fmt.Errorf("%w: Relu after %v", ErrUnsupported, op.Code)
	}
	op.Activation = model.ActReLU
	delete(r.vals, in[0])
	return r.output(n, v.idx)
}

// convNode reads a Conv (no dilation, no groups, explicit pads) into a
// CONV_2D, laying its weights out OHWI.
func (r *reader) convNode(n *pb.NodeProto, in []string) error {
	a, err := attrs(n, "kernel_shape", "pads", "strides", "dilations", "group", "auto_pad")
	if err != nil {
		return err
	}
	if d := a["dilations"]; d != nil {
		if dl, err := ints(d, 2); err != nil || dl[0] != 1 || dl[1] != 1 {
			return fmt.Errorf("%w: dilations", ErrUnsupported)
		}
	}
	if gr := a["group"]; gr != nil && gr.GetI() != 1 {
		return fmt.Errorf("%w: grouped convolution", ErrUnsupported)
	}
	if ap := a["auto_pad"]; ap != nil && string(ap.GetS()) != "NOTSET" {
		return fmt.Errorf("%w: auto_pad %q", ErrUnsupported, ap.GetS())
	}
	x, wi, bi, err := r.layerIn(in, "Conv", 4)
	if err != nil {
		return err
	}
	wt := &r.g.Tensors[wi]
	kh, kw := wt.Shape[2], wt.Shape[3]
	oihwToOHWI(wt)
	ks, st, pads, err := windowAttrs(a)
	if err != nil {
		return err
	}
	if ks[0] != kh || ks[1] != kw || st[0] < 1 || st[1] < 1 {
		return fmt.Errorf("%w: kernel_shape %v / strides %v", ErrCorrupt, ks, st)
	}
	op := model.Op{Code: model.OpConv2D, Inputs: []int{x, wi, bi}, StrideH: st[0], StrideW: st[1]}
	xt := &r.g.Tensors[x]
	if op.Padding, err = padding(pads, xt.Shape, kh, kw, st); err != nil {
		return err
	}
	return r.output(n, r.newOp(op))
}

// oihwToOHWI reorders the data of 4-D weights from ONNX's OIHW to the
// graph's OHWI.
func oihwToOHWI(wt *model.Tensor) {
	o, ci, kh, kw := wt.Shape[0], wt.Shape[1], wt.Shape[2], wt.Shape[3]
	es := wt.Type.Size()
	nd := make([]byte, len(wt.Data))
	for aa := 0; aa < o; aa++ {
		for c := 0; c < ci; c++ {
			for y := 0; y < kh; y++ {
				for xx := 0; xx < kw; xx++ {
					src := ((aa*ci+c)*kh+y)*kw + xx
					dst := ((aa*kh+y)*kw+xx)*ci + c
					copy(nd[dst*es:(dst+1)*es], wt.Data[src*es:(src+1)*es])
				}
			}
		}
	}
	wt.Data, wt.Shape = nd, []int{o, kh, kw, ci}
}

// windowAttrs reads the kernel_shape, strides and pads attributes of a
// Conv or MaxPool, all required.
func windowAttrs(a map[string]*pb.AttributeProto) (ks, st, pads []int, err error) {
	if ks, err = ints(a["kernel_shape"], 2); err != nil {
		return nil, nil, nil, err
	}
	if st, err = ints(a["strides"], 2); err != nil {
		return nil, nil, nil, err
	}
	if pads, err = ints(a["pads"], 4); err != nil {
		return nil, nil, nil, err
	}
	return ks, st, pads, nil
}

// maxPoolNode reads a MaxPool (no indices output) into a MAX_POOL_2D.
func (r *reader) maxPoolNode(n *pb.NodeProto, in []string) error {
	if len(n.GetOutput()) != 1 {
		return fmt.Errorf("%w: MaxPool with indices output", ErrUnsupported)
	}
	a, err := attrs(n, "kernel_shape", "pads", "strides")
	if err != nil {
		return err
	}
	x, err := r.floatIn(in[0])
	if err != nil {
		return err
	}
	ks, st, pads, err := windowAttrs(a)
	if err != nil {
		return err
	}
	if ks[0] < 1 || ks[1] < 1 || st[0] < 1 || st[1] < 1 {
		return fmt.Errorf("%w: kernel_shape %v strides %v", ErrCorrupt, ks, st)
	}
	op := model.Op{Code: model.OpMaxPool2D, Inputs: []int{x}, FilterH: ks[0], FilterW: ks[1], StrideH: st[0], StrideW: st[1]}
	if op.Padding, err = padding(pads, r.g.Tensors[x].Shape, ks[0], ks[1], st); err != nil {
		return err
	}
	return r.output(n, r.newOp(op))
}

// reshapeNode reads a Reshape whose shape is an unshared int64
// initializer; the shape tensor becomes int32, as TFLite has it.
func (r *reader) reshapeNode(n *pb.NodeProto, in []string) error {
	if _, err := attrs(n); err != nil {
		return err
	}
	x, err := r.floatIn(in[0])
	if err != nil {
		return err
	}
	si, err := r.constTensor(in[1])
	if err != nil {
		return err
	}
	st := &r.g.Tensors[si]
	if st.Type != model.Int64 || len(st.Shape) != 1 || r.used[si] {
		return fmt.Errorf("%w: Reshape shape %q must be an unshared 1-D int64 initializer", ErrUnsupported, in[1])
	}
	r.used[si] = true
	vals := make([]int32, st.Shape[0])
	ns := make([]int, st.Shape[0])
	for j := range vals {
		v := int64(binary.LittleEndian.Uint64(st.Data[8*j:]))
		if v < -1 || v > 1<<30 {
			return fmt.Errorf("%w: Reshape shape value %d", ErrUnsupported, v)
		}
		vals[j], ns[j] = int32(v), int(v)
	}
	st.Type, st.Data = model.Int32, model.I32Bytes(vals)
	return r.output(n, r.newOp(model.Op{Code: model.OpReshape, Inputs: []int{x, si}, NewShape: ns}))
}

// gemmNode reads a Gemm (transB=1, alpha=beta=1) into a FULLY_CONNECTED.
func (r *reader) gemmNode(n *pb.NodeProto, in []string) error {
	a, err := attrs(n, "transB", "transA", "alpha", "beta")
	if err != nil {
		return err
	}
	if a["transB"] == nil || a["transB"].GetI() != 1 || (a["transA"] != nil && a["transA"].GetI() != 0) ||
		(a["alpha"] != nil && a["alpha"].GetF() != 1) || (a["beta"] != nil && a["beta"].GetF() != 1) {
		return fmt.Errorf("%w: Gemm must be transB=1, transA=0, alpha=beta=1", ErrUnsupported)
	}
	x, wi, bi, err := r.layerIn(in, "Gemm", 2)
	if err != nil {
		return err
	}
	// Undo the NCHW column order when fed by a Reshape of a 4-D tensor.
	if hwc, ok := r.flattenedFrom(x); ok {
		if err := chwToHWCColumns(&r.g.Tensors[wi], hwc); err != nil {
			return err
		}
	}
	return r.output(n, r.newOp(model.Op{Code: model.OpFullyConnected, Inputs: []int{x, wi, bi}}))
}

// chwToHWCColumns reorders the input columns of [O, H·W·C] weights from the
// C,H,W order of a flattened NCHW tensor to the H,W,C order of NHWC.
func chwToHWCColumns(wt *model.Tensor, hwc [3]int) error {
	h, wd, c := hwc[0], hwc[1], hwc[2]
	o, nIn := wt.Shape[0], wt.Shape[1]
	if h*wd*c != nIn {
		return fmt.Errorf("%w: Gemm has %d inputs, flattened tensor %d", ErrCorrupt, nIn, h*wd*c)
	}
	es := wt.Type.Size()
	nd := make([]byte, len(wt.Data))
	for aa := 0; aa < o; aa++ {
		for cc := 0; cc < c; cc++ {
			for y := 0; y < h; y++ {
				for xx := 0; xx < wd; xx++ {
					src := aa*nIn + (cc*h+y)*wd + xx
					dst := aa*nIn + (y*wd+xx)*c + cc
					copy(nd[dst*es:(dst+1)*es], wt.Data[src*es:(src+1)*es])
				}
			}
		}
	}
	wt.Data = nd
	return nil
}

// softmaxNode reads a Softmax over the last (class) axis.
func (r *reader) softmaxNode(n *pb.NodeProto, in []string) error {
	a, err := attrs(n, "axis")
	if err != nil {
		return err
	}
	if ax := a["axis"]; ax != nil && ax.GetI() != -1 && ax.GetI() != 1 {
		return fmt.Errorf("%w: Softmax axis %d", ErrUnsupported, ax.GetI())
	}
	x, err := r.floatIn(in[0])
	if err != nil {
		return err
	}
	return r.output(n, r.newOp(model.Op{Code: model.OpSoftmax, Inputs: []int{x}, Beta: 1}))
}

// flattenedFrom reports the [H,W,C] of a 4-D tensor that RESHAPE flattened
// into activation x.
func (r *reader) flattenedFrom(x int) ([3]int, bool) {
	for _, op := range r.g.Ops {
		if op.Code == model.OpReshape && len(op.Outputs) == 1 && op.Outputs[0] == x {
			s := r.g.Tensors[op.Inputs[0]].Shape
			if len(s) == 4 && (s[1] != 1 || s[2] != 1) {
				return [3]int{s[1], s[2], s[3]}, true
			}
		}
	}
	return [3]int{}, false
}

// padding maps explicit ONNX pads back to SAME or VALID.
func padding(pads, in []int, kh, kw int, st []int) (model.Padding, error) {
	if len(in) != 4 {
		return 0, fmt.Errorf("%w: input of rank %d", ErrUnsupported, len(in))
	}
	if pads[0] == 0 && pads[1] == 0 && pads[2] == 0 && pads[3] == 0 {
		// Zero pads: VALID (a SAME op that needs no padding computes the
		// same, and writes back to the same ONNX bytes).
		return model.PadValid, nil
	}
	oh := (in[1] + st[0] - 1) / st[0]
	ow := (in[2] + st[1] - 1) / st[1]
	t, b := samePads(in[1], oh, kh, st[0])
	l, rr := samePads(in[2], ow, kw, st[1])
	if pads[0] == t && pads[1] == l && pads[2] == b && pads[3] == rr {
		return model.PadSame, nil
	}
	return 0, fmt.Errorf("%w: pads %v are neither SAME nor VALID", ErrUnsupported, pads)
}
