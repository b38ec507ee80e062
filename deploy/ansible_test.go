package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/internal/testenv"
)

// ansiblePlaybook runs deploy/ansible/playbook.yml with a real
// ansible-playbook against the test board's sshd. Everything Ansible
// writes (its home, local and remote temp) stays in temp dirs.
func (b *testBoard) ansiblePlaybook(t *testing.T, bundleDir string) (string, error) {
	t.Helper()
	exe, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatalf("ansible-playbook not installed (make deps installs Debian's ansible): %v", err)
	}
	dir := t.TempDir()
	inv := filepath.Join(dir, "hosts.ini")
	os.WriteFile(inv, []byte(fmt.Sprintf(`[boards]
board1 ansible_host=127.0.0.1 ansible_port=%d ansible_user=%s

[boards:vars]
ansible_ssh_private_key_file=%s
ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new -o IdentitiesOnly=yes'
ansible_python_interpreter=/usr/bin/python3
ansible_remote_tmp=%s
`, b.srv.Port, b.srv.User, b.srv.KeyFile, b.srv.KnownHosts, filepath.Join(dir, "remote-tmp"))), 0o644)
	play := filepath.Join(testenv.RepoRoot(t), "deploy", "ansible", "playbook.yml")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-i", inv, play,
		"-e", "edgecnn_bundle_dir="+bundleDir,
		"-e", "edgecnn_unit_dir="+b.unitDir, "-e", "edgecnn_sysusers_dir="+b.sysusers,
		"-e", "edgecnn_systemctl="+b.systemctl, "-e", "edgecnn_sysusers="+b.sysusersC,
		"-e", "edgecnn_health_url="+b.healthURL, "-e", "edgecnn_health_timeout=3")
	cmd.Env = append(os.Environ(), "ANSIBLE_HOME="+filepath.Join(dir, "home"), "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "local-tmp"),
		"ANSIBLE_SSH_CONTROL_PATH_DIR="+filepath.Join(dir, "cp"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_PIPELINING=1",
		"ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_DEPRECATION_WARNINGS=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The Ansible role installs a bundle exactly as flash does (flash then
// finds it unchanged), and rolls back a release that does not come up.
func TestAnsibleRoleInstallsAndRollsBack(t *testing.T) {
	t.Parallel()
	b := newTestBoard(t)
	ctx := context.Background()
	good := b.bundle(t, makeInputs(t, 64<<10, "", "model-v1"), "1.0.0")
	bundleDir := filepath.Join(t.TempDir(), "bundle")
	if _, err := WriteBundle(ctx, bundleDir, good); err != nil {
		t.Fatal(err)
	}
	out, err := b.ansiblePlaybook(t, bundleDir)
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	if cur := b.current(t); cur != good.Release {
		t.Fatalf("current -> %s, want %s\n%s", cur, good.Release, out)
	}
	b.verifyRelease(t, good.Release, good)
	unit, err := os.ReadFile(filepath.Join(b.unitDir, good.Service.UnitName()))
	if err != nil || string(unit) != good.Unit {
		t.Fatalf("unit on the board differs from the bundle's: %v", err)
	}
	rb, err := os.ReadFile(filepath.Join(b.unitDir, good.Service.RollbackUnitName()))
	if err != nil || string(rb) != good.RollbackUnit {
		t.Fatalf("rollback unit on the board differs from the bundle's: %v", err)
	}
	if l, err := os.Readlink(filepath.Join(b.prefix, "good")); err != nil || l != "releases/"+good.Release {
		t.Fatalf("good -> %q (%v), want releases/%s", l, err, good.Release)
	}
	calls := b.callLog(t)
	for _, want := range []string{"systemctl daemon-reload", "systemctl enable edgecnn.service", "systemctl restart edgecnn.service", "systemd-sysusers "} {
		if !strings.Contains(calls, want) {
			t.Fatalf("calls lack %q:\n%s", want, calls)
		}
	}
	// flash sees the same release, unit and layout: nothing to do.
	if r := Flash(ctx, b.dial(t), good, b.opts()); r.Err != nil || !r.Unchanged {
		t.Fatalf("flash after ansible: unchanged=%v err=%v", r.Unchanged, r.Err)
	}

	// A release that never becomes active: rolled back, the play fails.
	bad := b.bundle(t, makeInputs(t, 64<<10, "BROKEN", "model-v1"), "2.0.0")
	if _, err := WriteBundle(ctx, bundleDir, bad); err != nil {
		t.Fatal(err)
	}
	out, err = b.ansiblePlaybook(t, bundleDir)
	if err == nil {
		t.Fatalf("ansible-playbook succeeded with a broken release:\n%s", out)
	}
	if !strings.Contains(out, "rolled back to "+good.Release) {
		t.Fatalf("no rollback message:\n%s", out)
	}
	if cur := b.current(t); cur != good.Release {
		t.Fatalf("after a failed release current -> %s, want %s", cur, good.Release)
	}
	b.verifyRelease(t, bad.Release, bad) // uploaded whole, kept for inspection
	if l, _ := os.Readlink(filepath.Join(b.prefix, "good")); l != "releases/"+good.Release {
		t.Fatalf("after a failed release good -> %q, want releases/%s", l, good.Release)
	}

	// While a flash holds the board's lock, the role changes nothing.
	next := b.bundle(t, makeInputs(t, 64<<10, "", "model-v3"), "3.0.0")
	if _, err := WriteBundle(ctx, bundleDir, next); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(b.prefix, ".flash.owner"), []byte("2026-12-04T10:00:00Z by tester (release x)\n"), 0o644)
	holder := exec.Command("flock", filepath.Join(b.prefix, LockFile), "sleep", "600")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { holder.Process.Kill(); holder.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command("flock", "-n", filepath.Join(b.prefix, LockFile), "true").Run() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the test's lock holder never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err = b.ansiblePlaybook(t, bundleDir)
	if err == nil || !strings.Contains(out, "board busy: flash in progress since 2026-12-04T10:00:00Z by tester") {
		t.Fatalf("locked board: err %v\n%s", err, out)
	}
	if cur := b.current(t); cur != good.Release {
		t.Fatalf("a locked board was switched to %s", cur)
	}
	if _, err := os.Stat(filepath.Join(b.prefix, "releases", next.Release)); err == nil {
		t.Fatal("a release was uploaded to a locked board")
	}
}
