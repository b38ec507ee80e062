package native

import (
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// TestMACs: the seed CNN's multiply-accumulates per image, from its
// shapes: conv1 28·28·32·9, conv2 14·14·64·288, fc1 3136·128, fc2 128·10.
func TestMACs(t *testing.T) {
	const want = 28*28*32*9 + 14*14*64*288 + 3136*128 + 128*10
	m := randomModel(model.SeedArch(), 1)
	for name, g := range map[string]*model.Graph{"int8": int8Graph(m, true, 1), "float": floatGraph(m)} {
		e, err := New(g, runtime.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.MACs(); got != want {
			t.Errorf("%s: MACs %d, want %d", name, got, want)
		}
		if got := e.Quantized(); got != (name == "int8") {
			t.Errorf("%s: Quantized %v", name, got)
		}
		e.Close()
	}
}
