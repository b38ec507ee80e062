package oci

import (
	"archive/tar"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/model/tflite"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// The real edgecnn, cross-built for rpi4, packed with a real model, pushed
// to a real registry, copied back out with skopeo; the arm64 binary and
// the model taken from the copied image recognize a photo under qemu.
func TestImageArm64PredictsUnderQemu(t *testing.T) {
	qemu, err := exec.LookPath("qemu-aarch64-static")
	if err != nil {
		t.Fatalf("qemu-aarch64-static not installed (make deps): %v", err)
	}
	ctx := context.Background()
	root := testenv.RepoRoot(t)
	b := board(t, "rpi4")
	build, err := cross.Build(ctx, cross.Request{Board: b, ModuleRoot: root, CacheDir: t.TempDir(), Version: "image-test"})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := model.ReadCheckpointFile(filepath.Join(root, "models", "mnist.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := model.FloatGraph(ck.Model)
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(t.TempDir(), "mnist.tflite")
	if err := tflite.WriteFile(modelPath, g); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, []Input{{Board: b, Binary: build.Binary}}, Options{Model: modelPath, Version: "image-test"})
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, "")
	ref := reg.Addr + "/edgecnn/recognizer:image-test"
	if _, err := Push(ctx, ref, r, PushOptions{}); err != nil {
		t.Fatalf("push: %v\n%s", err, reg.log)
	}
	copied := filepath.Join(t.TempDir(), "copied")
	skopeo(t, "copy", "--src-tls-verify=false", "docker://"+ref, "oci:"+copied+":image-test")

	// Unpack the image's merged filesystem.
	p, err := layout.FromPath(copied)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("copied layout index: %v %v", im, err)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.Config.Healthcheck == nil {
		t.Fatalf("copied image config: %+v", cf)
	}
	fsDir := unpack(t, img)
	bin := filepath.Join(fsDir, "opt", "edgecnn", "edgecnn")
	for _, d := range []string{"tmp", "var/lib/edgecnn"} {
		if st, err := os.Stat(filepath.Join(fsDir, d)); err != nil || !st.IsDir() {
			t.Errorf("image has no /%s folder", d)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	photo := filepath.Join(root, "camera", "testdata", "photos", "photo-0000-d7.jpg")
	out, err := exec.CommandContext(cctx, qemu, bin, "predict", "--model", filepath.Join(fsDir, "opt", "edgecnn", "model.tflite"), photo).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu predict: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), ": 7 (confidence") {
		t.Fatalf("arm64 predict from the image: %s; want the digit 7", out)
	}
	t.Logf("arm64 from the image under qemu: %s", strings.TrimSpace(string(out)))

	// The image's own entrypoint and command (camera and port swapped for a
	// synthetic camera on a free loopback port) start a healthy agent, and
	// the image's healthcheck command says so.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args := append(append([]string{}, cf.Config.Entrypoint[1:]...), cf.Config.Cmd...)
	// Without binfmt_misc (this machine has none) qemu-user cannot exec a
	// second arm64 process, the health responder: the image runs without
	// it here, and its healthcheck asks the API's /healthz (the responder
	// is tested natively: agent and cmd/edgecnn tests).
	if i := slices.Index(args, "--health-http"); i >= 0 && i+1 < len(args) {
		args = slices.Delete(args, i, i+2)
	} else {
		t.Errorf("the image's command does not start a health responder: %q", args)
	}
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--camera":
			args[i+1] = "synthetic"
		case "--http":
			args[i+1] = addr
		}
	}
	args = append(args, "--realtime", "--fps", "2")
	qargs := []string{"-L", fsDir}
	for _, e := range cf.Config.Env {
		qargs = append(qargs, "-E", e)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	agent := exec.CommandContext(runCtx, qemu, append(append(qargs, bin), args...)...)
	var agentOut strings.Builder
	agent.Stdout, agent.Stderr = io.Discard, &agentOut
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- agent.Wait() }()
	hc := cf.Config.Healthcheck.Test[1:]
	hcArgs := append([]string{}, hc[1:]...)
	for i := range hcArgs {
		if strings.HasPrefix(hcArgs[i], "http://") {
			hcArgs[i] = "http://" + addr + "/healthz"
		}
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := exec.CommandContext(cctx, qemu, append(append(append([]string{}, qargs...), bin), hcArgs...)...).CombinedOutput()
		if err == nil {
			break
		}
		select {
		case werr := <-done:
			t.Fatalf("the image's command exited: %v\n%s", werr, agentOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's healthcheck never passed: %v %s\nagent: %s", err, out, agentOut.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	stopRun()
	<-done
}

// unpack writes the image's merged filesystem into a temp folder.
func unpack(t *testing.T, img v1.Image) string {
	t.Helper()
	fsDir := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(fsDir, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(dst, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(dst), 0o755)
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode)&0o777)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return fsDir
}

// A cgo build (the real TFLite C library, linked like the tflite backend)
// packed into an image carries its dynamic loader, glibc and libstdc++:
// run under qemu with the image's root as the only library root, it starts
// and calls into TFLite.
func TestCgoImageIsSelfContained(t *testing.T) {
	if _, err := exec.LookPath("aarch64-linux-gnu-gcc"); err != nil {
		t.Fatalf("aarch64-linux-gnu-gcc missing (make deps installs gcc-aarch64-linux-gnu): %v", err)
	}
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/cgotiny\n\ngo 1.26\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "cmd", "edgecnn"), 0o755)
	os.WriteFile(filepath.Join(root, "cmd", "edgecnn", "main.go"), []byte(`package main

// #cgo LDFLAGS: -ltensorflowlite_c
// #include "tensorflow/lite/c/c_api.h"
import "C"

import "fmt"

var version = "dev"

func main() { fmt.Printf("cgotiny %s tflite=%s\\n", version, C.GoString(C.TfLiteVersion())) }
`), 0o644)
	os.MkdirAll(filepath.Join(root, "third_party", "tflite-include"), 0o755)
	b := board(t, "rpi4")
	build, err := cross.Build(context.Background(), cross.Request{Board: b, Backends: []string{"tflite"}, ModuleRoot: root,
		CacheDir: t.TempDir(), LibsDir: filepath.Join(testenv.RepoRoot(t), ".cache", "libs"), Version: "img", Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, model := files(t, 1)
	r, err := Build(context.Background(), []Input{{Board: b, Binary: build.Binary, Libs: build.Libs, Backend: "tflite"}}, Options{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	img := r.Images[0].Image
	ls, _ := img.Layers()
	if len(ls) != 5 {
		t.Fatalf("want 5 layers (folders, C libraries, bundled libraries, binary, model), got %d", len(ls))
	}
	cf, _ := img.ConfigFile()
	if !strings.Contains(strings.Join(cf.Config.Cmd, " "), "--backend tflite") {
		t.Errorf("cmd %q", cf.Config.Cmd)
	}
	fsDir := unpack(t, img)
	for _, f := range []string{"lib/ld-linux-aarch64.so.1", "lib/libc.so.6", "opt/edgecnn/lib/libtensorflowlite_c.so"} {
		if _, err := os.Stat(filepath.Join(fsDir, f)); err != nil {
			t.Errorf("image lacks /%s", f)
		}
	}
	var ldPath string
	for _, e := range cf.Config.Env {
		if v, ok := strings.CutPrefix(e, "LD_LIBRARY_PATH="); ok {
			ldPath = v
		}
	}
	cmd := exec.Command("qemu-aarch64-static", "-L", fsDir, "-E", "LD_LIBRARY_PATH="+ldPath, filepath.Join(fsDir, "opt", "edgecnn", "edgecnn"))
	got, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(strings.TrimSpace(string(got)), "cgotiny img tflite=2.9") {
		t.Fatalf("the cgo binary in its image root under qemu: %q %v", got, err)
	}
}
