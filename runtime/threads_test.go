package runtime

import (
	goruntime "runtime"
	"testing"
)

func TestThreads(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, goruntime.NumCPU()}, {1, 1}, {7, 7}, {MaxThreads, MaxThreads}} {
		if got, err := Threads(c.in); err != nil || got != c.want {
			t.Errorf("Threads(%d) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []int{-1, MaxThreads + 1} {
		if _, err := Threads(bad); err == nil {
			t.Errorf("Threads(%d) accepted", bad)
		}
	}
}
