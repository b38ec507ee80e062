package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
)

// fakeSystemdEnv makes the test binary a systemctl client of fakeSystemd:
// it sends its arguments over the unix socket the variable names, prints
// the answer and exits with its status.
const fakeSystemdEnv = "EDGECNN_FAKE_SYSTEMD"

func init() {
	sock := os.Getenv(fakeSystemdEnv)
	if sock == "" {
		return
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "systemctl:", err)
		os.Exit(1)
	}
	json.NewEncoder(c).Encode(os.Args[1:])
	var ans struct {
		RC  int
		Out string
	}
	if err := json.NewDecoder(c).Decode(&ans); err != nil {
		fmt.Fprintln(os.Stderr, "systemctl:", err)
		os.Exit(1)
	}
	fmt.Print(ans.Out)
	os.Exit(ans.RC)
}

// fakeSystemd plays systemd as PID 1 — the one thing that cannot run
// here — for the units flash installs, and nothing else: it reads the
// installed unit files and follows them. A start runs the unit's real
// ExecStart= (the real edgecnn binary of the current release), waits for
// its READY=1 (Type=notify), then runs its real ExecStartPost= health
// gate; a failed start or a crash is restarted after RestartSec=
// (Restart=on-failure) until StartLimitBurst= failed starts, when the unit
// fails and its OnFailure= unit runs (its real ExecStart=: the release's
// rollback script, which calls back through a systemctl stand-in). Not
// emulated: User=, the sandbox, WatchdogSec= and Environment= (the state
// directory is a temporary one).
type fakeSystemd struct {
	t       *testing.T
	unitDir string
	dir     string
	bin     string // directory of the systemctl stand-in
	ln      net.Listener

	mu      sync.Mutex
	gen     int           // bumped by every explicit start/stop: stale restart loops end
	proc    *exec.Cmd     // the service's main process
	exited  chan struct{} // closed when proc exits
	active  bool
	fails   []time.Time
	starts  []string // release of every start attempt
	events  []string
	rbDone  chan string // output of each OnFailure= run
	stopped bool
}

func newFakeSystemd(t *testing.T, unitDir string) *fakeSystemd {
	s := &fakeSystemd{t: t, unitDir: unitDir, dir: t.TempDir(), rbDone: make(chan string, 4)}
	s.bin = filepath.Join(s.dir, "bin")
	os.Mkdir(s.bin, 0o755)
	sock := filepath.Join(s.dir, "systemd.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	script := "#!/bin/sh\n" + fakeSystemdEnv + "=" + shq(sock) + " exec " + shq(os.Args[0]) + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(s.bin, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	go s.serve()
	t.Cleanup(func() {
		s.mu.Lock()
		s.stopped = true
		s.gen++
		s.mu.Unlock()
		ln.Close()
		s.stop()
	})
	return s
}

func (s *fakeSystemd) systemctl() string { return filepath.Join(s.bin, "systemctl") }

func (s *fakeSystemd) logf(format string, args ...any) {
	s.mu.Lock()
	s.events = append(s.events, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *fakeSystemd) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var args []string
			if json.NewDecoder(c).Decode(&args) != nil {
				return
			}
			rc, out := s.command(args)
			json.NewEncoder(c).Encode(struct {
				RC  int
				Out string
			}{rc, out})
		}()
	}
}

