package deploy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

// sudoBoard is this machine playing a Raspberry Pi OS board whose login
// user is not root: a throwaway local user logs in to a real sshd, the
// prefix's parent, unit and sysusers directories belong to root (0755), so
// only sudo can write there, and the stand-in systemctl and
// systemd-sysusers record who ran them ($(id -un)).
type sudoBoard struct {
	testBoard
	user string
	uid  int
}

const sudoSystemctlScript = `#!/bin/sh
echo "$(id -un): systemctl $*" >> "$CALLS"
case "$1" in
restart)
	if grep -q BROKEN "$PREFIX/current/edgecnn" 2>/dev/null; then rm -f "$STATE/active"; else touch "$STATE/active"; fi ;;
stop) rm -f "$STATE/active" ;;
is-active)
	[ -f "$STATE/active" ] || exit 3
	grep -q BROKEN "$PREFIX/current/edgecnn" 2>/dev/null && exit 3 ;;
esac
exit 0
`

func newSudoBoard(t *testing.T, sudo bool) *sudoBoard {
	t.Helper()
	name := sshdtest.TempUser(t, sudo)
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	b := &sudoBoard{user: name, uid: uid}
	b.srv = sshdtest.StartUser(t, name)
	// Not t.TempDir: its parent is 0700, and the user must reach the board's
	// directories (as it would reach / on a board).
	dir, err := os.MkdirTemp("", "edgecnn-sudo-board-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b.dir = dir
	b.prefix = filepath.Join(dir, "opt", "edgecnn")
	b.unitDir = filepath.Join(dir, "etc", "systemd", "system")
	b.sysusers = filepath.Join(dir, "etc", "sysusers.d") // made by `sudo install -D`
	b.calls = filepath.Join(dir, "calls.log")
	state := filepath.Join(dir, "state")
	for _, d := range []string{dir, filepath.Dir(b.prefix), b.unitDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o755)
	}
	// Shared by root (under sudo) and the user (is-active, unprivileged).
	if err := os.Mkdir(state, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(state, 0o777)
	if err := os.WriteFile(b.calls, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(b.calls, 0o666)
	env := "CALLS=" + shq(b.calls) + "\nPREFIX=" + shq(b.prefix) + "\nSTATE=" + shq(state) + "\n"
	b.systemctl = filepath.Join(dir, "systemctl")
	if err := os.WriteFile(b.systemctl, []byte(strings.Replace(sudoSystemctlScript, "#!/bin/sh\n", "#!/bin/sh\n"+env, 1)), 0o755); err != nil {
		t.Fatal(err)
	}
	b.sysusersC = filepath.Join(dir, "systemd-sysusers")
	if err := os.WriteFile(b.sysusersC, []byte("#!/bin/sh\necho \"$(id -un): systemd-sysusers $*\" >> "+shq(b.calls)+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok\n"))
	}))
	t.Cleanup(hs.Close)
	b.healthURL = hs.URL + "/healthz"
	return b
}

func (b *sudoBoard) opts() Options {
	o := b.testBoard.opts()
	o.Sudo = true
	o.HealthTimeout = 2 * time.Second
	return o
}

// owner is the uid owning p (not following a symlink).
func owner(t *testing.T, p string) (int, os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid), fi.Mode()
}

