package cross

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/boards"
)

// tinyModule writes a small main package that prints its stamped version
// and platform, standing in for ./cmd/edgecnn so the test stays fast.
func tinyModule(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/tiny\n\ngo 1.26\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "cmd", "edgecnn"), 0o755)
	src := `package main

import (
	"fmt"
	"runtime"
)

var version = "dev"

func main() { fmt.Printf("tiny %s %s/%s` + extra + `\n", version, runtime.GOOS, runtime.GOARCH) }
`
	os.WriteFile(filepath.Join(dir, "cmd", "edgecnn", "main.go"), []byte(src), 0o644)
	return dir
}

func board(t *testing.T, name string) boards.Board {
	b, err := boards.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildPureGoArm64CachedAndRunsUnderQemu(t *testing.T) {
	root := tinyModule(t, "")
	cache := t.TempDir()
	out := t.TempDir()
	ctx := context.Background()
	req := Request{Board: board(t, "rpi4"), ModuleRoot: root, CacheDir: cache, Version: "1.2.3", Out: out}
	var log bytes.Buffer
	req.Log = &log
	r1, err := Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r1.CacheHit {
		t.Fatal("first build reported a cache hit")
	}
	f, err := elf.Open(r1.Binary)
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_AARCH64 {
		t.Fatalf("machine %v", f.Machine)
	}
	if _, err := f.DynamicSymbols(); err == nil {
		t.Error("pure-Go build is dynamically linked")
	}
	f.Close()
	bi, err := buildinfo.ReadFile(r1.Binary)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" || settings["GOARCH"] != "arm64" {
		t.Fatalf("build settings %v", settings)
	}
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatalf("qemu-aarch64-static missing (make deps installs qemu-user-static): %v", err)
	}
	outb, err := exec.Command(qemu, r1.Binary).CombinedOutput()
	if err != nil || strings.TrimSpace(string(outb)) != "tiny 1.2.3 linux/arm64" {
		t.Fatalf("under qemu: %q %v", outb, err)
	}

	// Same inputs: cache hit, same key.
	log.Reset()
	r2, err := Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.CacheHit || r2.Key != r1.Key || !strings.Contains(log.String(), "cache hit") {
		t.Fatalf("second build: hit=%v key %s vs %s log %q", r2.CacheHit, r2.Key, r1.Key, log.String())
	}
	// A changed source file, version or board changes the key.
	os.WriteFile(filepath.Join(root, "cmd", "edgecnn", "extra.go"), []byte("package main\n\nvar _ = 1\n"), 0o644)
	r3, err := Build(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r3.CacheHit || r3.Key == r1.Key {
		t.Fatal("changed source reused the cached build")
	}
	// A test file does not go into the binary: still a hit.
	os.WriteFile(filepath.Join(root, "cmd", "edgecnn", "x_test.go"), []byte("package main\n"), 0o644)
	if r4, err := Build(ctx, req); err != nil || !r4.CacheHit {
		t.Fatalf("test file invalidated the cache: %v", err)
	}
	req.Version = "1.2.4"
	if r5, err := Build(ctx, req); err != nil || r5.CacheHit {
		t.Fatalf("new version reused the cache: %v", err)
	}
}

func TestBuildArmv7SetsGOARM(t *testing.T) {
	root := tinyModule(t, "")
	r, err := Build(context.Background(), Request{Board: board(t, "generic-armv7"), ModuleRoot: root, CacheDir: t.TempDir(), Version: "v"})
	if err != nil {
		t.Fatal(err)
	}
	bi, err := buildinfo.ReadFile(r.Binary)
	if err != nil {
		t.Fatal(err)
	}
	var goarm string
	for _, s := range bi.Settings {
		if s.Key == "GOARM" {
			goarm = s.Value
		}
	}
	if goarm != "7" {
		t.Fatalf("GOARM=%q", goarm)
	}
	if qemu, err := exec.LookPath("qemu-arm-static"); err == nil {
		out, err := exec.Command(qemu, r.Binary).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "linux/arm") {
			t.Fatalf("under qemu-arm: %q %v", out, err)
		}
	}
}

