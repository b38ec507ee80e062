package train

import (
	"fmt"
	"math"
	"testing"
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
