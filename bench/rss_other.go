//go:build !unix

package bench

import "os"

func maxRSSBytes(ps *os.ProcessState) (int64, bool) { return 0, false }

func selfMaxRSSBytes() (int64, bool) { return 0, false }

func selfCPUTime() (int64, bool) { return 0, false }
