package train

import (
	"math"

	"github.com/edgecnn/edgecnn/model"
)

// Init sets the parameters of m as PyTorch initializes Conv2d and Linear
// (kaiming_uniform with a=√5: weights and biases uniform in ±1/√fan_in),
// BatchNorm to γ=1, β=0 with running statistics (0, 1), drawing from the
// seed's initialization stream.
func Init(m *model.Model, seed uint64) {
	r := NewRNG(seed, streamInit)
	for i := range m.Layers {
		l := &m.Layers[i]
		switch l.Kind {
		case model.KindConv2D, model.KindDense:
			fanIn := len(l.Weight) / l.Out.C
			bound := float32(1 / math.Sqrt(float64(fanIn)))
			for k := range l.Weight {
				l.Weight[k] = r.Uniform(-bound, bound)
			}
			for k := range l.Bias {
				l.Bias[k] = r.Uniform(-bound, bound)
			}
		case model.KindBatchNorm:
			for c := range l.Gamma {
				l.Gamma[c], l.Beta[c], l.RunMean[c], l.RunVar[c] = 1, 0, 0, 1
			}
		}
	}
}
