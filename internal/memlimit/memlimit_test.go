package memlimit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCgroupLimitV1AndV2(t *testing.T) {
	root := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// v1: the child's limit is smaller than its parent's; the root has none.
	write(filepath.Join(root, "self"), "4:memory:/svc/child\n0::/\n")
	write(filepath.Join(root, "cg/memory/svc/child/memory.limit_in_bytes"), "1073741824\n")
	write(filepath.Join(root, "cg/memory/svc/memory.limit_in_bytes"), "2147483648\n")
	write(filepath.Join(root, "cg/memory/memory.limit_in_bytes"), "9223372036854771712\n")
	if got, src := cgroupLimit(filepath.Join(root, "self"), filepath.Join(root, "cg")); got != 1<<30 || filepath.Base(src) != "memory.limit_in_bytes" {
		t.Fatalf("v1: %d from %s, want 1 GiB", got, src)
	}
	// v2: "max" means none; a parent's limit counts.
	write(filepath.Join(root, "self2"), "0::/a/b\n")
	write(filepath.Join(root, "cg2/a/b/memory.max"), "max\n")
	write(filepath.Join(root, "cg2/a/memory.max"), "536870912\n")
	if got, _ := cgroupLimit(filepath.Join(root, "self2"), filepath.Join(root, "cg2")); got != 512<<20 {
		t.Fatalf("v2: %d, want 512 MiB", got)
	}
	if got, _ := cgroupLimit(filepath.Join(root, "missing"), root); got != 0 {
		t.Fatalf("no cgroup file: %d, want 0", got)
	}
}

func TestMemTotal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "meminfo")
	os.WriteFile(p, []byte("MemTotal:        948304 kB\nMemFree: 1 kB\n"), 0o644)
	if got := memTotal(p); got != 948304<<10 {
		t.Fatalf("memTotal %d", got)
	}
	if mem, src := Available(); mem <= 0 || src == "" {
		t.Fatalf("Available on this machine: %d %q", mem, src)
	}
	if d := EngineDefault(); d < 64<<20 || d > 1<<30 {
		t.Fatalf("EngineDefault %d", d)
	}
}
