package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// registry is Debian's docker-registry (CNCF distribution) on a free
// loopback port with its storage in a temp folder.
type registry struct {
	Addr string // 127.0.0.1:port
	log  *bytes.Buffer
}

// startRegistry runs docker-registry with extra YAML appended to its
// config (e.g. read-only maintenance mode, htpasswd auth).
func startRegistry(t *testing.T, extra string) *registry {
	t.Helper()
	exe, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry not installed (make deps installs Debian's docker-registry): %v", err)
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
%shttp:
  addr: %s
`, filepath.Join(dir, "data"), extra, addr)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &registry{Addr: addr, log: &bytes.Buffer{}}
	cmd := exec.Command(exe, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			return r
		}
		select {
		case <-done:
			t.Fatalf("docker-registry exited: %s", r.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, r.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func skopeo(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "skopeo", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

type rawIndex struct {
	MediaType string `json:"mediaType"`
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"manifests"`
}

// Three boards make one multi-arch index, in an OCI layout that skopeo
// reads, and in a registry after a push; a second push of the same build
// sends no layer again (the registry has them).
func TestMultiArchLayoutAndPush(t *testing.T) {
	ctx := context.Background()
	var in []Input
	for _, b := range []string{"rpi4", "generic-armv7", "generic-amd64"} {
		bin, _ := files(t, 64<<10)
		in = append(in, Input{Board: board(t, b), Binary: bin})
	}
	_, model := files(t, 1)
	r, err := Build(ctx, in, Options{Model: model, Version: "3.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "img")
	d, err := WriteLayout(dir, "v3", r)
	if err != nil {
		t.Fatal(err)
	}
	var idx rawIndex
	if err := json.Unmarshal(skopeo(t, "inspect", "--raw", "oci:"+dir+":v3"), &idx); err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, m := range idx.Manifests {
		plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture+"/"+m.Platform.Variant)
	}
	if got := strings.Join(plats, " "); got != "linux/arm64/v8 linux/arm/v7 linux/amd64/" {
		t.Fatalf("index platforms %q", got)
	}
	// skopeo picks the armv7 image and reads its labels.
	var info struct {
		Architecture string            `json:"Architecture"`
		Labels       map[string]string `json:"Labels"`
	}
	if err := json.Unmarshal(skopeo(t, "inspect", "--override-arch", "arm", "--override-variant", "v7", "oci:"+dir+":v3"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Architecture != "arm" || info.Labels["io.edgecnn.board"] != "generic-armv7" || info.Labels["org.opencontainers.image.version"] != "3.0.0" {
		t.Fatalf("skopeo inspect (arm/v7): %+v", info)
	}
	// Writing again over the layout replaces it whole.
	if d2, err := WriteLayout(dir, "v3", r); err != nil || d2 != d {
		t.Fatalf("second layout write: %v %v (first %v)", d2, err, d)
	}

	reg := startRegistry(t, "")
	ref := reg.Addr + "/edgecnn/recognizer:3.0.0"
	pd, err := Push(ctx, ref, r, PushOptions{})
	if err != nil {
		t.Fatalf("push: %v\n%s", err, reg.log)
	}
	if pd != d {
		t.Fatalf("pushed digest %s, layout digest %s", pd, d)
	}
	var pushed rawIndex
	if err := json.Unmarshal(skopeo(t, "inspect", "--raw", "--tls-verify=false", "docker://"+ref), &pushed); err != nil {
		t.Fatal(err)
	}
	if len(pushed.Manifests) != 3 || pushed.Manifests[0].Digest != idx.Manifests[0].Digest {
		t.Fatalf("registry index %+v, want the layout's %+v", pushed, idx)
	}
}

func TestPushRefused(t *testing.T) {
	ctx := context.Background()
	bin, model := files(t, 1000)
	r, err := Build(ctx, []Input{{Board: board(t, "rpi4"), Binary: bin}}, Options{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: push succeeded", what)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
			t.Fatalf("%s: error %q, want one line containing %q", what, msg, want)
		}
		t.Logf("%s: %s", what, msg)
	}
	ro := startRegistry(t, "  maintenance:\n    readonly:\n      enabled: true\n")
	_, err = Push(ctx, ro.Addr+"/edgecnn/x:1", r, PushOptions{})
	check("read-only registry", err, "refused")

	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte("pi:"+string(hash)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	auth := startRegistry(t, "auth:\n  htpasswd:\n    realm: edgecnn-test\n    path: "+htpasswd+"\n")
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no stored credentials
	_, err = Push(ctx, auth.Addr+"/edgecnn/x:1", r, PushOptions{})
	check("registry with auth", err, "log in")

	_, err = Push(ctx, "not a reference", r, PushOptions{})
	check("bad reference", err, "REGISTRY/REPO:TAG")
}

// umoci, an independent OCI implementation, unpacks a one-board layout
// into a runtime bundle whose process is the image's entrypoint + command.
func TestLayoutUnpacksWithUmoci(t *testing.T) {
	exe, err := exec.LookPath("umoci")
	if err != nil {
		t.Fatalf("umoci not installed (make deps installs Debian's umoci): %v", err)
	}
	bin, model := files(t, 4096)
	r, err := Build(context.Background(), []Input{{Board: board(t, "generic-amd64"), Binary: bin}}, Options{Model: model, Version: "4.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "img")
	if _, err := WriteLayout(dir, "4.0.0", r); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(t.TempDir(), "bundle")
	out, err := exec.Command(exe, "unpack", "--rootless", "--image", dir+":4.0.0", bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	got, err := os.ReadFile(filepath.Join(bundle, "rootfs", "opt", "edgecnn", "edgecnn"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(bin)
	if !bytes.Equal(got, want) {
		t.Fatal("the unpacked binary differs from the input")
	}
	var spec struct {
		Process struct {
			Args []string `json:"args"`
			Cwd  string   `json:"cwd"`
		} `json:"process"`
	}
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	args := strings.Join(spec.Process.Args, " ")
	if !strings.HasPrefix(args, "/opt/edgecnn/edgecnn run --model /opt/edgecnn/model.tflite") || spec.Process.Cwd != Root {
		t.Fatalf("runtime process %q in %q", args, spec.Process.Cwd)
	}
}
