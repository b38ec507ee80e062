//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// processRuns reports whether a process with id pid exists (in this pid
// namespace). A process of another user counts as running.
func processRuns(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
