package deploy

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// linkProxy forwards TCP to an sshd; Cut drops every connection through
// it at once (the link to the board dies), and with limit > 0 a
// connection is dropped once limit bytes went towards the board.
type linkProxy struct {
	l      net.Listener
	limit  int64
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
	frozen atomic.Bool
}

func newLinkProxy(t *testing.T, addr string, limit int64) *linkProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &linkProxy{l: l, limit: limit}
	t.Cleanup(func() { l.Close(); p.Cut() })
	go func() {
		for {
			cc, err := l.Accept()
			if err != nil {
				return
			}
			sc, err := net.Dial("tcp", addr)
			if err != nil {
				cc.Close()
				continue
			}
			p.mu.Lock()
			if p.cut {
				cc.Close()
				sc.Close()
				p.mu.Unlock()
				continue
			}
			p.conns = append(p.conns, cc, sc)
			p.mu.Unlock()
			var once sync.Once
			drop := func() { once.Do(func() { cc.Close(); sc.Close() }) }
			go func() { p.forward(cc, sc); drop() }()
			go func() {
				defer drop()
				var n atomic.Int64
				buf := make([]byte, 32<<10)
				for {
					k, err := cc.Read(buf)
					if k > 0 {
						if p.limit > 0 && n.Add(int64(k)) > p.limit {
							return
						}
						if p.frozen.Load() {
							continue // a hung link: nothing arrives, nothing closes
						}
						if _, werr := sc.Write(buf[:k]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

// forward copies board → laptop until an error, dropping data while frozen.
func (p *linkProxy) forward(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Freeze makes the link hang: the connections stay open, but no byte
// passes any more (a cable pulled somewhere between, no RST).
func (p *linkProxy) Freeze() { p.frozen.Store(true) }

// Cut drops all connections and refuses new ones.
func (p *linkProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
}

// dialVia connects to the board through p.
func (b *testBoard) dialVia(t *testing.T, p *linkProxy) *Conn {
	t.Helper()
	tg := b.target()
	tg.Port = p.l.Addr().(*net.TCPAddr).Port
	so := b.ssh()
	so.KnownHosts = filepath.Join(t.TempDir(), "known_hosts") // [127.0.0.1]:proxyport is a new name
	c, err := Dial(context.Background(), tg, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// running is the release the stand-in service runs ("" when stopped).
func (b *testBoard) running() string {
	data, _ := os.ReadFile(filepath.Join(b.state, "running"))
	return strings.TrimPrefix(strings.TrimSpace(string(data)), "releases/")
}

func (b *testBoard) active() bool {
	_, err := os.Stat(filepath.Join(b.state, "active"))
	return err == nil
}

func (b *testBoard) link(name string) string {
	l, _ := os.Readlink(filepath.Join(b.prefix, name))
	return strings.TrimPrefix(l, "releases/")
}

// assertHealthy checks the board runs release want healthily and would
// start it again after a reboot: the service is active, it runs the
// release current points at, the installed unit is that release's unit,
// and no staging directory is left.
func (b *testBoard) assertHealthy(t *testing.T, want string) {
	t.Helper()
	if !b.active() {
		t.Fatalf("service not active (running %q, current %q)\ncalls:\n%s", b.running(), b.link("current"), b.callLog(t))
	}
	if cur := b.link("current"); b.running() != cur || cur != want {
		t.Fatalf("runs %q, current %q, want %q", b.running(), cur, want)
	}
	unit, _ := os.ReadFile(filepath.Join(b.unitDir, "edgecnn.service"))
	relUnit, _ := os.ReadFile(filepath.Join(b.prefix, "releases", want, "edgecnn.service"))
	if string(unit) != string(relUnit) {
		t.Fatalf("installed unit is not release %s's", want)
	}
	b.verifyRelease(t, want, nil)
}

// boardSide plays systemd on the board after the flash is gone: the
// service (re)starts, e.g. at the next boot; when the release fails its
// starts (StartLimitBurst= reached), OnFailure= runs the rollback script
// of the current release, as edgecnn-rollback.service would.
func (b *testBoard) boardSide(t *testing.T) string {
	t.Helper()
	sc := exec.Command(b.systemctl, "restart", "edgecnn.service")
	if out, err := sc.CombinedOutput(); err != nil {
		t.Fatalf("systemctl restart: %v %s", err, out)
	}
	if b.active() {
		return ""
	}
	return b.runRollback(t, nil)
}

// runRollback runs PREFIX/current/edgecnn-rollback as the rollback unit
// would (root, EDGECNN_RETRY_SEC=0 instead of 5 minutes).
func (b *testBoard) runRollback(t *testing.T, done chan<- error) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", filepath.Join(b.prefix, "current", RollbackScript), b.prefix, "edgecnn.service")
	cmd.Env = append(os.Environ(), "SYSTEMCTL="+b.systemctl, "EDGECNN_RETRY_SEC=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if done != nil {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		return ""
	}
	if err := cmd.Run(); err != nil {
		t.Fatalf("rollback script: %v\n%s", err, out.String())
	}
	return out.String()
}

// faultBundles installs a healthy OLD release and returns it with a
// healthy and a broken NEW bundle (different units: another camera).
func faultBundles(t *testing.T, b *testBoard) (old, good, broken *Bundle) {
	t.Helper()
	old = b.bundle(t, makeInputs(t, 512<<10, "old", "m1"), "1")
	o := b.opts()
	o.HealthTimeout = healthWait(true) // a working release: 27 cases start boards at once
	if r := Flash(context.Background(), b.dial(t), old, o); r.Err != nil {
		t.Fatal(r.Err)
	}
	b.assertHealthy(t, old.Release)
	if b.link("good") != old.Release {
		t.Fatalf("good = %q after a healthy flash, want %s", b.link("good"), old.Release)
	}
	in := makeInputs(t, 2<<20, "new", "m2")
	var err error
	good, err = NewBundle(Spec{Board: old.Board, Binary: in.binary, Model: in.model, Version: "2", Service: Service{Prefix: b.prefix, Camera: "v4l2"}})
	if err != nil {
		t.Fatal(err)
	}
	in = makeInputs(t, 2<<20, "BROKEN", "m2")
	broken, err = NewBundle(Spec{Board: old.Board, Binary: in.binary, Model: in.model, Version: "2", Service: Service{Prefix: b.prefix, Camera: "v4l2"}})
	if err != nil {
		t.Fatal(err)
	}
	return old, good, broken
}

// TestFlashFaultMatrix: the link to the board is cut, or the flash is
// cancelled (Ctrl-C), at every phase, with a new release that works and
// one that does not start. The board always ends on a healthy release —
// on its own (the board-side rollback) where the laptop cannot finish —
// and re-running flash converges to the new release when it works.
func TestFlashFaultMatrix(t *testing.T) {
	phases := []string{"locked", "upload", "unit", "switch", "restart", "health", "confirm"}
	type fault struct {
		name  string
		phase string
		cut   bool // cut the link (else cancel the context)
	}
	var faults []fault
	for _, p := range phases {
		faults = append(faults, fault{"cut-at-" + p, p, true}, fault{"ctrl-c-at-" + p, p, false})
	}
	faults = append(faults, fault{"cut-mid-upload", "", true})
	var (
		mu     sync.Mutex
		matrix []string
	)
	// The cases are independent boards (own sshd, own directories) and
	// mostly wait on the board: run them in parallel.
	t.Run("cases", func(t *testing.T) {
		for _, f := range faults {
			for _, works := range []bool{true, false} {
				if f.phase == "confirm" && !works {
					continue // a broken release never passes the health check
				}
				name := f.name + map[bool]string{true: "/new-works", false: "/new-broken"}[works]
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					b := newTestBoard(t)
					old, good, broken := faultBundles(t, b)
					nb := good
					if !works {
						nb = broken
					}
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					var limit int64
					if f.phase == "" {
						limit = 1 << 20 // 1 MiB into the 2 MiB binary
					}
					p := newLinkProxy(t, b.srv.Addr(), limit)
					c := b.dialVia(t, p)
					o := b.opts()
					o.HealthTimeout = healthWait(works)
					hit := false
					o.onPhase = func(ph string) {
						if ph != f.phase || hit {
							return
						}
						hit = true
						if f.cut {
							p.Cut()
						} else {
							cancel()
						}
					}
					r := Flash(ctx, c, nb, o)
					if f.phase != "" && !hit {
						t.Fatalf("phase %s never reached: %+v", f.phase, r)
					}
					after := "ok"
					if r.Err != nil {
						after = "error"
						if r.RolledBack {
							after = "rolled back by flash"
						}
					}
					// What the board does on its own: restart (a reboot) and, if
					// the release fails, the board-side rollback.
					if log := b.boardSide(t); log != "" {
						after += ", then rolled back by the board"
						if !strings.Contains(log, "rolling back to "+old.Release) {
							t.Fatalf("board-side rollback log:\n%s", log)
						}
					}
					switch {
					case b.running() == nb.Release && works:
						b.assertHealthy(t, nb.Release)
					default:
						b.assertHealthy(t, old.Release)
					}
					end := b.running()
					// Re-running flash (a fresh connection) converges.
					o2 := b.opts()
					o2.HealthTimeout = healthWait(works)
					r2 := Flash(context.Background(), b.dial(t), nb, o2)
					if works {
						if r2.Err != nil {
							t.Fatalf("re-run: %v", r2.Err)
						}
						b.assertHealthy(t, nb.Release)
						if b.link("good") != nb.Release {
							t.Fatalf("good = %q after the re-run, want %s", b.link("good"), nb.Release)
						}
					} else {
						if r2.Err == nil || !r2.RolledBack {
							t.Fatalf("re-run of a broken release: %+v", r2)
						}
						b.assertHealthy(t, old.Release)
					}
					who := map[string]string{old.Release: "old", nb.Release: "new"}
					mu.Lock()
					defer mu.Unlock()
					matrix = append(matrix, name+": flash "+after+"; board runs "+who[end]+"; re-run → "+map[bool]string{true: "new", false: "old (rolled back)"}[works])
					if errors.Is(r.Err, context.Canceled) || f.cut || r.Err != nil {
						t.Logf("flash: %v", r.Err)
					}
				})
			}
		}
	})
	sort.Strings(matrix)
	t.Logf("fault matrix (%d cases):\n%s", len(matrix), strings.Join(matrix, "\n"))
}

// healthWait is the flash's health timeout: short where the release
// never becomes healthy, generous where it does (a loaded machine).
func healthWait(works bool) time.Duration {
	if works {
		return 10 * time.Second
	}
	return time.Second
}