// command runs one systemctl command line.
func (s *fakeSystemd) command(args []string) (int, string) {
	s.logf("systemctl %s", strings.Join(args, " "))
	var words []string
	noBlock := false
	for _, a := range args {
		switch a {
		case "--no-block":
			noBlock = true
		case "--quiet", "-q":
		default:
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		return 1, ""
	}
	switch words[0] {
	case "daemon-reload", "enable":
		return 0, ""
	case "reset-failed":
		s.mu.Lock()
		s.fails = nil
		s.mu.Unlock()
		return 0, ""
	case "is-active":
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.active {
			return 0, "active\n"
		}
		return 3, "inactive\n"
	case "show": // show -p FragmentPath --value UNIT
		return 0, filepath.Join(s.unitDir, words[len(words)-1]) + "\n"
	case "stop":
		s.mu.Lock()
		s.gen++
		s.mu.Unlock()
		s.stop()
		return 0, ""
	case "start", "restart":
		s.mu.Lock()
		s.gen++
		gen := s.gen
		s.mu.Unlock()
		if noBlock {
			go s.job(gen)
			return 0, ""
		}
		if err := s.job(gen); err != nil {
			return 1, "Job for edgecnn.service failed: " + err.Error() + "\n"
		}
		return 0, ""
	}
	return 0, ""
}

// unit parses an installed unit file into its settings.
func (s *fakeSystemd) unit(name string) map[string][]string {
	data, err := os.ReadFile(filepath.Join(s.unitDir, name))
	if err != nil {
		s.t.Errorf("fake systemd: %v", err)
		return nil
	}
	u := map[string][]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "[") {
			u[k] = append(u[k], v)
		}
	}
	return u
}

// words splits a command line the way systemd does for the quoting
// unitValue writes: double quotes with \" and \\ escapes, %% and $$.
func words(line string) []string {
	var out []string
	var cur strings.Builder
	in, has := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && in && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			in, has = !in, true
		case c == ' ' && !in:
			if has || cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
			has = false
		default:
			cur.WriteByte(c)
		}
	}
	if has || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	for i, w := range out {
		out[i] = strings.NewReplacer("%%", "%", "$$", "$").Replace(w)
	}
	return out
}

