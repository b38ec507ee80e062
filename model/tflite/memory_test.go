package tflite

import (
	"math"
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

// activations is the reference: the graph's tensors without data, batch 1.
func activations(g *model.Graph) int64 {
	var n int64
	for i := range g.Tensors {
		t := &g.Tensors[i]
		if t.Data != nil {
			continue
		}
		b := int64(t.Type.Size())
		for _, d := range t.Shape {
			b *= int64(max(d, 1))
		}
		n += b
	}
	return n
}

func TestActivationBytes(t *testing.T) {
	for name, g := range testGraphs(t) {
		b, err := Write(g)
		if err != nil {
			t.Fatal(err)
		}
		n, err := ActivationBytes(b)
		if err != nil || n != activations(g) || n <= 0 {
			t.Errorf("%s: ActivationBytes = %d, %v; want %d", name, n, err, activations(g))
		}
	}
	// Sizes whose product or sum overflows saturate instead of wrapping.
	if n := model.SatMul(model.SatMul(4, 1<<31), 1<<31); n != math.MaxInt64 {
		t.Errorf("4·2^62 = %d, want MaxInt64", n)
	}
	if n := model.SatAdd(math.MaxInt64-1, 2); n != math.MaxInt64 {
		t.Errorf("MaxInt64+1 = %d, want MaxInt64", n)
	}
	for _, bad := range [][]byte{nil, []byte("not a model at all"), []byte("\x10\x00\x00\x00TFL3garbage\xff\xff\xff\xff")} {
		if _, err := ActivationBytes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzActivationBytes(f *testing.F) {
	for _, g := range testGraphs(f) {
		b, err := Write(g)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, err := ActivationBytes(data); err == nil && n < 0 {
			t.Fatalf("negative size %d", n)
		}
	})
}
