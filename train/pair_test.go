package train

import (
	"fmt"
	"math"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/internal/vec"
)

// TestPairChunksMatchWhole runs forward and backward with the fused
// convolution+pooling pairs cut into one-image chunks and in one chunk per
// shard: the loss must be bit-identical (every output is the same sum) and
// every gradient equal up to the summation order of the weight and bias
// gradients over the chunks; with and without BatchNorm (no pairs there),
// on one and two threads.
func TestPairChunksMatchWhole(t *testing.T) {
	defer func(v int) { pairBytes = v }(pairBytes)
	for _, bn := range []bool{false, true} {
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("bn=%v/threads=%d", bn, threads), func(t *testing.T) {
				a := tinyArch(bn, 0)
				var loss [2]float64
				var grad [2][]float32
				for k, bytes := range []int{1 << 30, 1} {
					pairBytes = bytes
					m := newTestModel(t, a, 4)
					net, err := NewNet(m, 7, threads)
					if err != nil {
						t.Fatal(err)
					}
					if pairs := countPairs(net); pairs == 0 && !bn || pairs > 0 && bn {
						t.Fatalf("%d fused pairs with bn=%v", pairs, bn)
					}
					if c := pairChunk(&net.ops[0]); (k == 1) != (c == 1) {
						t.Fatalf("pairBytes %d: chunk of %d images", bytes, c)
					}
					b := randomBatch(5, 7, a)
					loss[k] = net.lossAndGrad(b, 3, true).Loss
					grad[k] = append([]float32(nil), net.shards[0].gflat...)
					net.Close()
				}
				if math.Float64bits(loss[0]) != math.Float64bits(loss[1]) {
					t.Fatalf("loss %v in one chunk, %v in one-image chunks", loss[0], loss[1])
				}
				for i, g := range grad[0] {
					if d := math.Abs(float64(g - grad[1][i])); d > 1e-5*(1+math.Abs(float64(g))) {
						t.Fatalf("gradient %d: %v in one chunk, %v in one-image chunks", i, g, grad[1][i])
					}
				}
			})
		}
	}
}

func countPairs(n *Net) int {
	c := 0
	for i := range n.ops {
		if n.ops[i].pair {
			c++
		}
	}
	return c
}

// TestFusedConvPoolSteps trains the seed model (conv1: one channel, 3×3,
// 32 channels, then 2×2 pooling) for three steps with conv1 and its
// pooling fused (forward: vec.Conv3x3Pool2x2Row; backward: vec.UnpoolBias
// and vec.DWUnpool) and with the steps run one after the other: weights, losses and the next forward's
// logits must be bit-identical, on one and two threads, with and without
// an odd shard. It is skipped where the fused kernel cannot run (no
// AVX-512, or the noasm build): the pair then never fuses.
func TestFusedConvPoolSteps(t *testing.T) {
	if !vec.ConvPoolFused() {
		t.Skip("no AVX-512 kernels in this build or on this CPU: the pair never fuses")
	}
	defer func(v bool) { vec.UseAVX512 = v }(vec.UseAVX512)
	for _, threads := range []int{1, 2} {
		for _, batch := range []int{9, 16} {
			var got [2][]float32
			var losses [2][]float64
			for k, fused := range []bool{true, false} {
				vec.UseAVX512 = fused
				m := newTestModel(t, model.SeedArch(), 2)
				net, err := NewNet(m, batch, threads)
				if err != nil {
					t.Fatal(err)
				}
				if convPoolFused(&net.ops[0], &net.ops[1]) != fused || unpoolFused(&net.ops[0], &net.ops[1]) != fused {
					t.Fatalf("fused=%v: conv1's pair fuses %v", fused, !fused)
				}
				net.SetOptimizer("adam", 0)
				for step := range 3 {
					losses[k] = append(losses[k], net.Step(randomBatch(uint64(step+1), batch, m.Arch), 1, 1e-3).Loss)
				}
				out := make([]float32, batch*10)
				b := randomBatch(9, batch, m.Arch)
				x := make([]float32, batch*m.Input().Size())
				p := newPrep(m)
				p.batch(b, 1, x)
				net.ForwardBatch(x, batch, out)
				net.Close()
				got[k] = append(got[k], out...)
				for _, l := range m.Layers {
					got[k] = append(got[k], l.Weight...)
					got[k] = append(got[k], l.Bias...)
				}
			}
			for i := range losses[0] {
				if math.Float64bits(losses[0][i]) != math.Float64bits(losses[1][i]) {
					t.Fatalf("threads=%d batch=%d: step %d loss %v fused, %v not", threads, batch, i, losses[0][i], losses[1][i])
				}
			}
			for i, v := range got[0] {
				if math.Float32bits(v) != math.Float32bits(got[1][i]) {
					t.Fatalf("threads=%d batch=%d: value %d (logits, then weights) %v fused, %v not", threads, batch, i, v, got[1][i])
				}
			}
		}
	}
}
