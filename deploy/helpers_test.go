package deploy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

// testBoard is this machine playing a board: a real sshd on loopback, a
// temporary install prefix, unit and sysusers directories, stand-in
// systemctl and systemd-sysusers scripts that record their calls, and a
// /healthz server reached through the SSH connection.
type testBoard struct {
	srv       *sshdtest.Server
	dir       string
	prefix    string
	unitDir   string
	sysusers  string
	calls     string
	systemctl string
	sysusersC string
	healthURL string
	state     string
}

// systemctl stand-in: "restart"/"start" run the release current points
// at (recorded in $STATE/running), which comes up active unless its binary
// contains BROKEN (a release that does not start); "is-active" reports
// that state; "show -p FragmentPath --value UNIT" names the installed unit
// file (the board-side rollback script asks).
const systemctlScript = `#!/bin/sh
echo "systemctl $*" >> "$CALLS"
case "$1" in
restart|start)
	readlink "$PREFIX/current" > "$STATE/running"
	if grep -q BROKEN "$PREFIX/current/edgecnn" 2>/dev/null; then rm -f "$STATE/active"; else touch "$STATE/active"; fi ;;
stop) rm -f "$STATE/active" "$STATE/running" ;;
is-active)
	[ -f "$STATE/active" ] || exit 3 ;;
show) for a; do u=$a; done; echo "$UNITDIR/$u" ;;
esac
exit 0
`

func newTestBoard(t *testing.T) *testBoard { return newTestBoardB(t) }

func newTestBoardB(t testing.TB) *testBoard {
	t.Helper()
	b := &testBoard{srv: sshdtest.Start(t), dir: t.TempDir()}
	b.prefix = filepath.Join(b.dir, "opt", "edgecnn")
	b.unitDir = filepath.Join(b.dir, "etc", "systemd", "system")
	b.sysusers = filepath.Join(b.dir, "etc", "sysusers.d")
	b.calls = filepath.Join(b.dir, "calls.log")
	state := filepath.Join(b.dir, "state")
	for _, d := range []string{b.unitDir, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b.state = state
	env := "CALLS=" + shq(b.calls) + " PREFIX=" + shq(b.prefix) + " STATE=" + shq(state) + " UNITDIR=" + shq(b.unitDir)
	b.systemctl = filepath.Join(b.dir, "systemctl")
	script := strings.Replace(systemctlScript, "#!/bin/sh\n", "#!/bin/sh\n"+strings.ReplaceAll(env, " ", "\n")+"\n", 1)
	if err := os.WriteFile(b.systemctl, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b.sysusersC = filepath.Join(b.dir, "systemd-sysusers")
	if err := os.WriteFile(b.sysusersC, []byte("#!/bin/sh\necho \"systemd-sysusers $*\" >> "+shq(b.calls)+"\n"), 0o755); err != nil {
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

func (b *testBoard) target() Target {
	return Target{User: b.srv.User, Host: "127.0.0.1", Port: b.srv.Port}
}

func (b *testBoard) ssh() SSHOptions {
	return SSHOptions{KnownHosts: b.srv.KnownHosts, AcceptNewHostKey: true, Identity: b.srv.KeyFile, Timeout: 5 * time.Second}
}

func (b *testBoard) opts() Options {
	return Options{
		UnitDir: b.unitDir, SysusersDir: b.sysusers,
		Systemctl: b.systemctl, Sysusers: b.sysusersC,
		HealthURL: b.healthURL, HealthTimeout: 3 * time.Second, HealthInterval: 100 * time.Millisecond,
	}
}

func (b *testBoard) dial(t *testing.T) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), b.target(), b.ssh())
	if err != nil {
		t.Fatalf("dial: %v\nsshd log: %s", err, b.srv.Log())
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (b *testBoard) callLog(t *testing.T) string {
	data, _ := os.ReadFile(b.calls)
	return string(data)
}

// current is the release PREFIX/current points at.
func (b *testBoard) current(t *testing.T) string {
	t.Helper()
	l, err := os.Readlink(filepath.Join(b.prefix, "current"))
	if err != nil {
		t.Fatalf("current: %v", err)
	}
	if !strings.HasPrefix(l, "releases/") {
		t.Fatalf("current -> %s, want a relative releases/ link", l)
	}
	return strings.TrimPrefix(l, "releases/")
}

// inputs holds the local files of one bundle.
type inputs struct{ dir, binary, model, config string }

// makeInputs writes a binary of binSize random bytes (marker is put at its
// start, e.g. "BROKEN"), a model and a config.
func makeInputs(t *testing.T, binSize int, marker, model string) inputs {
	t.Helper()
	dir := t.TempDir()
	in := inputs{dir: dir, binary: filepath.Join(dir, "edgecnn"), model: filepath.Join(dir, "mnist-int8.tflite"), config: filepath.Join(dir, "agent.json")}
	bin := make([]byte, binSize)
	rand.Read(bin)
	copy(bin, "\x7fELF"+marker)
	write := func(p string, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(in.binary, bin)
	write(in.model, []byte(model))
	write(in.config, []byte(`{"threshold":0.5}`))
	return in
}

func (b *testBoard) bundle(t *testing.T, in inputs, version string) *Bundle {
	t.Helper()
	board, err := boards.Lookup("generic-amd64")
	if err != nil {
		t.Fatal(err)
	}
	bu, err := NewBundle(Spec{Board: board, Binary: in.binary, Model: in.model, Config: in.config, Version: version,
		Service: Service{Prefix: b.prefix}})
	if err != nil {
		t.Fatal(err)
	}
	return bu
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// verifyRelease recomputes every checksum of an installed release.
func (b *testBoard) verifyRelease(t *testing.T, rel string, want *Bundle) {
	t.Helper()
	dir := filepath.Join(b.prefix, "releases", rel)
	data, err := os.ReadFile(filepath.Join(dir, SumsFile))
	if err != nil {
		t.Fatalf("release %s: %v", rel, err)
	}
	sums, err := ParseSums(data)
	if err != nil {
		t.Fatal(err)
	}
	if want != nil && string(data) != string(want.Sums) {
		t.Fatalf("release %s: SHA256SUMS differ from the bundle's", rel)
	}
	for name, sum := range sums {
		if got := sha256File(t, filepath.Join(dir, name)); got != sum {
			t.Fatalf("release %s: %s has sha256 %s, SHA256SUMS says %s", rel, name, got, sum)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("release %s: leftover temporary file %s", rel, e.Name())
		}
	}
}
