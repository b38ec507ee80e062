package main

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// pngBomb returns a small PNG (about 130 KB) that declares w×h pixels of
// 16-bit RGBA: decoded naively it needs w·h·8 bytes (128 MiB at 4096×4095).
func pngBomb(t testing.TB, w, h int) []byte {
	t.Helper()
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&out, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		io.WriteString(c, typ)
		c.Write(data)
		out.WriteString(typ)
		out.Write(data)
		binary.Write(&out, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16 bits per sample, RGBA
	chunk("IHDR", ihdr)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	row := make([]byte, 1+w*8) // filter byte 0 and black transparent pixels
	for y := 0; y < h; y++ {
		zw.Write(row)
	}
	zw.Close()
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return out.Bytes()
}

// With EDGECNN_HEALTHZ_PROBE=1 the test binary is a health prober: it GETs
// URL on a fresh connection every INTERVAL for DURATION and prints one line
// per probe: latency and start offset in nanoseconds, and the status code
// or the error.
func init() {
	if os.Getenv("EDGECNN_HEALTHZ_PROBE") != "1" || len(os.Args) != 4 {
		return
	}
	every, _ := time.ParseDuration(os.Args[2])
	dur, _ := time.ParseDuration(os.Args[3])
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	for time.Since(start) < dur {
		t0 := time.Now()
		res := ""
		resp, err := c.Get(os.Args[1])
		if err != nil {
			res = strings.ReplaceAll(err.Error(), "\n", " ")
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			res = strconv.Itoa(resp.StatusCode)
		}
		fmt.Printf("%d %d %s\n", time.Since(t0), t0.Sub(start), res)
		time.Sleep(every - time.Since(t0)%every)
	}
	os.Exit(0)
}

// loadAvg is the 1-minute load average (0 if unknown).
func loadAvg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// skip skips the test saying why, unless EDGECNN_REQUIRE_CGROUP=1 (CI,
// which runs as root: .ci/run sets it), where the attack test must run.
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("EDGECNN_REQUIRE_CGROUP") == "1" {
		t.Fatalf("EDGECNN_REQUIRE_CGROUP=1 but: %s", msg)
	}
	t.Skip(msg)
}

// memCgroup is a temporary memory cgroup (v1 or v2) with a limit.
type memCgroup struct {
	dir      string
	v2       bool
	procs    string
	peakFile string
}

// newMemCgroup creates a child of this process's memory cgroup limited to
// limit bytes, or skips the test saying why it cannot.
func newMemCgroup(t *testing.T, limit int64) *memCgroup {
	t.Helper()
	if os.Geteuid() != 0 {
		skip(t, "memory cgroup test needs root (CI runs as root)")
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		skip(t, "no /proc/self/cgroup: %v", err)
	}
	var parent string
	var v2 bool
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		p := strings.SplitN(line, ":", 3)
		if len(p) != 3 {
			continue
		}
		if strings.Contains(","+p[1]+",", ",memory,") {
			parent = filepath.Join("/sys/fs/cgroup/memory", p[2])
			break
		}
		if p[0] == "0" && p[1] == "" {
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				parent, v2 = filepath.Join("/sys/fs/cgroup", p[2]), true
			}
		}
	}
	if parent == "" {
		skip(t, "no memory cgroup controller mounted (v1 /sys/fs/cgroup/memory or v2 /sys/fs/cgroup)")
	}
	var rb [6]byte
	rand.Read(rb[:])
	cg := &memCgroup{dir: filepath.Join(parent, "edgecnn-test-"+hex.EncodeToString(rb[:])), v2: v2}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		skip(t, "cannot create a memory cgroup below %s: %v", parent, err)
	}
	t.Cleanup(cg.remove)
	lim := strconv.FormatInt(limit, 10)
	write := func(f, v string) error { return os.WriteFile(filepath.Join(cg.dir, f), []byte(v), 0o644) }
	cg.procs = filepath.Join(cg.dir, "cgroup.procs")
	if v2 {
		if err := write("memory.max", lim); err != nil {
			skip(t, "memory controller not enabled for %s: %v", parent, err)
		}
		write("memory.swap.max", "0")
		cg.peakFile = filepath.Join(cg.dir, "memory.peak")
		if _, err := os.Stat(cg.peakFile); err != nil {
			skip(t, "cgroup v2 without memory.peak (kernel < 5.19): cannot measure the peak")
		}
	} else {
		if err := write("memory.limit_in_bytes", lim); err != nil {
			t.Fatalf("cgroup limit: %v", err)
		}
		write("memory.memsw.limit_in_bytes", lim) // no escape into swap, where the kernel has it
		cg.peakFile = filepath.Join(cg.dir, "memory.max_usage_in_bytes")
	}
	return cg
}

