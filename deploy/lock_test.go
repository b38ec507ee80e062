package deploy

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

// TestConcurrentFlashesLock: two real flashes of one board at once. The
// second gets "board busy … since … by …" while the first holds the lock;
// with LockWait it waits and then runs; both releases end intact and the
// second is current.
func TestConcurrentFlashesLock(t *testing.T) {
	b := newTestBoard(t)
	first := b.bundle(t, makeInputs(t, 1<<20, "first", "m1"), "1")
	second := b.bundle(t, makeInputs(t, 1<<20, "second", "m2"), "2")

	hold := make(chan struct{})
	holding := make(chan struct{})
	o1 := b.opts()
	o1.onPhase = func(p string) {
		if p == "upload" {
			close(holding)
			<-hold // the first flash sits in its upload
		}
	}
	r1c := make(chan Result, 1)
	go func() { r1c <- Flash(context.Background(), b.dial(t), first, o1) }()
	<-holding

	// At once: busy, with who and since when.
	r := Flash(context.Background(), b.dial(t), second, b.opts())
	var busy *BusyError
	if !errors.As(r.Err, &busy) {
		t.Fatalf("second flash while the first holds the lock: %+v", r)
	}
	if r.Status() != "busy" {
		t.Errorf("status %q, want busy", r.Status())
	}
	msg := r.Err.Error()
	t.Logf("second flash: %v", msg)
	host, _ := os.Hostname()
	for _, want := range []string{"board busy: flash in progress since " + time.Now().UTC().Format("2006-01-02T"), " by ", "@" + host, "installing " + first.Release, "--wait"} {
		if !strings.Contains(msg, want) {
			t.Errorf("busy error lacks %q: %s", want, msg)
		}
	}
	if _, err := os.Stat(filepath.Join(b.prefix, "releases", second.Release)); !os.IsNotExist(err) {
		t.Fatalf("the refused flash wrote its release: %v", err)
	}

	// With --wait: waits for the first, then runs.
	o2 := b.opts()
	o2.LockWait = time.Minute
	var log strings.Builder
	o2.Log = &log
	r2c := make(chan Result, 1)
	go func() { r2c <- Flash(context.Background(), b.dial(t), second, o2) }()
	time.Sleep(300 * time.Millisecond)
	select {
	case r := <-r2c:
		t.Fatalf("the waiting flash finished while the first held the lock: %+v", r)
	default:
	}
	close(hold)
	if r := <-r1c; r.Err != nil {
		t.Fatalf("first flash: %v", r.Err)
	}
	if r := <-r2c; r.Err != nil {
		t.Fatalf("second (waiting) flash: %v", r.Err)
	}
	if !strings.Contains(log.String(), "board busy") || !strings.Contains(log.String(), "waiting up to 1m0s") {
		t.Errorf("waiting flash log:\n%s", log.String())
	}
	b.assertHealthy(t, second.Release)
	b.verifyRelease(t, first.Release, first)
	if _, err := os.Stat(filepath.Join(b.prefix, lockOwnerFile)); !os.IsNotExist(err) {
		t.Errorf("owner file left after both flashes: %v", err)
	}
}

// TestLockReleasedWhenLinkDies: a flash holding the lock loses its link;
// the board releases the lock (its SSH session ended) and the next flash
// gets it without waiting for a lease.
func TestLockReleasedWhenLinkDies(t *testing.T) {
	b := newTestBoard(t)
	old := b.bundle(t, makeInputs(t, 64<<10, "old", "m1"), "1")
	if r := Flash(context.Background(), b.dial(t), old, b.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}
	p := newLinkProxy(t, b.srv.Addr(), 0)
	nb := b.bundle(t, makeInputs(t, 64<<10, "new", "m2"), "2")
	o := b.opts()
	o.onPhase = func(ph string) {
		if ph == "upload" {
			p.Cut()
		}
	}
	r := Flash(context.Background(), b.dialVia(t, p), nb, o)
	if r.Err == nil {
		t.Fatal("flash over a cut link succeeded")
	}
	start := time.Now()
	o2 := b.opts()
	o2.LockWait = 30 * time.Second
	if r := Flash(context.Background(), b.dial(t), nb, o2); r.Err != nil {
		t.Fatal(r.Err)
	}
	if d := time.Since(start); d > lockLease {
		t.Errorf("the lock of the dead flash was held %s, past its %s lease", d, lockLease)
	}
	t.Logf("lock of the dead flash released; next flash done in %s", time.Since(start).Round(time.Millisecond))
	b.assertHealthy(t, nb.Release)
}