// TestFlashNonRootWithSudo flashes as a non-root login user with
// password-less sudo (Raspberry Pi OS's `pi`): the release goes in over
// SFTP as that user, the unit, sysusers entry and systemctl calls go
// through `sudo -n` into root-owned places; then an update, an unchanged
// re-flash and a rollback, all as that user.
func TestFlashNonRootWithSudo(t *testing.T) {
	sshdtest.RequireHostChanges(t)
	b := newSudoBoard(t, true)
	c := b.dial(t)
	if out, err := c.Run(context.Background(), "id -un"); err != nil || strings.TrimSpace(out) != b.user {
		t.Fatalf("logged in as %q (%v), want %s", out, err, b.user)
	}
	ctx := context.Background()
	board, err := boards.Lookup("generic-amd64")
	if err != nil {
		t.Fatal(err)
	}
	bundle := func(in inputs, version string) *Bundle {
		bu, err := NewBundle(Spec{Board: board, Binary: in.binary, Model: in.model, Config: in.config, Version: version,
			Service: Service{Prefix: b.prefix}})
		if err != nil {
			t.Fatal(err)
		}
		return bu
	}

	// The prefix exists and belongs to root, with a root-owned release
	// current (an SD-card install, or an earlier flash logged in as root):
	// flash makes the prefix the login user's and keeps that release.
	root := localFS{Root: "/"}
	b0 := bundle(makeInputs(t, 64<<10, "v0", "model-0"), "0.9.0")
	if _, err := installRelease(ctx, root, b0, b.prefix, t.Logf); err != nil {
		t.Fatal(err)
	}
	if err := switchCurrent(root, b.prefix, b0.Release); err != nil {
		t.Fatal(err)
	}
	rel0 := filepath.Join(b.prefix, "releases", b0.Release)
	if uid, _ := owner(t, b.prefix); uid != 0 {
		t.Fatalf("setup: prefix owned by %d", uid)
	}

	in1 := makeInputs(t, 256<<10, "v1", "model-1")
	b1 := bundle(in1, "1.0.0")
	r := Flash(ctx, c, b1, b.opts())
	if r.Err != nil {
		t.Fatalf("flash as %s with sudo: %v\ncalls:\n%s\nsshd log: %s", b.user, r.Err, b.callLog(t), b.srv.Log())
	}
	if r.Previous != b0.Release || r.Uploaded != len(b1.Files) {
		t.Fatalf("first flash result %+v", r)
	}
	b.verifyRelease(t, b0.Release, b0) // the root-owned release is intact
	if uid, _ := owner(t, filepath.Join(rel0, "edgecnn")); uid != 0 {
		t.Errorf("the root-owned release changed owner")
	}
	if got := b.current(t); got != b1.Release {
		t.Fatalf("current = %s, want %s", got, b1.Release)
	}
	b.verifyRelease(t, b1.Release, b1)

	// Ownership: the release tree is the login user's (sent over SFTP as
	// it), the unit and sysusers entry root's, 0644, written by sudo.
	rel1 := filepath.Join(b.prefix, "releases", b1.Release)
	for _, p := range []string{b.prefix, filepath.Join(b.prefix, "releases"), rel1, filepath.Join(rel1, "edgecnn"),
		filepath.Join(rel1, "model.tflite"), filepath.Join(rel1, SumsFile), filepath.Join(b.prefix, "current")} {
		if uid, _ := owner(t, p); uid != b.uid {
			t.Errorf("%s is owned by uid %d, want the login user %s (%d)", p, uid, b.user, b.uid)
		}
	}
	if _, m := owner(t, filepath.Join(rel1, "edgecnn")); m.Perm() != 0o755 {
		t.Errorf("binary mode %v, want 0755", m)
	}
	if uid, m := owner(t, b.prefix); m.Perm() != 0o755 || uid != b.uid {
		t.Errorf("prefix: uid %d mode %v", uid, m)
	}
	for _, p := range []string{filepath.Join(b.unitDir, "edgecnn.service"), filepath.Join(b.sysusers, "edgecnn.conf")} {
		uid, m := owner(t, p)
		if uid != 0 || m.Perm() != 0o644 || !m.IsRegular() {
			t.Errorf("%s: uid %d mode %v, want a root-owned 0644 file installed with sudo", p, uid, m)
		}
	}
	if uid, _ := owner(t, filepath.Dir(b.prefix)); uid != 0 {
		t.Errorf("the prefix's parent changed owner to %d", uid)
	}
	if unit, err := os.ReadFile(filepath.Join(b.unitDir, "edgecnn.service")); err != nil || string(unit) != b1.Unit {
		t.Errorf("unit not installed as rendered: %v", err)
	}
	if su, err := os.ReadFile(filepath.Join(b.sysusers, "edgecnn.conf")); err != nil || !strings.Contains(string(su), "u edgecnn ") {
		t.Errorf("sysusers entry: %q %v", su, err)
	}
	calls := b.callLog(t)
	for _, want := range []string{
		"root: systemd-sysusers " + filepath.Join(b.sysusers, "edgecnn.conf"),
		"root: systemctl daemon-reload", "root: systemctl enable edgecnn.service", "root: systemctl restart edgecnn.service",
		b.user + ": systemctl is-active --quiet edgecnn.service", // the health check needs no privileges
	} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %q in calls:\n%s", want, calls)
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(calls), "\n") {
		if strings.HasPrefix(l, b.user+": ") && !strings.Contains(l, " is-active ") {
			t.Errorf("privileged step ran without sudo: %q", l)
		}
	}

	// Unchanged re-flash: no restart, nothing sent.
	os.WriteFile(b.calls, nil, 0o666)
	if r := Flash(ctx, c, b1, b.opts()); r.Err != nil || !r.Unchanged || r.Uploaded != 0 {
		t.Fatalf("unchanged re-flash: %+v", r)
	}
	if strings.Contains(b.callLog(t), "restart") {
		t.Errorf("unchanged re-flash restarted the service:\n%s", b.callLog(t))
	}

	// An update: new model, the binary hard-linked; current switched.
	in2 := in1
	in2.model = filepath.Join(t.TempDir(), "mnist-int8.tflite")
	os.WriteFile(in2.model, []byte("model-2"), 0o644)
	b2 := bundle(in2, "1.0.1")
	r2 := Flash(ctx, c, b2, b.opts())
	if r2.Err != nil {
		t.Fatalf("update: %v\ncalls:\n%s", r2.Err, b.callLog(t))
	}
	if r2.Previous != b1.Release || b.current(t) != b2.Release || r2.Linked < 1 {
		t.Fatalf("update: %+v, current %s", r2, b.current(t))
	}
	b.verifyRelease(t, b2.Release, b2)
	b.verifyRelease(t, b1.Release, b1)

	// A release that does not start: rolled back (systemctl via sudo).
	os.WriteFile(b.calls, nil, 0o666)
	in3 := makeInputs(t, 64<<10, "BROKEN", "model-3")
	b3 := bundle(in3, "1.0.2")
	r3 := Flash(ctx, c, b3, b.opts())
	if r3.Err == nil || !r3.RolledBack || !strings.Contains(r3.Err.Error(), "rolled back to "+b2.Release) {
		t.Fatalf("broken release: %+v", r3)
	}
	if got := b.current(t); got != b2.Release {
		t.Fatalf("after rollback current = %s, want %s", got, b2.Release)
	}
	if n := strings.Count(b.callLog(t), "root: systemctl restart edgecnn.service"); n != 2 {
		t.Errorf("want 2 restarts as root (new, then rolled back), got %d:\n%s", n, b.callLog(t))
	}
}

