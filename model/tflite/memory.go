package tflite

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/edgecnn/edgecnn/model"
	fb "github.com/edgecnn/edgecnn/model/tflite/internal/tflitefb"
)

// ActivationBytes is the memory the model's non-constant tensors (inputs,
// outputs and intermediate activations: tensors whose buffer holds no
// data) take for one image, summed over every subgraph: dimensions of -1
// or 0 (a dynamic batch) count as 1. It is what a runtime without memory
// reuse allocates, and an upper bound of TensorFlow Lite's arena, which
// shares memory between tensors whose lifetimes do not overlap. Unlike
// Read, it accepts any TFLite file (custom operators, several subgraphs):
// the cgo backends check it against their memory limit before handing the
// file to the library. A sum above math.MaxInt64 saturates.
func ActivationBytes(data []byte) (n int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("tflite: %w: out-of-range read (%v)", ErrCorrupt, r)
		}
	}()
	if len(data) < 8 || !flatbuffers.BufferHasIdentifier(data, FileIdentifier) {
		return 0, fmt.Errorf("tflite: %w: not a TFLite model", ErrCorrupt)
	}
	if root := flatbuffers.GetUOffsetT(data); int(root) > len(data)-4 {
		return 0, fmt.Errorf("tflite: %w: root offset %d outside %d bytes", ErrCorrupt, root, len(data))
	}
	r := reader{n: len(data)}
	m := fb.GetRootAsModel(data, 0)
	nb := m.BuffersLength()
	if err := r.vec("buffers", nb, 4); err != nil {
		return 0, fmt.Errorf("tflite: %w", err)
	}
	hasData := func(i uint32) bool {
		var b fb.Buffer
		if int(i) >= nb || !m.Buffers(&b, int(i)) {
			return false
		}
		return b.DataLength() > 0 || b.Size() > 0
	}
	ns := m.SubgraphsLength()
	if err := r.vec("subgraphs", ns, 4); err != nil {
		return 0, fmt.Errorf("tflite: %w", err)
	}
	var sg fb.SubGraph
	var t fb.Tensor
	for s := 0; s < ns; s++ {
		if !m.Subgraphs(&sg, s) {
			return 0, fmt.Errorf("tflite: %w: subgraph %d missing", ErrCorrupt, s)
		}
		nt := sg.TensorsLength()
		if err := r.vec("tensors", nt, 4); err != nil {
			return 0, fmt.Errorf("tflite: %w", err)
		}
		for i := 0; i < nt; i++ {
			if !sg.Tensors(&t, i) {
				return 0, fmt.Errorf("tflite: %w: tensor %d missing", ErrCorrupt, i)
			}
			if hasData(t.Buffer()) {
				continue // a constant: already in memory, as read from the file
			}
			b := model.SatMul(1, typeBytes(t.Type()))
			for d := 0; d < t.ShapeLength(); d++ {
				b = model.SatMul(b, max(int64(t.Shape(d)), 1))
			}
			n = model.SatAdd(n, b)
		}
	}
	return n, nil
}

// typeBytes is the size of one element of TFLite type tt (4 when unknown,
// 1 for strings and 4-bit types).
func typeBytes(tt fb.TensorType) int64 {
	switch tt {
	case fb.TensorTypeUINT8, fb.TensorTypeINT8, fb.TensorTypeBOOL, fb.TensorTypeSTRING:
		return 1
	case fb.TensorTypeFLOAT16, fb.TensorTypeINT16:
		return 2
	case fb.TensorTypeINT64, fb.TensorTypeCOMPLEX64:
		return 8
	}
	switch int8(tt) {
	case 10, 12: // FLOAT64, UINT64
		return 8
	case 11: // COMPLEX128
		return 16
	case 15, 16: // UINT32, UINT16
		return 4 - 2*int64(int8(tt)-15)
	case 17: // INT4
		return 1
	}
	return 4
}
