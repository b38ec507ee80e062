package native

import "github.com/edgecnn/edgecnn/model"

// MACs is the number of multiply-accumulates of one image through the
// graph's convolutions and fully connected layers (output values per
// image × weights per output channel), the figure edgecnn bench divides
// by the machine's multiply-accumulate peak.
func (e *Engine) MACs() int64 {
	var n int64
	for _, op := range e.g.Ops {
		if (op.Code != model.OpConv2D && op.Code != model.OpFullyConnected) || len(op.Inputs) < 2 || len(op.Outputs) < 1 {
			continue
		}
		w, y := &e.vals[op.Inputs[1]], &e.vals[op.Outputs[0]]
		if len(w.t.Shape) == 0 || w.t.Shape[0] < 1 {
			continue
		}
		n += int64(y.per) * int64(w.per/w.t.Shape[0])
	}
	return n
}

// Quantized reports whether the graph computes in int8 (any int8
// convolution or fully connected layer).
func (e *Engine) Quantized() bool {
	for _, op := range e.g.Ops {
		if (op.Code == model.OpConv2D || op.Code == model.OpFullyConnected) && len(op.Inputs) > 1 && e.vals[op.Inputs[1]].t.Type == model.Int8 {
			return true
		}
	}
	return false
}
