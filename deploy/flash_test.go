package deploy

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

func TestFlashInstallSkipAndSwitch(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	ctx := context.Background()

	in1 := makeInputs(t, 2<<20, "v1", "model-1")
	b1 := b.bundle(t, in1, "1.0.0")
	r := Flash(ctx, c, b1, b.opts())
	if r.Err != nil {
		t.Fatalf("first flash: %v\ncalls:\n%s", r.Err, b.callLog(t))
	}
	if r.Previous != "" || r.Uploaded != len(b1.Files) || r.Linked != 0 {
		t.Fatalf("first flash result %+v", r)
	}
	if got := b.current(t); got != b1.Release {
		t.Fatalf("current = %s, want %s", got, b1.Release)
	}
	b.verifyRelease(t, b1.Release, b1)
	if fi, err := os.Stat(filepath.Join(b.prefix, "current", "edgecnn")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("binary mode: %v %v", fi, err)
	}
	unit, err := os.ReadFile(filepath.Join(b.unitDir, "edgecnn.service"))
	if err != nil || string(unit) != b1.Unit {
		t.Fatalf("unit file not installed as rendered: %v", err)
	}
	verifyUnitFile(t, b, string(unit))
	calls := b.callLog(t)
	for _, want := range []string{"systemd-sysusers " + filepath.Join(b.sysusers, "edgecnn.conf"), "systemctl daemon-reload", "systemctl enable edgecnn.service", "systemctl restart edgecnn.service", "systemctl is-active --quiet edgecnn.service"} {
		if !strings.Contains(calls, want) {
			t.Errorf("no %q in calls:\n%s", want, calls)
		}
	}
	if su, err := os.ReadFile(filepath.Join(b.sysusers, "edgecnn.conf")); err != nil || !strings.Contains(string(su), "u edgecnn ") {
		t.Errorf("sysusers entry: %q %v", su, err)
	}

	// Re-flash, nothing changed: (almost) nothing sent, no restart.
	os.WriteFile(b.calls, nil, 0o644)
	r2 := Flash(ctx, c, b1, b.opts())
	if r2.Err != nil || !r2.Unchanged || r2.Uploaded != 0 {
		t.Fatalf("re-flash: %+v", r2)
	}
	t.Logf("first flash sent %d bytes on the wire (%d payload); unchanged re-flash sent %d bytes (%.3f%%)",
		r.BytesSent, r.Payload, r2.BytesSent, 100*float64(r2.BytesSent)/float64(r.BytesSent))
	if r2.BytesSent*100 > r.BytesSent {
		t.Errorf("unchanged re-flash sent %d bytes, more than 1%% of %d", r2.BytesSent, r.BytesSent)
	}
	if strings.Contains(b.callLog(t), "restart") {
		t.Errorf("unchanged re-flash restarted the service:\n%s", b.callLog(t))
	}

	// New model, same binary: the binary is hard-linked, not sent.
	in2 := in1
	in2.model = filepath.Join(t.TempDir(), "mnist-int8.tflite")
	os.WriteFile(in2.model, []byte("model-2"), 0o644)
	b2 := b.bundle(t, in2, "1.0.1")
	r3 := Flash(ctx, c, b2, b.opts())
	if r3.Err != nil {
		t.Fatal(r3.Err)
	}
	if r3.Previous != b1.Release || b.current(t) != b2.Release {
		t.Fatalf("switch: previous=%s current=%s", r3.Previous, b.current(t))
	}
	if r3.Linked < 2 || r3.Payload > 64<<10 {
		t.Fatalf("changed model only: linked %d files, sent %d payload bytes (binary should be linked)", r3.Linked, r3.Payload)
	}
	b.verifyRelease(t, b2.Release, b2)
	b.verifyRelease(t, b1.Release, b1) // the old release is intact for rollback
	fi1, _ := os.Stat(filepath.Join(b.prefix, "releases", b1.Release, "edgecnn"))
	fi2, _ := os.Stat(filepath.Join(b.prefix, "releases", b2.Release, "edgecnn"))
	if !os.SameFile(fi1, fi2) {
		t.Error("unchanged binary was not hard-linked between releases")
	}
}

