package sshdtest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RequireRoot skips t when the test process is not root and $CI is unset
// (a developer's unprivileged run); in CI, which runs as root, a non-root
// run is a failure, so a test that needs root is never silently skipped.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "" {
		t.Skip("needs root (to create a throwaway user and start sshd for it); CI runs it as root")
	}
	t.Fatalf("needs root, but runs as uid %d with CI=%q", os.Geteuid(), os.Getenv("CI"))
}

// HostChangesEnv names the switch that allows tests to change this
// machine outside temporary directories: create local users and files in
// /etc/sudoers.d. Only CI sets it (make test exports
// EDGECNN_CI_HOST_CHANGES=1 when CI=true; .ci/run sets CI=true), on a
// machine that is thrown away afterwards.
const HostChangesEnv = "EDGECNN_CI_HOST_CHANGES"

// RequireHostChanges skips t unless HostChangesEnv=1: a developer's run
// never creates users or sudoers files. In CI (CI set) a missing switch
// is a failure, so those tests are never silently skipped there. With
// the switch, the test must run as root.
func RequireHostChanges(t testing.TB) {
	t.Helper()
	if os.Getenv(HostChangesEnv) != "1" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI=%q but %s is not 1: CI must allow the tests that create throwaway users (make test sets it when CI=true)", os.Getenv("CI"), HostChangesEnv)
		}
		t.Skipf("creates a throwaway user and a sudoers file on this machine: runs only with %s=1 (CI sets it; it changes /etc/passwd and /etc/sudoers.d until the test removes them)", HostChangesEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 but running as uid %d: these tests need root", HostChangesEnv, os.Geteuid())
	}
}

// TempUser creates a throwaway local user edgecnn-t-<random> with a home
// directory and /bin/sh, which can log in with a key (its password field
// is "*": no password, but not a locked account, which sshd would refuse
// with UsePAM no). With sudo, it gets password-less sudo through a file
// in /etc/sudoers.d checked with `visudo -c`. The user, its home and the
// sudoers file are removed by t.Cleanup (register sshd after this, so it
// stops first). It changes the machine, so it runs only behind the CI
// switch (RequireHostChanges: skipped on a developer's machine), as root
// and, for sudo, with the sudo package (`make deps`).
func TempUser(t testing.TB, sudo bool) string {
	t.Helper()
	RequireHostChanges(t)
	var rnd [4]byte
	rand.Read(rnd[:])
	name := "edgecnn-t-" + hex.EncodeToString(rnd[:])
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", "-p", "*", "-c", "edgecnn test user", name).CombinedOutput(); err != nil {
		t.Fatalf("sshdtest: useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		// sshd's per-connection processes run as the user and exit a moment
		// after the client closes; userdel refuses (exit 8) while they live.
		var out []byte
		var err error
		for i := 0; i < 50; i++ {
			out, err = exec.Command("userdel", "-r", name).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 8 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("sshdtest: userdel -r %s: %v: %s", name, err, out)
		}
	})
	if !sudo {
		return name
	}
	visudo, err := exec.LookPath("visudo")
	if err != nil {
		t.Fatalf("sshdtest: sudo is not installed (install it: make deps): %v", err)
	}
	// sudoers.d skips names with a dot, so the name is the user's.
	final := filepath.Join("/etc/sudoers.d", name)
	tmp := filepath.Join("/etc/sudoers.d", "."+name+".tmp")
	rule := name + " ALL=(root) NOPASSWD: ALL\n"
	if err := os.WriteFile(tmp, []byte(rule), 0o440); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	if out, err := exec.Command(visudo, "-c", "-q", "-f", tmp).CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("sshdtest: visudo -c %s: %v: %s", tmp, err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		t.Fatalf("sshdtest: %v", err)
	}
	t.Cleanup(func() {
		if err := os.Remove(final); err != nil {
			t.Errorf("sshdtest: remove %s: %v", final, err)
		}
	})
	return name
}
