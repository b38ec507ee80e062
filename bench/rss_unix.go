//go:build unix

package bench

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSSBytes is the peak resident set size of a finished child process.
func maxRSSBytes(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return 0, false
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss), true // bytes
	}
	return int64(ru.Maxrss) * 1024, true // Linux: KiB
}

// selfMaxRSSBytes is this process's peak resident set size so far.
func selfMaxRSSBytes() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss), true
	}
	return int64(ru.Maxrss) * 1024, true
}

// selfCPUTime is this process's user+system CPU time in nanoseconds.
func selfCPUTime() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
