package onnx

import (
	"testing"
)

func TestActivationBytes(t *testing.T) {
	fx := newFixture(t, smallArch())
	for i, g := range fx.graphs {
		b, err := Write(g)
		if err != nil {
			t.Fatal(err)
		}
		g2, err := Read(b)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for j := range g2.Tensors {
			if tt := &g2.Tensors[j]; tt.Data == nil {
				n := int64(tt.Type.Size())
				for _, d := range tt.Shape {
					n *= int64(max(d, 1))
				}
				want += n
			}
		}
		n, err := ActivationBytes(b)
		if err != nil || n < want || want <= 0 {
			t.Errorf("graph %s: ActivationBytes = %d, %v; want at least the read graph's %d", i, n, err, want)
		}
	}
	for _, bad := range [][]byte{[]byte("not a model at all \xff\xff"), {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, err := ActivationBytes(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzActivationBytes(f *testing.F) {
	fx := newFixture(f, smallArch())
	for _, g := range fx.graphs {
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
