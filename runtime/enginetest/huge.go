package enginetest

import (
	"encoding/binary"
	"math"

	"github.com/edgecnn/edgecnn/model"
)

// HugeGraph is a valid float graph within the readers' documented limits
// (dimensions ≤ 2^24, ≤ 2^31 elements per tensor) whose one convolution
// declares an h×w×1 input and an h×w×8 output: 4·9·h·w bytes of
// activations per image (1.1 GiB at 8192×4096) from a file of a few KB —
// issue 12's model that made predict reserve 9.8 GB. Every backend must
// refuse it above its memory limit before allocating.
func HugeGraph(h, w int) *model.Graph {
	f32 := func(n int, v float32) []byte {
		b := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	return &model.Graph{
		Tensors: []model.Tensor{
			{Name: "in", Type: model.Float32, Shape: []int{1, h, w, 1}},
			{Name: "filter", Type: model.Float32, Shape: []int{8, 3, 3, 1}, Data: f32(72, 0.1)},
			{Name: "bias", Type: model.Float32, Shape: []int{8}, Data: f32(8, 0)},
			{Name: "out", Type: model.Float32, Shape: []int{1, h, w, 8}},
		},
		Ops: []model.Op{{Code: model.OpConv2D, Inputs: []int{0, 1, 2}, Outputs: []int{3},
			StrideH: 1, StrideW: 1, Padding: model.PadSame}},
		Inputs: []int{0}, Outputs: []int{3},
	}
}
