package native

import (
	"context"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

func TestTmpMin(t *testing.T) {
	m := randomModel(model.SeedArch(), 1)
	e, _ := New(floatGraph(m), runtime.Options{Threads: 1})
	in := randInput(e.InputSize(), 1)
	out := make([]float32, e.OutputSize())
	e.Run(context.Background(), in, 1, out)
	best := time.Hour
	steps := make([]time.Duration, len(e.steps))
	for i := range steps {
		steps[i] = time.Hour
	}
	for i := 0; i < 3000; i++ {
		t0 := time.Now()
		e.Run(context.Background(), in, 1, out)
		best = min(best, time.Since(t0))
		for j := range e.steps {
			t1 := time.Now()
			e.steps[j].run(1)
			steps[j] = min(steps[j], time.Since(t1))
		}
	}
	t.Logf("run min %v", best)
	for j := range steps {
		t.Logf("step %d op %v: %v", j, e.g.Ops[e.steps[j].op].Code, steps[j])
	}
}

func BenchmarkTmpStep(b *testing.B) {
	m := randomModel(model.SeedArch(), 1)
	e, _ := New(floatGraph(m), runtime.Options{Threads: 1})
	in := randInput(e.InputSize(), 1)
	out := make([]float32, e.OutputSize())
	e.Run(context.Background(), in, 1, out)
	for b.Loop() {
		e.steps[0].run(1)
	}
}
