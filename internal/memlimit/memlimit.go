// Package memlimit finds out how much memory this process may use: the
// machine's RAM or, when smaller, the limit of its memory cgroup (systemd's
// MemoryMax=, a container runtime's limit). Limits of the HTTP API and of
// the inference engines are derived from it.
package memlimit

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Available returns the bytes of memory this process may use: the
// smaller of the machine's RAM (/proc/meminfo) and the memory limit of its
// cgroup (v2 memory.max or v1 memory.limit_in_bytes, as systemd's
// MemoryMax= or a container runtime set it), and a description of where
// the number came from. It returns 0 when neither can be read.
func Available() (int64, string) {
	mem, src := memTotal("/proc/meminfo"), "MemTotal"
	if lim, path := cgroupLimit("/proc/self/cgroup", "/sys/fs/cgroup"); lim > 0 && (mem == 0 || lim < mem) {
		mem, src = lim, path
	}
	return mem, src
}

func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fs[1], 10, 64)
			if err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return 0
}

// cgroupLimit reads the memory limit of the process's cgroup (and of its
// ancestors: the smallest wins) below root.
func cgroupLimit(selfCgroup, root string) (int64, string) {
	b, err := os.ReadFile(selfCgroup)
	if err != nil {
		return 0, ""
	}
	best, bestPath := int64(0), ""
	consider := func(file string) {
		raw, err := os.ReadFile(file)
		if err != nil {
			return
		}
		s := strings.TrimSpace(string(raw))
		if s == "max" {
			return
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v >= 1<<60 {
			return
		}
		if best == 0 || v < best {
			best, bestPath = v, file
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = filepath.Join(root, "unified"), "memory.max"
			if _, err := os.Stat(dir); err != nil {
				dir = root
			}
		case strings.Contains(","+parts[1]+",", ",memory,"):
			dir, file = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		// The process's own cgroup and its ancestors up to the root.
		for p := filepath.Clean("/" + parts[2]); ; p = filepath.Dir(p) {
			consider(filepath.Join(dir, p, file))
			if p == "/" {
				break
			}
		}
	}
	return best, bestPath
}

// EngineDefault is the default memory an inference engine may allocate for
// activations and work buffers: a quarter of the memory available, at
// least 64 MiB and at most 1 GiB (a digit model needs well under 1 MiB).
func EngineDefault() int64 {
	mem, _ := Available()
	if mem <= 0 {
		mem = 1 << 30
	}
	return min(max(mem/4, 64<<20), 1<<30)
}
