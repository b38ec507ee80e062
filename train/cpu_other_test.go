//go:build !unix

package train

// cpuNanos is not measured here: the cpu-ns/op metrics read 0.
func cpuNanos() int64 { return 0 }
