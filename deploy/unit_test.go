package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/boards"
)

func TestUnitValue(t *testing.T) {
	for _, c := range []struct {
		kind      unitSyntax
		in, out   string
		errSubstr string
	}{
		{unitArg, "auto", "auto", ""},
		{unitArg, "", `""`, ""},
		{unitArg, "/srv/edge cnn/x", `"/srv/edge cnn/x"`, ""},
		{unitArg, "50% $HOME", `"50%% $$HOME"`, ""},
		{unitArg, `say "hi" \o/`, `"say \"hi\" \\o/"`, ""},
		{unitArg, "a;b", `"a;b"`, ""},
		{unitArg, ";", `";"`, ""},
		{unitArg, "%n", `"%%n"`, ""},
		{unitArg, "auto\nUser=root", "", "U+000A"},
		{unitArg, "auto\rx", "", "U+000D"},
		{unitArg, "a\tb", "", "U+0009"},
		{unitArg, "a\x00b", "", "U+0000"},
		{unitArg, "a\x7fb", "", "U+007F"},
		{unitArg, "a\u0085b", "", "U+0085"},
		{unitArg, "a\u2028b", "", "U+2028"},
		{unitArg, "\xff", "", "UTF-8"},
		{unitArg, "ünïcödé", "ünïcödé", ""},
		{unitPath, "/opt/edgecnn/current", "/opt/edgecnn/current", ""},
		{unitPath, "/srv/edge cnn", "/srv/edge cnn", ""},
		{unitPath, "/srv/100%", "/srv/100%%", ""},
		{unitPath, "relative/x", "", "absolute"},
		{unitPath, "/a/../b", "", "absolute"},
		{unitPath, "/a\n[Service]", "", "U+000A"},
		{unitListPath, "/var/lib/edgecnn", "/var/lib/edgecnn", ""},
		{unitListPath, "/var/lib/a b", "", "blanks"},
		{unitListPath, `/var/lib/a"b`, "", "quotes"},
		{unitName, "edgecnn", "edgecnn", ""},
		{unitName, "edge_cnn-2.x", "edge_cnn-2.x", ""},
		{unitName, "root\nExecStartPre=/bin/sh", "", "U+000A"},
		{unitName, "a b", "", "valid name"},
		{unitName, "-x", "", "valid name"},
		{unitName, "1x", "", "valid name"},
		{unitName, "", "", "valid name"},
		{unitName, strings.Repeat("a", 32), "", "valid name"},
		{unitName, "%H", "", "valid name"},
		{unitText, "50% done", "50%% done", ""},
		{unitDevice, "char-video4linux rw", "char-video4linux rw", ""},
		{unitDevice, "/dev/gpiomem rw", "/dev/gpiomem rw", ""},
		{unitDevice, "/dev/video0 r", "/dev/video0 r", ""},
		{unitDevice, "char-video4linux", "", "DeviceAllow"},
		{unitDevice, "/etc/passwd rw", "", "DeviceAllow"},
		{unitDevice, "char-x rwx", "", "DeviceAllow"},
		{unitSize, "512M", "512M", ""},
		{unitSize, "50%", "50%", ""},
		{unitSize, "infinity", "infinity", ""},
		{unitSize, "0", "", "memory size"},
		{unitSize, "-1", "", "memory size"},
		{unitSize, "101%", "", "memory size"},
		{unitSize, "1e9", "", "memory size"},
		{unitSize, "512M\nUser=root", "", "U+000A"},
	} {
		got, err := unitValue(c.kind, c.in)
		if c.errSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), c.errSubstr) {
				t.Errorf("unitValue(%d, %q) = %q, %v; want an error with %q", c.kind, c.in, got, err, c.errSubstr)
			}
			continue
		}
		if err != nil || got != c.out {
			t.Errorf("unitValue(%d, %q) = %q, %v; want %q", c.kind, c.in, got, err, c.out)
		}
	}
}

