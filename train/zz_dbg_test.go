package train

import (
	"context"
	"fmt"
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

func TestDbgBN(t *testing.T) {
	ds := loadMNIST(t)
	ck, err := model.ReadCheckpointFile("../.cache/bench-train/seed3.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	m := ck.Model
	ev, _ := Evaluate(context.Background(), m, ds.Test, 2)
	fmt.Println("eval running stats:", ev.Accuracy, ev.Loss)
	for _, l := range m.Layers {
		if l.Kind == model.KindBatchNorm {
			fmt.Println(l.Name, "mean", l.RunMean[:4], "var", l.RunVar[:4], "gamma", l.Gamma[:4])
		}
	}
	net, _ := NewNet(m, 500, 2)
	net.SetOptimizer("adam", 0)
	b := &Batch{Pixels: ds.Test.Images, Index: make([]int, 500), Labels: make([]uint8, 500)}
	correct := 0
	for s := 0; s < 10000; s += 500 {
		for k := range b.Index {
			b.Index[k], b.Labels[k] = s+k, ds.Test.Labels[s+k]
		}
		r := net.lossAndGrad(b, 1, false)
		correct += r.Correct
	}
	fmt.Println("batch-stat BN accuracy:", float64(correct)/100)
	// training set accuracy with running stats
	ev, _ = Evaluate(context.Background(), m, ds.Train.Slice(10000), 2)
	fmt.Println("train[:10000] running stats:", ev.Accuracy)
}
