package atomicfile

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary a writer that stops half-way: it writes
// 4 MiB into a temporary file of the target named by the variable, says
// "writing" and waits to be killed.
const childEnv = "EDGECNN_ATOMICFILE_CHILD"

func TestMain(m *testing.M) {
	if target := os.Getenv(childEnv); target != "" {
		err := Write(target, 0o644, func(w io.Writer) error {
			if _, err := w.Write(bytes.Repeat([]byte("x"), 4<<20)); err != nil {
				return err
			}
			os.Stdout.WriteString("writing\n")
			time.Sleep(time.Hour) // killed here
			return nil
		})
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// startWriter starts a child process that is in the middle of writing
// target and returns it once its temporary file holds 4 MiB.
func startWriter(t *testing.T, target string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+target)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "writing\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	return cmd
}

func temps(t *testing.T, target string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKill9LeftoverRemovedByNextWrite: a writer killed with SIGKILL in the
// middle of a write leaves its 4 MiB temporary file; the next write to the
// same target removes it. A temporary file of a writer that still runs is
// left alone.
func TestKill9LeftoverRemovedByNextWrite(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "model.ckpt")
	if err := WriteFile(target, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.ckpt")

	child := startWriter(t, target)
	tmp := temps(t, target)
	if len(tmp) != 1 || !strings.Contains(filepath.Base(tmp[0]), ".tmp-"+itoa(child.Process.Pid)+"-") {
		t.Fatalf("temporary files %v, want one named after pid %d", tmp, child.Process.Pid)
	}
	// While the writer lives, another write keeps its temporary file.
	if err := WriteFile(target, []byte("v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := temps(t, target); len(got) != 1 || got[0] != tmp[0] {
		t.Fatalf("live writer's temporary file: %v", got)
	}

	// kill -9: the temporary file leaks...
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("writer ended with %v, not by SIGKILL in the middle of its write", child.ProcessState)
	}
	fi, err := os.Stat(tmp[0])
	if err != nil || fi.Size() != 4<<20 {
		t.Fatalf("after kill -9: %v %v", fi, err)
	}
	// ...until the next write to another target, which leaves it alone,
	if err := WriteFile(other, []byte("o"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp[0]); err != nil {
		t.Fatalf("a write to another target removed %s: %v", tmp[0], err)
	}
	// and the next write to the same target, which removes it.
	if err := WriteFile(target, []byte("v3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := temps(t, target); len(got) != 0 {
		t.Fatalf("leftover temporary files: %v", got)
	}
	if b, _ := os.ReadFile(target); string(b) != "v3" {
		t.Fatalf("target %q", b)
	}
}

func TestRemoveStaleAgeAndOldNames(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "f")
	// A temporary file of a running process (pid 1 always runs), fresh
	// and old; one from before pids were in the names; an unrelated file.
	fresh := filepath.Join(dir, ".f.tmp-1-123")
	old := filepath.Join(dir, ".f.tmp-1-456")
	legacy := filepath.Join(dir, ".f.tmp-3129384")
	unrelated := filepath.Join(dir, ".g.tmp-99999999-1")
	for _, p := range []string{fresh, old, legacy, unrelated} {
		os.WriteFile(p, []byte("x"), 0o600)
	}
	past := time.Now().Add(-StaleAfter - time.Minute)
	os.Chtimes(old, past, past)
	removed := RemoveStale(target)
	if strings.Join(removed, ",") != ".f.tmp-1-456,.f.tmp-3129384" {
		t.Fatalf("removed %v", removed)
	}
	for _, p := range []string{fresh, unrelated} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed: %v", p, err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