// verifyUnitFile checks the unit's hardening and, where systemd-analyze
// is installed, runs `systemd-analyze verify` on it.
func verifyUnitFile(t *testing.T, b *testBoard, unit string) {
	t.Helper()
	for _, want := range []string{"Type=notify", "User=edgecnn", "NoNewPrivileges=yes", "ProtectSystem=strict",
		"ReadWritePaths=-/var/lib/edgecnn", "Restart=on-failure", "WatchdogSec=30",
		"ExecStart=" + b.prefix + "/current/edgecnn run --model " + b.prefix + "/current/model.tflite --backend native --camera auto --wait-camera --http 127.0.0.1:8080 --health-http 127.0.0.1:8081 --config " + b.prefix + "/current/config.json",
		"WantedBy=multi-user.target"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze not installed: unit verified by content only")
		return
	}
	// verify resolves ExecStart, so point a copy at an existing binary.
	dir := t.TempDir()
	u := strings.ReplaceAll(unit, b.prefix+"/current/edgecnn", "/bin/true")
	u = strings.ReplaceAll(u, "User=edgecnn\nGroup=edgecnn\n", "User=root\nGroup=root\n") // the user exists only after sysusers
	p := filepath.Join(dir, "edgecnn.service")
	os.WriteFile(p, []byte(u), 0o644)
	out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput()
	text := string(out)
	if err != nil {
		// Without a running systemd (containers), verify cannot load its
		// manager; that is an environment limit, not a unit error.
		if strings.Contains(text, "Failed to initialize manager") || strings.Contains(text, "Failed to setup working directory") ||
			strings.Contains(text, "System has not been booted with systemd") || strings.Contains(text, "Failed to allocate manager") {
			t.Logf("systemd-analyze verify cannot run here (%s): unit verified by content only", firstLine(text))
			return
		}
		t.Fatalf("systemd-analyze verify: %v\n%s", err, text)
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "edgecnn.service") && !strings.Contains(l, "Unknown key") {
			t.Errorf("systemd-analyze verify: %s", l)
		}
	}
	t.Logf("systemd-analyze verify passed")
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func TestFlashRollsBackWhenUnhealthy(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	ctx := context.Background()
	good := b.bundle(t, makeInputs(t, 64<<10, "good", "m"), "1")
	if r := Flash(ctx, c, good, b.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}

	// A release whose service does not come up (systemctl is-active
	// fails), with a different unit (another camera).
	bin := makeInputs(t, 64<<10, "BROKEN", "m")
	broken, err := NewBundle(Spec{Board: good.Board, Binary: bin.binary, Model: bin.model, Version: "2",
		Service: Service{Prefix: b.prefix, Camera: "stdin"}})
	if err != nil {
		t.Fatal(err)
	}
	r := Flash(ctx, c, broken, b.opts())
	if r.Err == nil || !r.RolledBack || !strings.Contains(r.Err.Error(), "rolled back to "+good.Release+", which is running") {
		t.Fatalf("broken release: %+v", r)
	}
	if got := b.current(t); got != good.Release {
		t.Fatalf("after rollback current = %s, want %s", got, good.Release)
	}
	if r.Status() != "rolled-back" {
		t.Errorf("status %s", r.Status())
	}
	b.verifyRelease(t, good.Release, good)
	if unit, _ := os.ReadFile(filepath.Join(b.unitDir, "edgecnn.service")); string(unit) != good.Unit {
		t.Fatalf("rollback left the failed release's unit installed:\n%s", unit)
	}

	// A release whose /healthz does not answer.
	o := b.opts()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	o.HealthURL = "http://" + dead + "/healthz"
	o.HealthTimeout = time.Second
	other := b.bundle(t, makeInputs(t, 64<<10, "fine", "m"), "3")
	r = Flash(ctx, c, other, o)
	if r.Err == nil || !r.RolledBack || !strings.Contains(r.Err.Error(), "health check") {
		t.Fatalf("healthz down: %+v", r)
	}
	if got := b.current(t); got != good.Release {
		t.Fatalf("after rollback current = %s, want %s", got, good.Release)
	}
}