func (s *fakeSystemd) first(u map[string][]string, key string) string {
	if v := u[key]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

// job starts edgecnn.service; on failure it schedules the restarts
// Restart=on-failure asks for, in the background, and returns the failure
// (as systemctl restart does).
func (s *fakeSystemd) job(gen int) error {
	err := s.startOnce(gen)
	if err == nil {
		return nil
	}
	s.failed(gen, err)
	return err
}

// failed counts a failed start (or a crash) of generation gen and either
// schedules a restart or, at StartLimitBurst=, fails the unit and runs
// OnFailure=.
func (s *fakeSystemd) failed(gen int, err error) {
	u := s.unit("edgecnn.service")
	burst, _ := strconv.Atoi(s.first(u, "StartLimitBurst"))
	interval, _ := strconv.Atoi(s.first(u, "StartLimitIntervalSec"))
	restartSec, _ := time.ParseDuration(s.first(u, "RestartSec"))
	s.mu.Lock()
	if s.gen != gen || s.stopped {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	s.fails = append(s.fails, now)
	n := 0
	for _, f := range s.fails {
		if now.Sub(f) <= time.Duration(interval)*time.Second {
			n++
		}
	}
	s.mu.Unlock()
	s.logf("edgecnn.service failed (%v): %d of StartLimitBurst=%d", err, n, burst)
	if burst > 0 && n >= burst {
		s.logf("edgecnn.service: start limit hit; OnFailure=%s", s.first(u, "OnFailure"))
		go s.oneshot(s.first(u, "OnFailure"))
		return
	}
	if s.first(u, "Restart") != "on-failure" {
		return
	}
	go func() {
		time.Sleep(restartSec)
		s.mu.Lock()
		cur := s.gen == gen && !s.stopped
		s.mu.Unlock()
		if cur {
			s.job(gen)
		}
	}()
}

// startOnce runs ExecStart=, waits for READY=1, then ExecStartPost=.
func (s *fakeSystemd) startOnce(gen int) error {
	s.stop()
	u := s.unit("edgecnn.service")
	argv := words(s.first(u, "ExecStart"))
	if len(argv) == 0 {
		return fmt.Errorf("no ExecStart=")
	}
	notify := filepath.Join(s.dir, fmt.Sprintf("notify-%d", time.Now().UnixNano()))
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer nl.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.first(u, "WorkingDirectory")
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify, "EDGECNN_STATE_DIR="+s.dir, "STATE_DIRECTORY="+s.dir)
	logf, _ := os.Create(filepath.Join(s.dir, fmt.Sprintf("service-%d.log", time.Now().UnixNano())))
	cmd.Stdout, cmd.Stderr = logf, logf
	release, _ := filepath.EvalSymlinks(argv[0])
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.proc, s.exited = cmd, exited
	s.starts = append(s.starts, filepath.Base(filepath.Dir(release)))
	s.mu.Unlock()
	go func() {
		cmd.Wait()
		logf.Close()
		close(exited)
		s.mu.Lock()
		crashed := s.active && s.proc == cmd
		if s.proc == cmd {
			s.active = false
		}
		g := s.gen
		s.mu.Unlock()
		if crashed {
			s.failed(g, fmt.Errorf("main process exited"))
		}
	}()
	ready := make(chan bool, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := nl.ReadFromUnix(buf)
			if err != nil {
				return
			}
			if strings.Contains("\n"+string(buf[:n])+"\n", "\nREADY=1\n") {
				ready <- true
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-exited:
		return fmt.Errorf("ExecStart= exited before READY=1")
	case <-time.After(90 * time.Second):
		s.stop()
		return fmt.Errorf("no READY=1 within 90 s")
	}
	if post := words(s.first(u, "ExecStartPost")); len(post) > 0 {
		out, err := exec.Command(post[0], post[1:]...).CombinedOutput()
		if err != nil {
			s.logf("ExecStartPost= failed: %v %s", err, strings.TrimSpace(string(out)))
			s.stop()
			return fmt.Errorf("ExecStartPost= failed")
		}
	}
	s.mu.Lock()
	if s.proc != cmd {
		s.mu.Unlock()
		return fmt.Errorf("superseded")
	}
	s.active = true
	rel := s.starts[len(s.starts)-1]
	s.mu.Unlock()
	s.logf("edgecnn.service active (%s)", rel)
	return nil
}

// stop ends the main process (SIGTERM, then SIGKILL after 10 s).
func (s *fakeSystemd) stop() {
	s.mu.Lock()
	p, exited := s.proc, s.exited
	s.proc, s.active = nil, false
	s.mu.Unlock()
	if p == nil {
		return
	}
	p.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		p.Process.Kill()
		<-exited
	}
}

// oneshot runs a Type=oneshot unit's ExecStart= (the rollback unit), with
// the systemctl stand-in first on PATH.
func (s *fakeSystemd) oneshot(name string) {
	u := s.unit(name)
	argv := words(s.first(u, "ExecStart"))
	cmd := exec.Command(argv[0], argv[1:]...)
	// EDGECNN_RETRY_SEC=0: the script's 5-minute pause before retrying a
	// release with nothing to roll back to.
	cmd.Env = append(os.Environ(), "PATH="+s.bin+":"+os.Getenv("PATH"), "EDGECNN_RETRY_SEC=0")
	out, err := cmd.CombinedOutput()
	s.logf("%s: %v\n%s", name, err, out)
	s.rbDone <- string(out)
}

func (s *fakeSystemd) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.events, "\n")
}

