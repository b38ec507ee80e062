package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/internal/testenv"
)

// The unit's system call filter and MemoryDenyWriteExecute= are applied
// by systemd, which does not run here as PID 1. This test applies the
// same rules with the kernel's own mechanisms and runs the real edgecnn
// binary (all backends) under them: a seccomp filter built from the
// unit's SystemCallFilter= lines (groups expanded by systemd-analyze,
// denied calls fail with EPERM as SystemCallErrorNumber=EPERM says) and
// prctl(PR_SET_MDWE), the kernel's memory-deny-write-execute.
//
// make test-deploy-sandbox builds bin/edgecnn-full and the models and
// sets EDGECNN_SANDBOX_BIN and EDGECNN_SANDBOX_MODELS.

const (
	sandboxExecEnv = "EDGECNN_SANDBOX_EXEC" // {"nrs":[...],"mdwe":true,"argv":[...]}
	prSetMDWE      = 65
	mdweRefuseExec = 1
)

type sandboxSpec struct {
	NRs  []uint32 `json:"nrs"`
	MDWE bool     `json:"mdwe"`
	Argv []string `json:"argv"`
}

// init turns the test binary into the sandboxing exec wrapper when asked.
func init() {
	raw := os.Getenv(sandboxExecEnv)
	if raw == "" {
		return
	}
	var s sandboxSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(111)
	}
	os.Unsetenv(sandboxExecEnv)
	if s.MDWE {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetMDWE, mdweRefuseExec, 0, 0, 0, 0); e != 0 {
			fmt.Fprintln(os.Stderr, "sandbox: PR_SET_MDWE:", e)
			os.Exit(112)
		}
	}
	if s.NRs != nil {
		if err := applySeccomp(s.NRs); err != nil {
			fmt.Fprintln(os.Stderr, "sandbox: seccomp:", err)
			os.Exit(113)
		}
	}
	err := syscall.Exec(s.Argv[0], s.Argv, os.Environ())
	fmt.Fprintln(os.Stderr, "sandbox: exec:", err)
	os.Exit(114)
}

type sockFilter struct {
	code uint16
	jt   uint8
	jf   uint8
	k    uint32
}

type sockFprog struct {
	len    uint16
	filter *sockFilter
}

// applySeccomp installs an allow-list of system call numbers for every
// thread: other calls fail with EPERM, other architectures are killed.
func applySeccomp(nrs []uint32) error {
	const (
		ldAbsW         = 0x20 // BPF_LD|BPF_W|BPF_ABS
		jeqK           = 0x15 // BPF_JMP|BPF_JEQ|BPF_K
		retK           = 0x06 // BPF_RET|BPF_K
		auditArchX8664 = 0xc000003e
		retAllow       = 0x7fff0000
		retKill        = 0x80000000
		retEPERM       = 0x00050000 | uint32(syscall.EPERM)
	)
	prog := []sockFilter{
		{ldAbsW, 0, 0, 4}, // seccomp_data.arch
		{jeqK, 1, 0, auditArchX8664},
		{retK, 0, 0, retKill},
		{ldAbsW, 0, 0, 0}, // seccomp_data.nr
	}
	for _, nr := range nrs {
		prog = append(prog, sockFilter{jeqK, 0, 1, nr}, sockFilter{retK, 0, 0, retAllow})
	}
	prog = append(prog, sockFilter{retK, 0, 0, retEPERM})
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0); e != 0 {
		return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", e)
	}
	fp := sockFprog{len: uint16(len(prog)), filter: &prog[0]}
	const seccompSetModeFilter, filterFlagTSync = 1, 1
	if _, _, e := syscall.RawSyscall(317 /* SYS_seccomp, amd64 */, seccompSetModeFilter, filterFlagTSync, uintptr(unsafe.Pointer(&fp))); e != 0 {
		return fmt.Errorf("seccomp(SET_MODE_FILTER): %w", e)
	}
	return nil
}

// syscallGroups expands systemd's @groups with systemd-analyze.
type syscallGroups struct {
	sa    string
	cache map[string][]string
}

func (g *syscallGroups) expand(t *testing.T, name string) []string {
	if !strings.HasPrefix(name, "@") {
		return []string{name}
	}
	if v, ok := g.cache[name]; ok {
		return v
	}
	out, err := exec.Command(g.sa, "syscall-filter", "--no-pager", name).Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter %s: %v", name, err)
	}
	var list []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	first := true
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if first { // the group's own name
			first = false
			continue
		}
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		list = append(list, g.expand(t, l)...)
	}
	g.cache[name] = list
	return list
}

