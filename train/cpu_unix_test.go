//go:build unix

package train

import "syscall"

// cpuNanos is the process's user+system CPU time (for benchmarks on a
// shared machine, where wall time measures the load).
func cpuNanos() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