// freePort returns a loopback address nothing listens on now.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestBoardRollbackAsSystemd flashes a working release of the real edgecnn
// binary, then one whose camera never works, with the link cut before the
// restart; the board then (re)starts its service as systemd would from the
// installed unit files: the new release fails its health gate
// StartLimitBurst= times, OnFailure= runs the real rollback script, and
// the board ends on the working release, healthy, with no laptop.
func TestBoardRollbackAsSystemd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds edgecnn and runs it through failed starts (~30 s)")
	}
	root := testenv.RepoRoot(t)
	dir := t.TempDir()
	exe := filepath.Join(dir, "edgecnn")
	build := exec.Command("go", "build", "-o", exe, "./cmd/edgecnn")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ck, err := model.ReadCheckpointFile(filepath.Join(root, "models", "mnist.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := model.FloatGraph(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	modelFile := filepath.Join(dir, "mnist.tflite")
	if err := tflite.WriteFile(modelFile, g); err != nil {
		t.Fatal(err)
	}

	b := newTestBoard(t)
	sd := newFakeSystemd(t, b.unitDir)
	board, _ := boards.Lookup("generic-amd64")
	svc := Service{Prefix: b.prefix, HTTP: freePort(t), HealthHTTP: freePort(t), HealthTimeout: 3 * time.Second,
		Camera: "synthetic", Args: []string{"--realtime", "--fps", "5", "--size", "160x120"}}
	good, err := NewBundle(Spec{Board: board, Binary: exe, Model: modelFile, Version: "1", Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	svc.Camera, svc.Args = "v4l2", []string{"--device", filepath.Join(dir, "no-such-video0")}
	broken, err := NewBundle(Spec{Board: board, Binary: exe, Model: modelFile, Version: "2", Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	o := b.opts()
	o.Systemctl, o.HealthURL, o.HealthTimeout = sd.systemctl(), "", 20*time.Second
	if r := Flash(context.Background(), b.dial(t), good, o); r.Err != nil {
		t.Fatalf("flash of the working release: %v\nsystemd:\n%s", r.Err, sd)
	}
	if b.link("good") != good.Release || b.link("current") != good.Release {
		t.Fatalf("after a healthy flash: current %q good %q, want %s", b.link("current"), b.link("good"), good.Release)
	}

	// The broken release: the link dies as flash is about to restart.
	p := newLinkProxy(t, b.srv.Addr(), 0)
	o.onPhase = func(ph string) {
		if ph == "restart" {
			p.Cut()
		}
	}
	if r := Flash(context.Background(), b.dialVia(t, p), broken, o); r.Err == nil {
		t.Fatal("flash with the link cut before the restart succeeded")
	}
	if b.link("current") != broken.Release {
		t.Fatalf("current %q after the cut, want the new release %s (switched before the restart)", b.link("current"), broken.Release)
	}
	// The board on its own: the service starts again (a reboot, say).
	sd.mu.Lock()
	sd.gen++
	gen := sd.gen
	sd.fails = nil
	sd.mu.Unlock()
	go sd.job(gen)
	var out string
	select {
	case out = <-sd.rbDone:
	case <-time.After(3 * time.Minute):
		t.Fatalf("OnFailure= never ran\nsystemd:\n%s", sd)
	}
	if !strings.Contains(out, "rolling back to "+good.Release) || !strings.Contains(out, "rolled back to "+good.Release) {
		t.Fatalf("rollback script output:\n%s\nsystemd:\n%s", out, sd)
	}
	sd.mu.Lock()
	starts, active := append([]string(nil), sd.starts...), sd.active
	sd.mu.Unlock()
	brokenStarts := 0
	for _, r := range starts {
		if r == broken.Release {
			brokenStarts++
		}
	}
	burst := strconv.Itoa(good.Service.RollbackAfter)
	if !active || starts[len(starts)-1] != good.Release || strconv.Itoa(brokenStarts) != burst ||
		b.link("current") != good.Release || b.link("good") != good.Release {
		t.Fatalf("after the rollback: active %v, starts %v (want %s of %s, then %s), current %q, good %q\nsystemd:\n%s",
			active, starts, burst, broken.Release, good.Release, b.link("current"), b.link("good"), sd)
	}
	unit, _ := os.ReadFile(filepath.Join(b.unitDir, "edgecnn.service"))
	if string(unit) != good.Unit {
		t.Errorf("installed unit is not the working release's after the rollback")
	}
	// The working release answers its health check again, as the unit's
	// own gate asks it.
	gate := words(sd.first(sd.unit("edgecnn.service"), "ExecStartPost"))
	if out, err := exec.Command(gate[0], gate[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("health gate after the rollback: %v %s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(b.prefix, "rollback.log"))
	t.Logf("rollback.log:\n%s", log)
	sc := bufio.NewScanner(strings.NewReader(sd.String()))
	for sc.Scan() {
		t.Log(sc.Text())
	}
}