// unitSyscalls is the set of system calls the unit's SystemCallFilter=
// lines allow, with systemd's semantics: the first line decides allow-
// or deny-list mode; later "~" lines remove, later plain lines add.
func unitSyscalls(t *testing.T, g *syscallGroups, unit string) map[string]bool {
	allowed := map[string]bool{}
	seen := false
	for _, l := range strings.Split(unit, "\n") {
		v, ok := strings.CutPrefix(l, "SystemCallFilter=")
		if !ok {
			continue
		}
		deny := strings.HasPrefix(v, "~")
		if !seen && deny {
			t.Fatal("the unit's filter is a deny list; this test expects an allow list")
		}
		seen = true
		for _, name := range strings.Fields(strings.TrimPrefix(v, "~")) {
			for _, sc := range g.expand(t, name) {
				allowed[sc] = !deny
			}
		}
	}
	if !seen {
		t.Fatal("the unit has no SystemCallFilter=")
	}
	return allowed
}

// syscallNumbers maps amd64 system call names to numbers (linux-libc-dev).
func syscallNumbers(t *testing.T) map[string]uint32 {
	const hdr = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
	data, err := os.ReadFile(hdr)
	if err != nil {
		t.Fatalf("%v (apt install linux-libc-dev)", err)
	}
	m := map[string]uint32{}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "#define" && strings.HasPrefix(f[1], "__NR_") {
			if n, err := strconv.Atoi(f[2]); err == nil {
				m[strings.TrimPrefix(f[1], "__NR_")] = uint32(n)
			}
		}
	}
	if len(m) < 300 {
		t.Fatalf("%s: only %d system calls", hdr, len(m))
	}
	return m
}

// TestUnitSandboxBackends runs `edgecnn predict` with every backend under
// the unit's system call filter and memory-deny-write-execute.
func TestUnitSandboxBackends(t *testing.T) {
	bin, models := os.Getenv("EDGECNN_SANDBOX_BIN"), os.Getenv("EDGECNN_SANDBOX_MODELS")
	if bin == "" || models == "" {
		t.Skip("needs bin/edgecnn-full and models: make test-deploy-sandbox runs it")
	}
	if runtime.GOARCH != "amd64" || runtime.GOOS != "linux" {
		t.Skipf("the seccomp emulation is written for linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	g := &syscallGroups{sa: requireSystemdAnalyze(t), cache: map[string][]string{}}
	numbers := syscallNumbers(t)
	photo := filepath.Join(testenv.RepoRoot(t), "camera", "testdata", "photos", "photo-0031-d7.jpg")
	amd64, _ := boards.Lookup("generic-amd64")
	in := makeInputs(t, 1024, "x", "m")

	// Does this kernel have PR_SET_MDWE (Linux ≥ 6.3)?
	mdwe := exec.Command(os.Args[0], "-test.run=^$")
	spec, _ := json.Marshal(sandboxSpec{MDWE: true, Argv: []string{"/bin/true"}})
	mdwe.Env = append(os.Environ(), sandboxExecEnv+"="+string(spec))
	haveMDWE := mdwe.Run() == nil
	if !haveMDWE {
		t.Logf("this kernel has no PR_SET_MDWE (Linux < 6.3): MemoryDenyWriteExecute= not checked here")
	}

	for _, c := range []struct {
		backend, model string
		extra          []string
	}{
		{"native", "m.int8.tflite", nil},
		{"tflite", "m.int8.tflite", nil},
		{"tflite", "m.int8.tflite", []string{"--xnnpack"}},
		{"tflite", "m.tflite", []string{"--xnnpack"}},
		{"onnxruntime", "m.int8.onnx", nil},
	} {
		bu, err := NewBundle(Spec{Board: amd64, Binary: in.binary, Model: in.model, Service: Service{Backend: c.backend, Camera: "v4l2"}})
		if err != nil {
			t.Fatal(err)
		}
		allowed := unitSyscalls(t, g, bu.Unit)
		var nrs []uint32
		for name, ok := range allowed {
			if n, known := numbers[name]; ok && known {
				nrs = append(nrs, n)
			}
		}
		wantMDWE := strings.Contains(bu.Unit, "\nMemoryDenyWriteExecute=yes\n")
		argv := append([]string{bin, "predict", "--backend", c.backend, "--model", filepath.Join(models, c.model)}, c.extra...)
		argv = append(argv, photo)
		spec, _ := json.Marshal(sandboxSpec{NRs: nrs, MDWE: wantMDWE && haveMDWE, Argv: argv})
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		// The service runs without root's HOME (ONNX Runtime keeps a
		// SQLite file under ~/.cache): give it its state directory.
		cmd.Env = append(os.Environ(), sandboxExecEnv+"="+string(spec), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), ": 7 (confidence") {
			t.Errorf("%s %s %v under the unit's sandbox (%d system calls allowed, MDWE %v): %v\n%s", c.backend, c.model, c.extra, len(nrs), wantMDWE && haveMDWE, err, out)
			continue
		}
		t.Logf("%-11s %-14s %-9s under SystemCallFilter (%d calls) + MemoryDenyWriteExecute=%v: %s", c.backend, c.model, strings.Join(c.extra, " "), len(nrs), wantMDWE && haveMDWE, strings.TrimSpace(string(out)))
	}

	// The filter is real: a call outside it (reboot is in @reboot) fails.
	bu, _ := NewBundle(Spec{Board: amd64, Binary: in.binary, Model: in.model})
	allowed := unitSyscalls(t, g, bu.Unit)
	if allowed["reboot"] || allowed["mount"] || allowed["ptrace"] || !allowed["read"] || !allowed["execve"] {
		t.Fatalf("filter: reboot %v mount %v ptrace %v read %v execve %v", allowed["reboot"], allowed["mount"], allowed["ptrace"], allowed["read"], allowed["execve"])
	}
	var nrs []uint32
	for name, ok := range allowed {
		if n, known := numbers[name]; ok && known && name != "chmod" && name != "fchmodat" && name != "fchmodat2" {
			nrs = append(nrs, n)
		}
	}
	f := filepath.Join(t.TempDir(), "f")
	os.WriteFile(f, nil, 0o644)
	spec, _ = json.Marshal(sandboxSpec{NRs: nrs, Argv: []string{"/bin/chmod", "0600", f}})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sandboxExecEnv+"="+string(spec))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Operation not permitted") {
		t.Fatalf("chmod with chmod/fchmodat filtered out: %v %s", err, out)
	}
}