// TestUnitRefusesInjection: no flag value can add a line (a setting) to
// the unit: each is refused with the flag named.
func TestUnitRefusesInjection(t *testing.T) {
	rpi4, _ := boards.Lookup("rpi4")
	in := makeInputs(t, 1024, "x", "m")
	for _, c := range []struct {
		name string
		svc  Service
		want string
	}{
		{"camera", Service{Camera: "auto\nUser=root"}, `--camera "auto\nUser=root": control character U+000A`},
		{"http", Service{HTTP: "127.0.0.1:8080\nExecStartPre=/bin/sh"}, "--http"},
		{"arg", Service{Args: []string{"--label", "x\rUser=root"}}, "extra argument"},
		{"prefix", Service{Prefix: "/opt/x\n[Service]"}, "--prefix"},
		{"relative prefix", Service{Prefix: "opt/x"}, "--prefix"},
		{"user", Service{User: "root\nAmbientCapabilities=CAP_SYS_ADMIN"}, "user"},
		{"group", Service{Groups: []string{"video", "disk\nUser=root"}}, "group"},
		{"name", Service{Name: "x y"}, "service name"},
		{"device", Service{Devices: []string{"char-mem rw\nDevicePolicy=auto"}}, "device"},
		{"memory", Service{MemoryMax: "infinity\nMemoryMax=infinity"}, "memory limit"},
		{"rollback", Service{RollbackAfter: -1}, "rollback after"},
	} {
		_, err := NewBundle(Spec{Board: rpi4, Binary: in.binary, Model: in.model, Service: c.svc})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error with %q", c.name, err, c.want)
		}
	}
	// % and $ are passed literally, not expanded by systemd.
	bu, err := NewBundle(Spec{Board: rpi4, Binary: in.binary, Model: in.model, Service: Service{Camera: "file:/data/50%n $HOME"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bu.Unit, ` --camera "file:/data/50%%n $$HOME" `) {
		t.Fatalf("camera not escaped:\n%s", bu.Unit)
	}
}

func TestUnitDevicesAndMemory(t *testing.T) {
	in := makeInputs(t, 1024, "x", "m")
	unit := func(board string, svc Service) string {
		b, err := boards.Lookup(board)
		if err != nil {
			t.Fatal(err)
		}
		bu, err := NewBundle(Spec{Board: b, Binary: in.binary, Model: in.model, Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		return bu.Unit
	}
	devs := func(u string) []string {
		var d []string
		for _, l := range strings.Split(u, "\n") {
			if v, ok := strings.CutPrefix(l, "DeviceAllow="); ok {
				d = append(d, v)
			}
		}
		return d
	}
	for _, c := range []struct {
		board string
		svc   Service
		want  []string
		mem   string
	}{
		{"rpi4", Service{Camera: "libcamera"}, []string{"char-video4linux rw", "char-media rw", "char-dma_heap rw", "char-vchiq rw", "char-vcsm-cma rw", "char-gpiochip rw", "/dev/gpiomem rw"}, "512M"},
		{"rpi-zero2w", Service{Camera: "stdin:y4m"}, []string{"char-gpiochip rw", "/dev/gpiomem rw"}, "256M"},
		{"generic-amd64", Service{Camera: "/dev/video2"}, []string{"char-video4linux rw"}, "50%"},
		{"generic-amd64", Service{Camera: "v4l2:/dev/video1", MemoryMax: "300M"}, []string{"char-video4linux rw"}, "300M"},
		{"generic-amd64", Service{Camera: "synthetic"}, nil, "50%"},
		{"coral-devboard", Service{Camera: "v4l2", Backend: "tflite"}, []string{"char-video4linux rw", "char-apex rw", "char-usb_device rw"}, "512M"},
		{"jetson-orin-nano", Service{Camera: "v4l2", Backend: "onnxruntime", Groups: []string{"video"}, Devices: []string{"/dev/ttyUSB0 rw"}},
			[]string{"char-video4linux rw", "char-nvidia-frontend rw", "char-nvidia-uvm rw", "char-nvidia-caps rw", "char-nvhost rw", "char-nvmap rw", "/dev/ttyUSB0 rw"}, "2048M"},
	} {
		u := unit(c.board, c.svc)
		if got := devs(u); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s %+v: DeviceAllow %q, want %q", c.board, c.svc, got, c.want)
		}
		if !strings.Contains(u, "\nDevicePolicy=closed\n") || !strings.Contains(u, "\nMemoryMax="+c.mem+"\n") {
			t.Errorf("%s: want DevicePolicy=closed and MemoryMax=%s:\n%s", c.board, c.mem, u)
		}
	}
}

// requireSystemdAnalyze returns systemd-analyze's path; it is part of
// Debian's systemd package (make deps). Missing outside CI: skipped.
func requireSystemdAnalyze(t *testing.T) string {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err == nil {
		return sa
	}
	if os.Getenv("CI") == "" {
		t.Skip("systemd-analyze not installed (apt install systemd); CI has it")
	}
	t.Fatalf("systemd-analyze not installed in CI: %v", err)
	return ""
}

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) `)

// TestUnitSecurityScore renders the unit for every board, camera kind and backend
// and checks `systemd-analyze security --offline=yes` rates it ≤ 2.5
// (the unit before this hardening: 7.1 MEDIUM).
func TestUnitSecurityScore(t *testing.T) {
	sa := requireSystemdAnalyze(t)
	in := makeInputs(t, 1024, "x", "m")
	worst := 0.0
	for _, b := range boards.All() {
		if b.Kind != boards.KindBoard {
			continue
		}
		for i, cam := range []string{"auto", "libcamera", "v4l2", "stdin:y4m"} {
			backend := []string{"native", "tflite", "onnxruntime", "native"}[i]
			bu, err := NewBundle(Spec{Board: b, Binary: in.binary, Model: in.model, Service: Service{Camera: cam, Backend: backend}})
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "edgecnn.service")
			os.WriteFile(p, []byte(bu.Unit), 0o644)
			out, _ := exec.Command(sa, "security", "--offline=yes", "--no-pager", p).CombinedOutput()
			m := exposureRE.FindSubmatch(out)
			if m == nil {
				t.Fatalf("%s %s: no exposure level in:\n%s", b.Name, cam, out)
			}
			score, _ := strconv.ParseFloat(string(m[1]), 64)
			worst = max(worst, score)
			if score > 2.5 {
				t.Errorf("%s, camera %s: exposure %.1f > 2.5:\n%s", b.Name, cam, score, out)
			}
		}
	}
	t.Logf("systemd-analyze security --offline=yes: worst exposure %.1f over all boards and cameras", worst)
}

// TestUnitsVerify runs `systemd-analyze verify` on the service and
// rollback units as installed (their commands exist in a real layout).
func TestUnitsVerify(t *testing.T) {
	sa := requireSystemdAnalyze(t)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "opt", "edgecnn")
	in := makeInputs(t, 1024, "x", "m")
	b, _ := boards.Lookup("rpi4")
	bu, err := NewBundle(Spec{Board: b, Binary: in.binary, Model: in.model, Service: Service{Prefix: prefix}})
	if err != nil {
		t.Fatal(err)
	}
	rel := filepath.Join(prefix, "releases", "r")
	os.MkdirAll(rel, 0o755)
	os.WriteFile(filepath.Join(rel, "edgecnn"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(rel, RollbackScript), []byte(rollbackScript), 0o755)
	os.Symlink("releases/r", filepath.Join(prefix, "current"))
	units := filepath.Join(dir, "units")
	os.MkdirAll(units, 0o755)
	// The service user exists only once systemd-sysusers ran on the board.
	u := strings.ReplaceAll(bu.Unit, "User=edgecnn\nGroup=edgecnn\n", "User=root\nGroup=root\n")
	os.WriteFile(filepath.Join(units, "edgecnn.service"), []byte(u), 0o644)
	os.WriteFile(filepath.Join(units, "edgecnn-rollback.service"), []byte(bu.RollbackUnit), 0o644)
	out, err := exec.Command(sa, "verify", "--man=no", filepath.Join(units, "edgecnn.service"), filepath.Join(units, "edgecnn-rollback.service")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// The unit starts the health responder and its health gate asks it; "-"
// leaves both to the API's own /healthz.
func TestUnitHealthResponderAddress(t *testing.T) {
	rpi5, _ := boards.Lookup("rpi5")
	in := makeInputs(t, 1024, "x", "m")
	for _, c := range []struct {
		http, health, wantArg, wantURL string
	}{
		{"", "", "--health-http 127.0.0.1:8081", "--url http://127.0.0.1:8081/healthz"},
		{"0.0.0.0:9000", "", "--health-http 127.0.0.1:9001", "--url http://127.0.0.1:9001/healthz"},
		{"0.0.0.0:9000", "[::1]:7000", "--health-http [::1]:7000", "--url http://[::1]:7000/healthz"},
		{"0.0.0.0:9000", "-", "", "--url http://127.0.0.1:9000/healthz"},
	} {
		bu, err := NewBundle(Spec{Board: rpi5, Binary: in.binary, Model: in.model,
			Service: Service{HTTP: c.http, HealthHTTP: c.health}})
		if err != nil {
			t.Fatal(err)
		}
		if c.wantArg != "" && !strings.Contains(bu.Unit, c.wantArg) || c.wantArg == "" && strings.Contains(bu.Unit, "--health-http") {
			t.Errorf("http %q health %q: unit's ExecStart, want %q:\n%s", c.http, c.health, c.wantArg, bu.Unit)
		}
		if !strings.Contains(bu.Unit, c.wantURL) {
			t.Errorf("http %q health %q: health gate, want %q:\n%s", c.http, c.health, c.wantURL, bu.Unit)
		}
		if o := (Options{}).withDefaults(bu); "--url "+o.HealthURL != c.wantURL {
			t.Errorf("http %q health %q: flash checks %s", c.http, c.health, o.HealthURL)
		}
	}
	for _, bad := range []string{"8081", "127.0.0.1:8080", "a\nb:1"} {
		_, err := NewBundle(Spec{Board: rpi5, Binary: in.binary, Model: in.model, Service: Service{HealthHTTP: bad}})
		if err == nil {
			t.Errorf("health responder address %q accepted", bad)
		}
	}
}
