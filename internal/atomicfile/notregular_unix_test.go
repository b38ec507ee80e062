//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRefusesNonRegular: a pipe, a directory and a link to a directory
// are refused and stay what they were (a device such as /dev/null is
// refused by the same check; the test makes no device node).
func TestRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(sub, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, sub, link} {
		before, _ := os.Lstat(p)
		if err := WriteFile(p, []byte("x"), 0o644); !errors.Is(err, ErrNotRegular) {
			t.Errorf("%s: %v; want ErrNotRegular", filepath.Base(p), err)
		}
		after, err := os.Lstat(p)
		if err != nil || after.Mode() != before.Mode() {
			t.Errorf("%s: replaced (%v → %v, %v)", filepath.Base(p), before.Mode(), after.Mode(), err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 3 {
		t.Errorf("temporary files left: %v", ents)
	}
	// a link to a regular file is still written (the rename replaces the link)
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	lf := filepath.Join(dir, "lf")
	if err := os.Symlink(f, lf); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(lf, []byte("new"), 0o644); err != nil {
		t.Errorf("a link to a regular file: %v", err)
	}
}