// TestFlashNonRootWithoutSudo: a login user with no sudo rights fails at
// preflight with an error that names sudo, and nothing is installed.
func TestFlashNonRootWithoutSudo(t *testing.T) {
	sshdtest.RequireHostChanges(t)
	if _, err := os.Stat("/usr/bin/sudo"); err != nil {
		t.Fatalf("sudo is not installed (make deps): %v", err)
	}
	b := newSudoBoard(t, false)
	c := b.dial(t)
	board, err := boards.Lookup("generic-amd64")
	if err != nil {
		t.Fatal(err)
	}
	in := makeInputs(t, 64<<10, "v1", "model-1")
	bu, err := NewBundle(Spec{Board: board, Binary: in.binary, Model: in.model, Version: "1.0.0", Service: Service{Prefix: b.prefix}})
	if err != nil {
		t.Fatal(err)
	}
	r := Flash(context.Background(), c, bu, b.opts())
	if r.Err == nil {
		t.Fatalf("flash as %s without sudo rights succeeded", b.user)
	}
	msg := r.Err.Error()
	t.Logf("error: %v", msg)
	for _, want := range []string{"sudo", "password", b.user, "NOPASSWD"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %v", want, msg)
		}
	}
	if _, err := os.Lstat(b.prefix); !os.IsNotExist(err) {
		t.Errorf("%s was created: %v", b.prefix, err)
	}
	for _, d := range []string{b.unitDir, filepath.Dir(b.prefix)} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Errorf("%s is not empty: %v", d, ents)
		}
	}
	if _, err := os.Stat(b.sysusers); !os.IsNotExist(err) {
		t.Errorf("%s was created: %v", b.sysusers, err)
	}
	if calls := b.callLog(t); calls != "" {
		t.Errorf("systemctl/sysusers ran:\n%s", calls)
	}

	// Without sudo (--sudo no) into a root-owned prefix: refused on the
	// first write, with a hint, and the root-owned prefix stays empty.
	if err := os.Mkdir(b.prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	o := b.opts()
	o.Sudo = false
	r = Flash(context.Background(), c, bu, o)
	if r.Err == nil {
		t.Fatalf("flash as %s without sudo into a root-owned prefix succeeded", b.user)
	}
	msg = r.Err.Error()
	t.Logf("--sudo no: %v", msg)
	for _, want := range []string{"lock", "--sudo", b.user, "nothing was changed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %v", want, msg)
		}
	}
	if ents, _ := os.ReadDir(b.prefix); len(ents) != 0 {
		t.Errorf("%s is not empty: %v", b.prefix, ents)
	}
	if ents, _ := os.ReadDir(b.unitDir); len(ents) != 0 || b.callLog(t) != "" {
		t.Errorf("unit dir %v, calls %q", ents, b.callLog(t))
	}
}
