package runtime

import (
	"fmt"
	goruntime "runtime"
)

// MaxThreads is the largest --threads any command accepts.
const MaxThreads = 256

// Threads resolves a --threads value: 0 is one goroutine per CPU core;
// negative values and values above MaxThreads are an error.
func Threads(n int) (int, error) {
	switch {
	case n < 0 || n > MaxThreads:
		return 0, fmt.Errorf("--threads %d out of range [0, %d] (0: one per CPU core)", n, MaxThreads)
	case n == 0:
		return goruntime.NumCPU(), nil
	}
	return n, nil
}