func TestFlashFirstReleaseUnhealthyStops(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	broken := b.bundle(t, makeInputs(t, 1024, "BROKEN", "m"), "1")
	o := b.opts()
	o.HealthTimeout = time.Second
	r := Flash(context.Background(), c, broken, o)
	if r.Err == nil || r.RolledBack || !strings.Contains(r.Err.Error(), "no previous release") {
		t.Fatalf("%+v", r)
	}
	if !strings.Contains(b.callLog(t), "systemctl stop edgecnn.service") {
		t.Errorf("service not stopped:\n%s", b.callLog(t))
	}
}

func TestFlashInterruptedUploadKeepsOldRelease(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	ctx := context.Background()
	old := b.bundle(t, makeInputs(t, 256<<10, "old", "m"), "1")
	if r := Flash(ctx, c, old, b.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}
	calls := b.callLog(t)

	// The connection drops after 1 MiB of a 4 MiB binary.
	pc := b.dialVia(t, newLinkProxy(t, b.srv.Addr(), 1<<20))
	big := b.bundle(t, makeInputs(t, 4<<20, "new", "m"), "2")
	r := Flash(ctx, pc, big, b.opts())
	if r.Err == nil || !strings.Contains(r.Err.Error(), "upload") || !strings.Contains(r.Err.Error(), old.Release+" is untouched") {
		t.Fatalf("interrupted upload: %+v", r)
	}
	t.Logf("interrupted flash: %v", r.Err)
	if got := b.current(t); got != old.Release {
		t.Fatalf("current = %s after an interrupted upload", got)
	}
	b.verifyRelease(t, old.Release, old)
	if _, err := os.Stat(filepath.Join(b.prefix, "releases", big.Release)); !os.IsNotExist(err) {
		t.Fatalf("half release under its final name: %v", err)
	}
	if b.callLog(t) != calls {
		t.Fatalf("systemctl was called during an interrupted upload:\n%s", strings.TrimPrefix(b.callLog(t), calls))
	}

	// The next flash completes and clears the leftover staging directory.
	r = Flash(ctx, c, big, b.opts())
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	b.verifyRelease(t, big.Release, big)
	ents, _ := os.ReadDir(filepath.Join(b.prefix, "releases"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".staging-") {
			t.Errorf("leftover %s", e.Name())
		}
	}
}

func TestHostKeyChecks(t *testing.T) {
	srv := sshdtest.Start(t)
	tg := Target{User: srv.User, Host: "127.0.0.1", Port: srv.Port}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	o := SSHOptions{KnownHosts: kh, Identity: srv.KeyFile, Timeout: 5 * time.Second}
	ctx := context.Background()

	// First contact without --accept-new-host-key: refused.
	_, err := Dial(ctx, tg, o)
	var hk *HostKeyError
	if !errors.As(err, &hk) || hk.Changed || !strings.Contains(err.Error(), "--accept-new-host-key") {
		t.Fatalf("unknown host: %v", err)
	}
	// Accepted and recorded.
	o.AcceptNewHostKey = true
	c, err := Dial(ctx, tg, o)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	data, _ := os.ReadFile(kh)
	if !strings.Contains(string(data), "[127.0.0.1]:") || !strings.Contains(string(data), "ssh-ed25519") {
		t.Fatalf("known_hosts: %q", data)
	}
	// Known now: works without the flag.
	o.AcceptNewHostKey = false
	if c, err = Dial(ctx, tg, o); err != nil {
		t.Fatal(err)
	}
	c.Close()

	// The board is "reinstalled": a changed key is refused even with the flag.
	srv.ChangeHostKey()
	o.AcceptNewHostKey = true
	_, err = Dial(ctx, tg, o)
	if !errors.As(err, &hk) || !hk.Changed || !strings.Contains(err.Error(), "HOST KEY CHANGED") || !strings.Contains(err.Error(), "ssh-keygen") {
		t.Fatalf("changed key: %v", err)
	}
	after, _ := os.ReadFile(kh)
	if string(after) != string(data) {
		t.Fatal("known_hosts modified on a changed key")
	}
}

