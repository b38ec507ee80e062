package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"
)

// The health responder answers GET /healthz on an address of its own
// (Config.HealthAddr) from a process of its own. However busy the agent
// is — a flood of connections in its listen queue, thousands of goroutines
// waiting for the Go scheduler, workers decoding huge images — a health
// check never waits behind that work: the kernel wakes the small idle
// responder at once, and the responder reads the agent's health state
// from shared memory (healthState, a memfd both map) instead of asking
// the agent. It stays truthful: the agent writes the state as things
// happen, and a heartbeat word tells the responder when the agent itself
// stopped running (then 503, "agent not responding").
//
// The agent starts the responder with Config.HealthCommand and hands it
// three descriptors: 3 the listening socket (bound by the agent, so an
// address in use fails the agent's start), 4 the memfd, 5 the read end of
// a pipe whose write end only the agent holds; the responder exits when
// it reads end of file there, that is when the agent exits or is killed.
// The agent fails (Run returns an error, systemd restarts the unit) when
// the responder exits on its own.

// Heartbeat of the agent into the shared state, and how old it may be
// before the responder reports the agent as not responding.
const (
	healthBeatEvery   = 250 * time.Millisecond
	healthBeatTimeout = 5 * time.Second
)

// healthResponder is the agent's side of a running responder.
type healthResponder struct {
	cmd    *exec.Cmd
	parent *os.File   // write end of the liveness pipe
	done   chan error // the responder's exit
	page   []byte     // the shared mapping
	stop   context.CancelFunc
}

// startHealthResponder binds cfg.HealthAddr, moves the health state into
// shared memory and starts the responder process.
func (a *Agent) startHealthResponder() (*healthResponder, string, error) {
	if len(a.cfg.HealthCommand) == 0 {
		return nil, "", errors.New("health responder: no command to start it (HealthCommand)")
	}
	ln, err := net.Listen("tcp", a.cfg.HealthAddr)
	if err != nil {
		return nil, "", fmt.Errorf("health responder: %w", err)
	}
	addr := ln.Addr().String()
	lf, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return nil, "", fmt.Errorf("health responder: %w", err)
	}
	defer lf.Close()
	fd, err := unix.MemfdCreate("edgecnn-health", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, "", fmt.Errorf("health responder: memfd: %w", err)
	}
	mf := os.NewFile(uintptr(fd), "edgecnn-health")
	defer mf.Close()
	if err := mf.Truncate(healthPageSize); err != nil {
		return nil, "", fmt.Errorf("health responder: %w", err)
	}
	page, err := unix.Mmap(fd, 0, healthPageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, "", fmt.Errorf("health responder: mmap: %w", err)
	}
	// Nothing writes the private state yet (Run starts the camera later).
	copy(page, a.hs.Load().page)
	a.hs.Store(&healthState{page: page})
	pr, pw, err := os.Pipe()
	if err != nil {
		unix.Munmap(page)
		return nil, "", fmt.Errorf("health responder: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command(a.cfg.HealthCommand[0], a.cfg.HealthCommand[1:]...)
	cmd.ExtraFiles = []*os.File{lf, mf, pr}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, "", fmt.Errorf("health responder: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &healthResponder{cmd: cmd, parent: pw, done: make(chan error, 1), stop: stop}
	go func() { r.done <- cmd.Wait() }()
	hs := a.hs.Load()
	go func() {
		t := time.NewTicker(healthBeatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				hs.heartbeat()
			}
		}
	}()
	return r, addr, nil
}

// close ends the responder (it reads end of file) and waits for it.
func (r *healthResponder) close() {
	r.stop()
	r.parent.Close()
	select {
	case <-r.done:
	case <-time.After(3 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
	// The page stays mapped: a handler of the main API that outlived the
	// shutdown may still read it.
}

// ServeHealthResponder is the responder process (see Config.HealthAddr):
// it serves GET /healthz on ln from the health state an agent shares in
// state until parent, the read end of the agent's liveness pipe, reports
// end of file or ctx ends.
func ServeHealthResponder(ctx context.Context, ln net.Listener, state, parent *os.File) error {
	debug.SetMemoryLimit(32 << 20)
	page, err := unix.Mmap(int(state.Fd()), 0, healthPageSize, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("health responder: mmap: %w", err)
	}
	hs, err := openHealthState(page)
	if err != nil {
		return fmt.Errorf("health responder: %w", err)
	}
	static, err := hs.static()
	if err != nil {
		return fmt.Errorf("health responder: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		io.Copy(io.Discard, parent) // returns when the agent is gone
		cancel()
	}()
	srv := &http.Server{Handler: healthHandler(hs, static),
		ReadHeaderTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		IdleTimeout: 10 * time.Second, MaxHeaderBytes: 4 << 10}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	err = srv.Serve(newGuardListener(ln, 64, nil))
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("health responder: %w", err)
}

// healthHandler answers GET /healthz from hs.
func healthHandler(hs *healthState, static healthStatic) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hostAllowed(r.Host, static.AllowHosts) {
			httpError(w, http.StatusMisdirectedRequest, fmt.Sprintf("host %q is not this device's name (see --http-allow-host)", r.Host))
			return
		}
		if r.URL.Path != "/healthz" {
			httpError(w, http.StatusNotFound, "the health address serves GET /healthz only; the API is on the --http address")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			httpError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed (use GET)", r.Method))
			return
		}
		now := time.Now()
		s := hs.snap()
		ok, reason := s.eval(now)
		if age := now.Sub(s.beat); age > healthBeatTimeout {
			ok, reason = false, fmt.Sprintf("agent not responding: no heartbeat for %.1f s", age.Seconds())
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(s.body(ok, reason, static.Engine))
	})
}