func (cg *memCgroup) peak() int64 {
	b, _ := os.ReadFile(cg.peakFile)
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v
}

func (cg *memCgroup) oomKills() int {
	b, _ := os.ReadFile(filepath.Join(cg.dir, map[bool]string{false: "memory.oom_control", true: "memory.events"}[cg.v2]))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "oom_kill" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

func (cg *memCgroup) remove() {
	for i := 0; i < 50; i++ {
		if err := os.Remove(cg.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// command returns a command that joins the cgroup before it execs argv, so
// every byte the program allocates is charged to the cgroup.
func (cg *memCgroup) command(argv ...string) *exec.Cmd {
	return exec.Command("/bin/sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, cg.procs}, argv...)...)
}

// raiseNoFile lifts this process's open-file limit to its hard limit.
func raiseNoFile(t *testing.T, want uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	if rl.Cur < want {
		t.Logf("open-file limit %d < %d: the burst reuses connections slots", rl.Cur, want)
	}
}

// attackStats counts one attack's outcomes.
type attackStats struct {
	requests, ok, busy, tooBig, otherHTTP, netErr atomic.Int64
}

func (s *attackStats) record(code int, err error) {
	s.requests.Add(1)
	switch {
	case err != nil:
		s.netErr.Add(1)
	case code == http.StatusOK:
		s.ok.Add(1)
	case code == http.StatusServiceUnavailable:
		s.busy.Add(1)
	case code == http.StatusRequestEntityTooLarge:
		s.tooBig.Add(1)
	default:
		s.otherHTTP.Add(1)
	}
}

func (s *attackStats) String() string {
	return fmt.Sprintf("%d requests: %d ok, %d 503, %d 413, %d other HTTP, %d network errors",
		s.requests.Load(), s.ok.Load(), s.busy.Load(), s.tooBig.Load(), s.otherHTTP.Load(), s.netErr.Load())
}

func post(ctx context.Context, c *http.Client, url string, body []byte, ctype string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestHardeningMemoryCgroup is issue 12's attack: inside a 1 GiB memory
// cgroup, `edgecnn run` (a real process, camera and HTTP API) gets 64
// clients posting a PNG bomb plus a burst of connections posting ordinary
// photos. It must live, stay at or below 512 MiB peak, answer every
// /healthz (a fresh connection every 50 ms, on the health responder and on
// the API; their latencies are printed: the 100 ms target on the responder
// is a speed figure, not asserted) and still answer photos. `make test`
// runs 10 s and 2,000 connections; EDGECNN_HARDENING=full (make
// bench-hardening) runs 60 s and 15,000 and prints the table.
func TestHardeningMemoryCgroup(t *testing.T) {
	full := os.Getenv("EDGECNN_HARDENING") == "full"
	dur, burst := 10*time.Second, 2000
	if full {
		dur, burst = 60*time.Second, 15000
	}
	if v, err := time.ParseDuration(os.Getenv("EDGECNN_HARDENING_DURATION")); err == nil {
		dur = v
	}
	if v, err := strconv.Atoi(os.Getenv("EDGECNN_HARDENING_BURST")); err == nil {
		burst = v
	}
	bombClients := 64
	if v, err := strconv.Atoi(os.Getenv("EDGECNN_HARDENING_BOMBS")); err == nil {
		bombClients = v
	}
	if testing.Short() && !full {
		t.Skip("-short: skipping the 10 s memory cgroup attack")
	}
	const limit, peakMax = 1 << 30, 512 << 20
	cg := newMemCgroup(t, limit)
	raiseNoFile(t, uint64(burst)+4096)
	mp := cameraTestModel(t)
	bomb := pngBomb(t, 4096, 4095)
	photos := samplePhotos(t)
	var photoBytes [][]byte
	for _, p := range photos[:5] {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		photoBytes = append(photoBytes, b)
	}

	exe, _ := os.Executable()
	cmd := cg.command(exe, "run", "--model", mp, "--camera", "synthetic", "--size", "160x120",
		"--realtime", "--fps", "10", "--http", "127.0.0.1:0", "--health-http", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "EDGECNN_CAMERA_TEST_MAIN=1")
	cmd.Stdout = io.Discard
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	var logTail bytes.Buffer
	var logMu sync.Mutex
	addrc, healthAddrc := make(chan string, 1), make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
		reH := regexp.MustCompile(`msg="health responder listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
			if m := reH.FindStringSubmatch(sc.Text()); m != nil {
				healthAddrc <- m[1]
			}
			logMu.Lock()
			if logTail.Len() < 64<<10 {
				logTail.WriteString(sc.Text() + "\n")
			}
			logMu.Unlock()
		}
		exited <- cmd.Wait()
	}()
	defer cmd.Process.Kill()
	// On a real board the attackers do not share its CPU; here they run in
	// this process, on the same cores, so the recognizer gets a higher CPU
	// priority than they (the prober below gets a higher one still).
	syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, -5)
	var addr, healthAddr string
	select {
	case healthAddr = <-healthAddrc:
	case err := <-exited:
		t.Fatalf("edgecnn run exited at start: %v\n%s", err, logTail.String())
	case <-time.After(60 * time.Second):
		t.Fatal("edgecnn run did not start its health responder within 60 s")
	}
	select {
	case addr = <-addrc:
	case err := <-exited:
		t.Fatalf("edgecnn run exited at start: %v\n%s", err, logTail.String())
	case <-time.After(60 * time.Second):
		t.Fatal("edgecnn run did not listen within 60 s")
	}
	base := "http://" + addr
	// Let the camera deliver a first frame: /healthz is 200 from then on.
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := hc.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not 200 within 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ctx, stop := context.WithTimeout(context.Background(), dur)
	defer stop()
	var wg sync.WaitGroup

	// /healthz on a fresh connection every 50 ms, as a load balancer would,
	// on the health responder's address (--health-http) and on the API's.
	hzResp := startProber(t, exe, "http://"+healthAddr+"/healthz", dur, &wg)
	hzAPI := startProber(t, exe, base+"/healthz", dur, &wg)

	// 64 clients posting the PNG bomb back to back.
	var bombs attackStats
	bc := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < bombClients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				code, err := post(ctx, bc, base+"/predict", bomb, "image/png")
				if ctx.Err() != nil {
					return
				}
				bombs.record(code, err)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}

	// One client posting ordinary photos throughout: they must be answered.
	var photoStats attackStats
	wg.Add(1)
	go func() {
		defer wg.Done()
		pc := &http.Client{Timeout: 10 * time.Second}
		for i := 0; ctx.Err() == nil; i++ {
			code, err := post(ctx, pc, base+"/predict", photoBytes[i%len(photoBytes)], "image/jpeg")
			if ctx.Err() != nil {
				return
			}
			photoStats.record(code, err)
			time.Sleep(100 * time.Millisecond)
		}
	}()

	// The burst: `burst` connections, each posting one photo, 1,000 at a
	// time, starting a second into the bomb attack.
	var burstStats attackStats
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(time.Second)
		next := atomic.Int64{}
		var bw sync.WaitGroup
		for g := 0; g < 1000; g++ {
			bw.Add(1)
			go func() {
				defer bw.Done()
				c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
				for {
					i := next.Add(1)
					if i > int64(burst) || ctx.Err() != nil {
						return
					}
					code, err := post(context.Background(), c, base+"/predict", photoBytes[i%int64(len(photoBytes))], "image/jpeg")
					burstStats.record(code, err)
				}
			}()
		}
		bw.Wait()
	}()

	alive := true
	select {
	case err := <-exited:
		alive = false
		stop()
		t.Errorf("edgecnn run died during the attack: %v (cgroup OOM kills: %d)", err, cg.oomKills())
	case <-ctx.Done():
	}
	wg.Wait()
	if alive {
		select {
		case err := <-exited:
			alive = false
			t.Errorf("edgecnn run died during the attack: %v (cgroup OOM kills: %d)", err, cg.oomKills())
		default:
		}
	}
	peak := cg.peak()

	tab := fmt.Sprintf("hardening: %v in a %d MiB memory cgroup (peak limit %d MiB), load average %.1f on %d CPUs\n",
		dur, limit>>20, peakMax>>20, loadAvg(), goruntime.NumCPU())
	tab += fmt.Sprintf("%-38s | %8s | %6s | %6s | %6s | %6s | %s\n", "attack", "requests", "200", "503", "413", "errors", "")
	row := func(name string, s *attackStats) {
		tab += fmt.Sprintf("%-38s | %8d | %6d | %6d | %6d | %6d |\n", name, s.requests.Load(), s.ok.Load(), s.busy.Load(), s.tooBig.Load(), s.otherHTTP.Load()+s.netErr.Load())
	}
	row(fmt.Sprintf("PNG bomb 4096x4095x16bit, %d clients", bombClients), &bombs)
	row(fmt.Sprintf("burst of %d connections (photos)", burst), &burstStats)
	row("photos, 1 client, 10/s", &photoStats)
	tab += fmt.Sprintf("peak memory %d MiB (cgroup), process alive: %v, OOM kills: %d\n", peak>>20, alive, cg.oomKills())
	tab += fmt.Sprintf("%-38s | %8s | %6s | %9s | %9s | %9s\n", "/healthz every 50 ms", "probes", "failed", "p50", "p99", "max")
	tab += hzResp.row("--health-http (target max 100 ms)")
	tab += hzAPI.row("--http (the API's own)")
	if full {
		fmt.Print(tab)
	} else {
		t.Log("\n" + tab)
	}

	if !alive {
		logMu.Lock()
		t.Fatalf("process died; log:\n%s", logTail.String())
	}
	if peak > peakMax {
		t.Errorf("peak memory %d MiB above %d MiB", peak>>20, peakMax>>20)
	}
	// /healthz latency under attack is a speed figure: reported here and
	// by make bench-hardening, not asserted (the attackers share the
	// CPUs). What is asserted: it never failed, on either address, and the
	// responder answered throughout.
	for _, p := range []*prober{hzResp, hzAPI} {
		p.check(t, dur)
	}
	if photoStats.ok.Load() == 0 || (burst > 0 && burstStats.ok.Load() == 0) {
		t.Errorf("ordinary photos not answered: photos %v; burst %v", &photoStats, &burstStats)
	}
	if bombs.otherHTTP.Load()+photoStats.otherHTTP.Load()+burstStats.otherHTTP.Load() > 0 {
		t.Errorf("unexpected HTTP statuses: bombs %v; photos %v; burst %v", &bombs, &photoStats, &burstStats)
	}
	if (bombClients > 0 && bombs.requests.Load() == 0) || burstStats.requests.Load() < int64(burst)/2 {
		t.Errorf("attack did not run: bombs %v; burst %v", &bombs, &burstStats)
	}
	// It still works after the attack.
	code, err := post(context.Background(), hc, base+"/predict", photoBytes[0], "image/jpeg")
	if err != nil || code != 200 {
		t.Errorf("photo after the attack: %d %v", code, err)
	}
}

// prober runs a health prober process (EDGECNN_HEALTHZ_PROBE) and
// collects its latencies.
type prober struct {
	url       string
	mu        sync.Mutex
	lat       []time.Duration
	failed    int
	firstFail string
	slow      []string
}

func startProber(t *testing.T, exe, url string, dur time.Duration, wg *sync.WaitGroup) *prober {
	t.Helper()
	p := &prober{url: url}
	cmd := exec.Command(exe, url, "50ms", dur.String())
	cmd.Env = append(os.Environ(), "EDGECNN_HEALTHZ_PROBE=1")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, -10)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			// "LATENCY_NS OFFSET_NS STATUS_OR_ERROR"
			f := strings.SplitN(sc.Text(), " ", 3)
			if len(f) != 3 {
				continue
			}
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			off, _ := strconv.ParseInt(f[1], 10, 64)
			d := time.Duration(ns)
			p.mu.Lock()
			p.lat = append(p.lat, d)
			if f[2] != "200" {
				p.failed++
				if p.firstFail == "" {
					p.firstFail = f[2]
				}
			}
			if d > 100*time.Millisecond {
				p.slow = append(p.slow, fmt.Sprintf("%v at +%v", d.Round(time.Millisecond), time.Duration(off).Round(time.Millisecond)))
			}
			p.mu.Unlock()
		}
		cmd.Wait()
	}()
	return p
}

// quantile returns the q-quantile of the latencies (0 without any).
func (p *prober) quantile(q float64) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.lat) == 0 {
		return 0
	}
	s := slices.Clone(p.lat)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (p *prober) row(name string) string {
	p.mu.Lock()
	n, failed := len(p.lat), p.failed
	p.mu.Unlock()
	r := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	return fmt.Sprintf("%-38s | %8d | %6d | %9s | %9s | %9s\n", name, n, failed, r(p.quantile(0.5)), r(p.quantile(0.99)), r(p.quantile(1)))
}

// check fails the test when a probe failed or the prober did not probe
// throughout (at least a probe a second).
func (p *prober) check(t *testing.T, dur time.Duration) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed > 0 {
		t.Errorf("%s failed %d of %d times (first: %s)", p.url, p.failed, len(p.lat), p.firstFail)
	}
	if len(p.lat) < int(dur/time.Second) {
		t.Errorf("%s: only %d probes in %v", p.url, len(p.lat), dur)
	}
	t.Logf("%s: %d probes, slow (> 100 ms): %v", p.url, len(p.lat), p.slow)
}

// TestHealthResponderFollowsAgent: `run --health-http` answers /healthz
// from a process of its own that follows the agent: 503 "agent not
// responding" while the agent is stopped (SIGSTOP: no heartbeat), 200
// again once it runs, and gone when the agent is killed (kill -9).
func TestHealthResponderFollowsAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: waits for the 5 s heartbeat timeout")
	}
	mp := cameraTestModel(t)
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "run", "--model", mp, "--camera", "synthetic", "--size", "160x120",
		"--realtime", "--fps", "10", "--health-http", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "EDGECNN_CAMERA_TEST_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		cmd.Wait()
	}()
	re := regexp.MustCompile(`msg="health responder listening" addr=(\S+) pid=(\d+)`)
	sc := bufio.NewScanner(stderr)
	var addr string
	var pid int
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
			pid, _ = strconv.Atoi(m[2])
			break
		}
	}
	if addr == "" {
		t.Fatal("no health responder in the log")
	}
	go io.Copy(io.Discard, stderr)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	wait := func(code int, want string) {
		t.Helper()
		var last string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			resp, err := hc.Get("http://" + addr + "/healthz")
			if err != nil {
				last = err.Error()
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%d %s", resp.StatusCode, b)
			if resp.StatusCode == code && strings.Contains(string(b), want) {
				return
			}
		}
		t.Fatalf("responder: want %d with %q, last: %s", code, want, last)
	}
	wait(200, `"status":"ok"`)
	cmd.Process.Signal(syscall.SIGSTOP)
	wait(503, "agent not responding")
	cmd.Process.Signal(syscall.SIGCONT)
	wait(200, `"status":"ok"`)
	cmd.Process.Kill()
	cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
		// A zombie (not reaped yet: its parent is gone, init reaps it)
		// counts as gone too.
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("health responder still running 10 s after the agent was killed")
		}
	}
}