// TestLockLeaseWhenLinkHangs: the link of a flash that holds the lock
// hangs (no byte passes, nothing closes, so sshd notices nothing); the
// board releases the lock when the flash's heartbeat stops for the lease
// (3 s here, 60 s for real), and the next flash gets it.
func TestLockLeaseWhenLinkHangs(t *testing.T) {
	b := newTestBoard(t)
	old := b.bundle(t, makeInputs(t, 64<<10, "old", "m1"), "1")
	if r := Flash(context.Background(), b.dial(t), old, b.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}
	p := newLinkProxy(t, b.srv.Addr(), 0)
	nb := b.bundle(t, makeInputs(t, 64<<10, "new", "m2"), "2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := b.opts()
	o.lockLease = 3 * time.Second
	frozen := make(chan struct{})
	o.onPhase = func(ph string) {
		if ph == "upload" {
			p.Freeze()
			close(frozen)
		}
	}
	r1 := make(chan Result, 1)
	go func() { r1 <- Flash(ctx, b.dialVia(t, p), nb, o) }()
	<-frozen
	start := time.Now()
	o2 := b.opts()
	o2.LockWait = 30 * time.Second
	var log strings.Builder
	o2.Log = &log
	if r := Flash(context.Background(), b.dial(t), nb, o2); r.Err != nil {
		t.Fatal(r.Err)
	}
	d := time.Since(start)
	if !strings.Contains(log.String(), "board busy") || d < 2*time.Second {
		t.Fatalf("the hung flash's lock was not held (took %s):\n%s", d, log.String())
	}
	t.Logf("the hung flash's lock expired; the next flash got it and finished %s later", d.Round(100*time.Millisecond))
	b.assertHealthy(t, nb.Release)
	cancel()
	if r := <-r1; r.Err == nil {
		t.Fatal("the hung flash succeeded")
	}
}

// TestRollbackScriptWaitsForFlash: the board-side rollback never
// interleaves with a flash: it waits for the flash's lock.
func TestRollbackScriptWaitsForFlash(t *testing.T) {
	b := newTestBoard(t)
	old, good, _ := faultBundles(t, b)
	hold := make(chan struct{})
	holding := make(chan struct{})
	o := b.opts()
	o.onPhase = func(p string) {
		if p == "health" {
			close(holding)
			<-hold
		}
	}
	rc := make(chan Result, 1)
	go func() { rc <- Flash(context.Background(), b.dial(t), good, o) }()
	<-holding
	// The unit failed meanwhile (as far as systemd knows): the rollback
	// unit starts while the flash still holds the lock.
	done := make(chan error, 1)
	b.runRollback(t, done)
	select {
	case err := <-done:
		t.Fatalf("rollback script ran while a flash held the lock: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if b.link("current") != good.Release {
		t.Fatalf("current changed under a flash: %s", b.link("current"))
	}
	close(hold)
	if r := <-rc; r.Err != nil {
		t.Fatal(r.Err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The flash confirmed the new release good: nothing to roll back; the
	// script restarted it (after its retry delay, 0 here).
	b.assertHealthy(t, good.Release)
	if b.link("good") != good.Release {
		t.Fatalf("good = %s", b.link("good"))
	}
	logData, _ := os.ReadFile(filepath.Join(b.prefix, "rollback.log"))
	if !strings.Contains(string(logData), "no other good release to roll back to") || strings.Contains(string(logData), "rolling back to "+old.Release) {
		t.Fatalf("rollback.log:\n%s", logData)
	}
}

// TestRollbackScript runs the installed board-side rollback script on a
// real release layout, as edgecnn-rollback.service would after the new
// release failed its starts with the laptop gone.
func TestRollbackScript(t *testing.T) {
	b := newTestBoard(t)
	old, _, broken := faultBundles(t, b)
	// The flash dies after restarting into the broken release (link cut
	// during the health check): the broken release is current.
	p := newLinkProxy(t, b.srv.Addr(), 0)
	o := b.opts()
	o.onPhase = func(ph string) {
		if ph == "health" {
			p.Cut()
		}
	}
	r := Flash(context.Background(), b.dialVia(t, p), broken, o)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "the board rolls back to "+old.Release+" by itself after 3 failed starts") {
		t.Fatalf("flash with a cut link: %v", r.Err)
	}
	if b.link("current") != broken.Release || b.active() {
		t.Fatalf("expected the broken release current and failed: current %s active %v", b.link("current"), b.active())
	}
	unit, _ := os.ReadFile(filepath.Join(b.unitDir, "edgecnn.service"))
	if string(unit) != broken.Unit {
		t.Fatal("the broken release's unit is not installed")
	}
	out := b.runRollback(t, nil)
	t.Logf("rollback script:\n%s", out)
	b.assertHealthy(t, old.Release)
	unit, _ = os.ReadFile(filepath.Join(b.unitDir, "edgecnn.service"))
	if string(unit) != old.Unit {
		t.Fatal("the old release's unit was not restored")
	}
	calls := b.callLog(t)
	for _, want := range []string{"systemctl show -p FragmentPath --value edgecnn.service", "systemctl daemon-reload", "systemctl reset-failed edgecnn.service", "systemctl restart edgecnn.service"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %q in calls:\n%s", want, calls)
		}
	}
	logData, _ := os.ReadFile(filepath.Join(b.prefix, "rollback.log"))
	if !strings.Contains(string(logData), "rolled back to "+old.Release) {
		t.Fatalf("rollback.log:\n%s", logData)
	}
	// Run again (the old release fails too, e.g. the camera is gone):
	// nothing to roll back to; it is restarted, current stays.
	os.WriteFile(b.calls, nil, 0o644)
	out = b.runRollback(t, nil)
	if !strings.Contains(out, "no other good release") || b.link("current") != old.Release {
		t.Fatalf("second run: %s (current %s)", out, b.link("current"))
	}
	if calls := b.callLog(t); !strings.Contains(calls, "systemctl start --no-block edgecnn.service") {
		t.Fatalf("good release not restarted:\n%s", calls)
	}
	// The script is POSIX sh: dash and bash's --posix both parse it.
	for _, sh := range [][]string{{"dash", "-n"}, {"bash", "--posix", "-n"}} {
		if p, err := exec.LookPath(sh[0]); err == nil {
			if out, err := exec.Command(p, append(sh[1:], filepath.Join(b.prefix, "current", RollbackScript))...).CombinedOutput(); err != nil {
				t.Errorf("%s: %v %s", sh[0], err, out)
			}
		}
	}
}

// mountTmpfs mounts a tmpfs of size (e.g. "4m") at dir for the test (a
// real small disk). It needs root: skipped outside CI without it.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "" {
			t.Skip("needs root to mount a small tmpfs; CI runs it as root")
		}
		t.Fatal("needs root to mount a tmpfs, and CI runs as root")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "edgecnn-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
}