func TestWrongKeyAndUnreachable(t *testing.T) {
	srv := sshdtest.Start(t)
	ctx := context.Background()
	other := filepath.Join(t.TempDir(), "id_other")
	sshdtest.WriteKey(t, other)
	tg := Target{User: srv.User, Host: "127.0.0.1", Port: srv.Port}
	_, err := Dial(ctx, tg, SSHOptions{KnownHosts: srv.KnownHosts, AcceptNewHostKey: true, Identity: other, Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") || !strings.Contains(err.Error(), other) {
		t.Fatalf("wrong key: %v", err)
	}

	_, err = Dial(ctx, tg, SSHOptions{KnownHosts: srv.KnownHosts, AcceptNewHostKey: true, Identity: filepath.Join(t.TempDir(), "missing")})
	if err == nil || !strings.Contains(err.Error(), "identity") {
		t.Fatalf("missing identity: %v", err)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	_, err = Dial(ctx, Target{User: "root", Host: "127.0.0.1", Port: closed}, SSHOptions{KnownHosts: srv.KnownHosts, Identity: srv.KeyFile, Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "connect to 127.0.0.1:") {
		t.Fatalf("unreachable: %v", err)
	}
}

func TestFlashDiskFull(t *testing.T) {
	b := newTestBoard(t)
	ctx := context.Background()
	// A 2 MiB filesystem for the prefix (root in CI may mount tmpfs).
	if err := os.MkdirAll(b.prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	// EDGECNN_TEST_NO_MOUNT=1 forces the fallback (to test it where mount works).
	mounted := os.Getenv("EDGECNN_TEST_NO_MOUNT") == "" &&
		exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "edgecnn-test", b.prefix).Run() == nil
	if mounted {
		t.Cleanup(func() { exec.Command("umount", "-l", b.prefix).Run() })
	} else {
		t.Logf("cannot mount a tmpfs here; simulating a full disk with an sftp-server whose file size limit is 1 MiB instead")
	}
	c := b.dial(t)
	if !mounted {
		b.srv.Stop()
		c.Close()
		srv := sshdtest.Start(t, "Subsystem sftp /usr/bin/prlimit --fsize=1048576 /usr/lib/openssh/sftp-server")
		b.srv = srv
		c = b.dial(t)
	}
	small := b.bundle(t, makeInputs(t, 200<<10, "small", "m"), "1")
	if r := Flash(ctx, c, small, b.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}
	big := b.bundle(t, makeInputs(t, 3<<20, "big", "m"), "2")
	r := Flash(ctx, c, big, b.opts())
	if r.Err == nil {
		t.Fatal("flash onto a full disk succeeded")
	}
	t.Logf("full disk: %v", r.Err)
	if mounted && !strings.Contains(r.Err.Error(), "not enough space on the target") {
		t.Fatalf("full disk error: %v", r.Err)
	}
	if !strings.Contains(r.Err.Error(), small.Release+" is untouched") {
		t.Fatalf("error does not say the old release is untouched: %v", r.Err)
	}
	if got := b.current(t); got != small.Release {
		t.Fatalf("current = %s", got)
	}
	b.verifyRelease(t, small.Release, small)
}

func TestFlashWrongArchitecture(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	in := makeInputs(t, 1024, "x", "m")
	bu := b.bundle(t, in, "1")
	bu.Board.Name, bu.Board.GOARCH = "rpi4", "arm64"
	r := Flash(context.Background(), c, bu, b.opts())
	if r.Err == nil || !strings.Contains(r.Err.Error(), "x86_64") || !strings.Contains(r.Err.Error(), "generic-amd64") {
		t.Fatalf("%v", r.Err)
	}
	if _, err := os.Lstat(filepath.Join(b.prefix, "current")); !os.IsNotExist(err) {
		t.Fatal("something was installed")
	}
}

func TestFlashAllParallel(t *testing.T) {
	b1, b2 := newTestBoard(t), newTestBoard(t)
	in := makeInputs(t, 128<<10, "x", "m")
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	jobs := []Job{
		{Target: b1.target(), Bundle: b1.bundle(t, in, "1"), SSH: b1.ssh(), Opts: b1.opts()},
		{Target: b2.target(), Bundle: b2.bundle(t, in, "1"), SSH: b2.ssh(), Opts: b2.opts()},
		{Target: Target{Name: "offline", User: "root", Host: "127.0.0.1", Port: closed}, Bundle: b1.bundle(t, in, "1"), SSH: b1.ssh(), Opts: b1.opts()},
	}
	res := FlashAll(context.Background(), jobs, 0)
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("%v / %v", res[0].Err, res[1].Err)
	}
	if res[2].Err == nil || res[2].Status() != "failed" {
		t.Fatalf("offline board: %+v", res[2])
	}
	var sb strings.Builder
	Summary(&sb, res)
	t.Log("\n" + sb.String())
	if !strings.Contains(sb.String(), "offline") || strings.Count(sb.String(), " ok ") != 2 {
		t.Fatalf("summary:\n%s", sb.String())
	}
	b1.verifyRelease(t, b1.current(t), nil)
	b2.verifyRelease(t, b2.current(t), nil)
}

func TestRemoteBench(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "edgecnn")
	// A stand-in for the board's edgecnn: prints its arguments and proves
	// the model arrived.
	os.WriteFile(bin, []byte(`#!/bin/sh
d=$(dirname "$0"); m=""; rest=""
while [ $# -gt 0 ]; do if [ "$1" = --model ]; then m=$2; shift; else rest="$rest $1"; fi; shift; done
printf '{"model_bytes": %s, "onnx": %s, "lib": %s, "args": "%s", "dir": "%s"}\n' $(wc -c < "$m") $(wc -c < "$d/model.onnx") $(wc -c < "$d/lib/libx.so") "$rest" "$d"
`), 0o755)
	model := filepath.Join(dir, "m.tflite")
	os.WriteFile(model, []byte("12345"), 0o644)
	os.WriteFile(filepath.Join(dir, "m.onnx"), []byte("123"), 0o644)
	os.MkdirAll(filepath.Join(dir, "lib"), 0o755)
	os.WriteFile(filepath.Join(dir, "lib", "libx.so"), []byte("12"), 0o644)
	out, err := RemoteBench(context.Background(), c, bin, model, []string{"--threads", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"model_bytes": 5, "onnx": 3, "lib": 2, "args": " bench --json --threads 2"`) {
		t.Fatalf("output %q", out)
	}
	_, rdir, _ := strings.Cut(out, `"dir": "`)
	rdir, _, _ = strings.Cut(rdir, `"`)
	if _, err := os.Stat(rdir); !os.IsNotExist(err) {
		t.Fatalf("remote temp dir %s not removed: %v", rdir, err)
	}
}

func TestRemoteBenchWrongArch(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	// A binary for arm64 (an ELF header is all the check reads) shipped to
	// this amd64 "board".
	dir := t.TempDir()
	bin := filepath.Join(dir, "edgecnn")
	if err := os.WriteFile(bin, arm64ELFHeader(), 0o755); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "m.tflite")
	os.WriteFile(model, []byte("m"), 0o644)
	_, err := RemoteBench(context.Background(), c, bin, model, nil)
	if err == nil || !strings.Contains(err.Error(), "built for arm64") {
		t.Fatalf("%v", err)
	}
}

// arm64ELFHeader is a minimal ELF64 header for EM_AARCH64.
func arm64ELFHeader() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1 // 64-bit, little endian, version
	h[16] = 2                  // ET_EXEC
	h[18] = 183                // EM_AARCH64
	h[20] = 1                  // version
	h[52] = 64                 // ehsize
	return h
}

func TestFlashCancelledDuringUpload(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	old := b.bundle(t, makeInputs(t, 1024, "old", "m"), "1")
	if r := Flash(context.Background(), c, old, b.opts()); r.Err != nil {
		t.Fatal(r.Err)
	}
	big := b.bundle(t, makeInputs(t, 24<<20, "new", "m"), "2")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once the upload is under way.
		for i := 0; i < 500; i++ {
			if ents, _ := filepath.Glob(filepath.Join(b.prefix, "releases", ".staging-*", ".edgecnn.part")); len(ents) > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	r := Flash(ctx, c, big, b.opts())
	if r.Err == nil || !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("cancelled flash: %+v", r)
	}
	if got := b.current(t); got != old.Release {
		t.Fatalf("current = %s", got)
	}
	b.verifyRelease(t, old.Release, old)
}