func TestBuildRejects(t *testing.T) {
	root := tinyModule(t, "")
	ctx := context.Background()
	if _, err := Build(ctx, Request{Board: board(t, "coral-usb"), ModuleRoot: root, CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "not a board") {
		t.Fatalf("coral-usb: %v", err)
	}
	if _, err := Build(ctx, Request{Board: board(t, "rpi4"), Backends: []string{"tensorrt"}, ModuleRoot: root, CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "unknown backend") {
		t.Fatalf("bad backend: %v", err)
	}
	if _, err := Build(ctx, Request{Board: board(t, "generic-armv7"), Backends: []string{"onnxruntime"}, ModuleRoot: root, CacheDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "native") {
		t.Fatalf("armv7 cgo: %v", err)
	}
	if _, err := ModuleRoot(t.TempDir()); err == nil {
		t.Fatal("ModuleRoot outside a module")
	}
	bad := tinyModule(t, "")
	os.WriteFile(filepath.Join(bad, "cmd", "edgecnn", "bad.go"), []byte("package main\nfunc broken( {\n"), 0o644)
	if _, err := Build(ctx, Request{Board: board(t, "rpi4"), ModuleRoot: bad, CacheDir: t.TempDir()}); err == nil {
		t.Fatal("broken source built")
	}
}

// repoRoot is the edgecnn module root (for the shared library cache).
func repoRoot(t *testing.T) string {
	r, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBuildCgoTFLiteArm64BundlesLibrary(t *testing.T) {
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		t.Fatalf("aarch64-linux-gnu-gcc missing (make deps installs gcc-aarch64-linux-gnu): %v", err)
	}
	// A cgo main that links the real TFLite C library and prints its version.
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/cgotiny\n\ngo 1.26\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "cmd", "edgecnn"), 0o755)
	os.WriteFile(filepath.Join(root, "cmd", "edgecnn", "main.go"), []byte(`package main

// #cgo LDFLAGS: -ltensorflowlite_c
// #include "tensorflow/lite/c/c_api.h"
import "C"

import "fmt"

var version = "dev"

func main() { fmt.Printf("cgotiny %s tflite=%s\n", version, C.GoString(C.TfLiteVersion())) }
`), 0o644)
	// The tflite backend also puts third_party/tflite-include on the path.
	os.MkdirAll(filepath.Join(root, "third_party", "tflite-include"), 0o755)
	out := t.TempDir()
	r, err := Build(context.Background(), Request{Board: board(t, "rpi5"), Backends: []string{"tflite"}, ModuleRoot: root,
		CacheDir: t.TempDir(), LibsDir: filepath.Join(repoRoot(t), ".cache", "libs"), Version: "c1", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Libs) != 1 || filepath.Base(r.Libs[0]) != "libtensorflowlite_c.so" || filepath.Dir(r.Libs[0]) != filepath.Join(out, "lib") {
		t.Fatalf("bundled libs %v", r.Libs)
	}
	f, err := elf.Open(r.Binary)
	if err != nil {
		t.Fatal(err)
	}
	rp, _ := f.DynString(elf.DT_RUNPATH)
	rp2, _ := f.DynString(elf.DT_RPATH)
	f.Close()
	if !strings.Contains(strings.Join(append(rp, rp2...), ":"), "$ORIGIN/lib") {
		t.Fatalf("runpath %v rpath %v, want $ORIGIN/lib", rp, rp2)
	}
	// Run it as the board would: the arm64 glibc from the cross toolchain,
	// the TFLite library found through $ORIGIN/lib.
	cmd := exec.Command("qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", r.Binary)
	got, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(got)), "cgotiny c1 tflite=2.9") {
		t.Fatalf("under qemu: %q %v", got, err)
	}
}

// A build never compiles someone else's module: ModuleRoot and SourceTree
// accept only the edgecnn module, found from $EDGECNN_SRC, the binary's
// location or the working directory.
func TestSourceTreeIsEdgecnnOnly(t *testing.T) {
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n\ngo 1.22\n"), 0o644)
	sub := filepath.Join(other, "cmd", "x")
	os.MkdirAll(sub, 0o755)
	if _, err := ModuleRoot(sub); err == nil || !strings.Contains(err.Error(), "example.com/other") {
		t.Errorf("another module accepted: %v", err)
	}
	t.Setenv(SourceEnv, other)
	if _, err := SourceTree(); err == nil {
		t.Error("EDGECNN_SRC pointing at another module accepted")
	}
	root, err := ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(SourceEnv, filepath.Join(root, "runtime"))
	if got, err := SourceTree(); err != nil || got != root {
		t.Errorf("SourceTree with %s=%s/runtime: %q, %v; want %q", SourceEnv, root, got, err, root)
	}
}