// TestFlashFailedUploadSpaceReclaimed: an upload that failed half-way on
// a small disk (a 4 MiB tmpfs; the board's sftp-server may write at most
// 1 MiB per file, so the 2.5 MiB binary fails there) leaves its staging
// directory; the next flash removes it first, so its space counts as free
// and the flash succeeds (before, every later flash failed with "not
// enough space").
func TestFlashFailedUploadSpaceReclaimed(t *testing.T) {
	b := newTestBoard(t)
	mountTmpfs(t, b.prefix, "4m")
	small := b.bundle(t, makeInputs(t, 200<<10, "small", "m"), "1")
	if r := Flash(context.Background(), b.dial(t), small, b.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}
	normal := b.srv
	normal.Stop()
	b.srv = sshdtest.Start(t, "Subsystem sftp /usr/bin/prlimit --fsize=1048576 /usr/lib/openssh/sftp-server")
	big := b.bundle(t, makeInputs(t, 5<<19, "big", "m"), "2") // 2.5 MiB
	r := Flash(context.Background(), b.dial(t), big, b.opts())
	if r.Err == nil || !strings.Contains(r.Err.Error(), "upload") {
		t.Fatalf("upload of a 2.5 MiB file where at most 1 MiB can be written: %v", r.Err)
	}
	t.Logf("failed upload: %v", r.Err)
	staged, _ := filepath.Glob(filepath.Join(b.prefix, "releases", ".staging-*"))
	var left int64
	for _, s := range staged {
		filepath.Walk(s, func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				left += fi.Size()
			}
			return nil
		})
	}
	if left < 1<<20 {
		t.Fatalf("the failed upload left %d bytes in %v; the test needs ≥ 1 MiB there", left, staged)
	}
	t.Logf("the failed upload left %.1f MiB in %d staging directories", float64(left)/(1<<20), len(staged))
	b.srv.Stop()
	normal.Restart()
	b.srv = normal
	var log strings.Builder
	o := b.opts()
	o.Log = &log
	if r := Flash(context.Background(), b.dial(t), big, o); r.Err != nil {
		t.Fatalf("flash after a failed upload: %v", r.Err)
	}
	if !strings.Contains(log.String(), "removed what an interrupted flash left: .staging-") {
		t.Errorf("log:\n%s", log.String())
	}
	if s, _ := filepath.Glob(filepath.Join(b.prefix, "releases", ".staging-*")); len(s) != 0 {
		t.Fatalf("staging left: %v", s)
	}
	b.assertHealthy(t, big.Release)
}
