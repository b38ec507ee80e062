package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/edgecnn/edgecnn/model"
	pb "github.com/edgecnn/edgecnn/model/onnx/onnxpb"
)

// ActivationBytes is the memory the model's non-constant tensors take for
// one image, as far as the file tells: for a model Read understands, every
// activation of the graph it reads (shapes inferred op by op); for any
// other, the tensors whose shapes the file declares (graph inputs, outputs
// and value_info, in subgraphs too), initializers excluded. A symbolic or
// zero dimension (a dynamic batch) counts as 1; a sum above math.MaxInt64
// saturates. The onnxruntime backend checks it against its memory limit
// before handing the file to the library.
func ActivationBytes(data []byte) (n int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("onnx: %w: %v", ErrCorrupt, r)
		}
	}()
	m := &pb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		return 0, fmt.Errorf("onnx: %w: %v", ErrCorrupt, err)
	}
	if m.GetGraph() == nil {
		return 0, fmt.Errorf("onnx: %w: no graph", ErrCorrupt)
	}
	n = declaredBytes(m.GetGraph(), 0)
	if g, err := FromProto(m); err == nil {
		var read int64
		for i := range g.Tensors {
			t := &g.Tensors[i]
			if t.Data != nil {
				continue
			}
			b := int64(t.Type.Size())
			for _, d := range t.Shape {
				b = model.SatMul(b, max(int64(d), 1))
			}
			read = model.SatAdd(read, b)
		}
		n = max(n, read)
	}
	return n, nil
}

// declaredBytes sums the declared tensors of gp and its subgraphs.
func declaredBytes(gp *pb.GraphProto, depth int) int64 {
	if gp == nil || depth > 16 {
		return 0
	}
	consts := map[string]bool{}
	for _, t := range gp.GetInitializer() {
		consts[t.GetName()] = true
	}
	seen := map[string]bool{}
	var n int64
	for _, list := range [][]*pb.ValueInfoProto{gp.GetInput(), gp.GetOutput(), gp.GetValueInfo()} {
		for _, v := range list {
			if consts[v.GetName()] || seen[v.GetName()] {
				continue
			}
			seen[v.GetName()] = true
			tt := v.GetType().GetTensorType()
			if tt == nil {
				continue
			}
			b := elemBytes(tt.GetElemType())
			for _, d := range tt.GetShape().GetDim() {
				b = model.SatMul(b, max(d.GetDimValue(), 1))
			}
			n = model.SatAdd(n, b)
		}
	}
	for _, node := range gp.GetNode() {
		for _, a := range node.GetAttribute() {
			n = model.SatAdd(n, declaredBytes(a.GetG(), depth+1))
			for _, sg := range a.GetGraphs() {
				n = model.SatAdd(n, declaredBytes(sg, depth+1))
			}
		}
	}
	return n
}

// elemBytes is the size of an ONNX TensorProto.DataType element (4 when
// unknown).
func elemBytes(t int32) int64 {
	switch t {
	case 2, 3, 9, 17, 18, 19, 20, 21, 22: // uint8, int8, bool, float8 variants, 4-bit types
		return 1
	case 4, 5, 10, 16: // uint16, int16, float16, bfloat16
		return 2
	case 7, 11, 13, 14: // int64, double, uint64, complex64
		return 8
	case 15: // complex128
		return 16
	}
	return 4
}