// TestUnitSandboxHealthResponder runs the unit's own command line (`edgecnn
// run … --http … --health-http …`, camera and ports swapped for a synthetic
// camera and free loopback ports) under the unit's system call filter and
// memory-deny-write-execute: the agent starts its health responder (fork,
// exec, memfd, shared mapping, pipe) and the responder answers /healthz.
func TestUnitSandboxHealthResponder(t *testing.T) {
	bin := os.Getenv("EDGECNN_SANDBOX_BIN")
	if bin == "" {
		t.Skip("needs bin/edgecnn-full: make test-deploy-sandbox runs it")
	}
	if runtime.GOARCH != "amd64" || runtime.GOOS != "linux" {
		t.Skipf("the seccomp emulation is written for linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	g := &syscallGroups{sa: requireSystemdAnalyze(t), cache: map[string][]string{}}
	numbers := syscallNumbers(t)
	amd64, _ := boards.Lookup("generic-amd64")
	in := makeInputs(t, 1024, "x", "m")
	bu, err := NewBundle(Spec{Board: amd64, Binary: in.binary, Model: in.model, Service: Service{Camera: "v4l2"}})
	if err != nil {
		t.Fatal(err)
	}
	var nrs []uint32
	for name, ok := range unitSyscalls(t, g, bu.Unit) {
		if n, known := numbers[name]; ok && known {
			nrs = append(nrs, n)
		}
	}
	// The unit's ExecStart= words, with the test's binary, model, camera
	// and ports.
	var argv []string
	for _, l := range strings.Split(bu.Unit, "\n") {
		if v, ok := strings.CutPrefix(l, "ExecStart="); ok {
			argv = strings.Fields(v)
		}
	}
	if len(argv) < 2 || argv[1] != "run" || !strings.Contains(bu.Unit, " --health-http 127.0.0.1:8081") {
		t.Fatalf("unexpected ExecStart= %q", argv)
	}
	argv[0] = bin
	for i := 0; i+1 < len(argv); i++ {
		switch argv[i] {
		case "--model":
			argv[i+1] = filepath.Join(testenv.RepoRoot(t), "models", "mnist.ckpt")
		case "--camera":
			argv[i+1] = "synthetic"
		case "--http", "--health-http":
			argv[i+1] = "127.0.0.1:0"
		case "--backend":
			argv[i+1] = "native"
		}
	}
	argv = append(argv, "--size", "160x120", "--realtime", "--fps", "5")
	mdwe := exec.Command(os.Args[0], "-test.run=^$")
	spec, _ := json.Marshal(sandboxSpec{MDWE: true, Argv: []string{"/bin/true"}})
	mdwe.Env = append(os.Environ(), sandboxExecEnv+"="+string(spec))
	haveMDWE := mdwe.Run() == nil && strings.Contains(bu.Unit, "\nMemoryDenyWriteExecute=yes\n")
	spec, _ = json.Marshal(sandboxSpec{NRs: nrs, MDWE: haveMDWE, Argv: argv})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sandboxExecEnv+"="+string(spec), "HOME="+t.TempDir(), "EDGECNN_STATE_DIR="+t.TempDir())
	stderr, _ := cmd.StderrPipe()
	cmd.Stdout = nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var log strings.Builder
	addr := ""
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if _, rest, ok := strings.Cut(sc.Text(), `msg="health responder listening" addr=`); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	if addr == "" {
		t.Fatalf("no health responder under the unit's sandbox:\n%s", log.String())
	}
	go io.Copy(io.Discard, stderr)
	c := &http.Client{Timeout: 2 * time.Second}
	var last string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := c.Get("http://" + addr + "/healthz")
		if err != nil {
			last = err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("%d %s", resp.StatusCode, b)
		if resp.StatusCode == 200 {
			t.Logf("health responder under SystemCallFilter (%d calls) + MemoryDenyWriteExecute=%v: %s", len(nrs), haveMDWE, last)
			return
		}
	}
	t.Fatalf("health responder under the unit's sandbox never answered 200: %s\n%s", last, log.String())
}
