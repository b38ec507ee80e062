package train

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/model"
)

type tm struct{}

func now() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
func since(t time.Duration) time.Duration { return now() - t }
func TestDbgOps(t *testing.T) {
	runtime.LockOSThread()
	m := newTestModel(t, model.SeedArch(), 1)
	net, _ := NewNet(m, 64, 1)
	defer net.Close()
	net.SetOptimizer("adam", 0)
	batch := randomBatch(1, 64, m.Arch)
	net.Step(batch, 1, 1e-3)
	s := net.shards[0]
	const R = 20
	for i := range net.ops {
		o := &net.ops[i]
		t0 := now()
		for r := 0; r < R; r++ {
			net.exec(s, job{jobForward, i})
		}
		f := since(t0) / R
		t0 = now()
		for r := 0; r < R; r++ {
			net.exec(s, job{jobBackward, i})
		}
		b := since(t0) / R
		fmt.Printf("op %d kind %d %s: fwd %v bwd %v\n", i, o.kind, o.l.Name, f, b)
	}
	t0 := now()
	for r := 0; r < R; r++ {
		net.Step(batch, 1, 1e-3)
	}
	fmt.Println("step", since(t0)/R)
	t0 = now()
	for r := 0; r < R; r++ {
		net.run(job{kind: jobUpdate})
	}
	fmt.Println("update", since(t0)/R)
}

func BenchmarkPool(b *testing.B) {
	in := model.Shape{28, 28, 32}
	out := model.Shape{14, 14, 32}
	x := make([]float32, 64*in.Size())
	r := NewRNG(1)
	for i := range x {
		x[i] = r.Uniform(-1, 1)
	}
	y := make([]float32, 64*out.Size())
	w := make([]uint8, len(y))
	bias := make([]float32, 32)
	dx := make([]float32, len(x))
	db := make([]float32, 32)
	b.Run("fwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			reluPool(x, in, 2, 2, out, 64, bias, y, w, true)
		}
	})
	b.Run("bwd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			poolBackward(y, w, in, 2, 2, out, 64, dx, db)
		}
	})
	col := make([]float32, 64*784*9)
	b.Run("im2col1", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			im2col(x[:64*784], model.Shape{28, 28, 1}, 3, 1, 1, model.Shape{28, 28, 32}, 64, col)
		}
	})
	col2 := make([]float32, 64*196*288)
	b.Run("im2col2", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			im2col(x[:64*196*32], model.Shape{14, 14, 32}, 3, 1, 1, model.Shape{14, 14, 64}, 64, col2)
		}
	})
	b.Run("col2im2", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			col2im(col2, model.Shape{14, 14, 32}, 3, 1, 1, model.Shape{14, 14, 64}, 64, x[:64*196*32])
		}
	})
}
