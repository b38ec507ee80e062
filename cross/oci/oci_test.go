package oci

import (
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func board(t testing.TB, name string) boards.Board {
	t.Helper()
	b, err := boards.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// files writes a random "binary" and a model into a temp folder.
func files(t testing.TB, binSize int) (bin, model string) {
	t.Helper()
	dir := t.TempDir()
	bin, model = filepath.Join(dir, "edgecnn"), filepath.Join(dir, "mnist.int8.tflite")
	b := make([]byte, max(binSize, 64))
	rand.Read(b)
	copy(b, staticELFHeader())
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(model, []byte("TFL3 model v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	return bin, model
}

// staticELFHeader is a 64-bit little-endian ELF header with no program
// or section headers: a "static binary" for the image builder.
func staticELFHeader() []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(elf.EM_AARCH64))
	binary.LittleEndian.PutUint32(h[20:], 1)
	binary.LittleEndian.PutUint16(h[52:], 64)
	binary.LittleEndian.PutUint16(h[54:], 56)
	binary.LittleEndian.PutUint16(h[58:], 64)
	return h
}

func layerDigests(t testing.TB, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

func digest(t testing.TB, img v1.Image) string {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// A re-build with the same inputs gives the same layers and image; a new
// model changes only the model layer; a new binary only the binary layer.
func TestBuildIsReproducible(t *testing.T) {
	bin, model := files(t, 1<<20)
	in := []Input{{Board: board(t, "generic-amd64"), Binary: bin}}
	o := Options{Model: model, Version: "1.0.0"}
	r1, err := Build(context.Background(), in, o)
	if err != nil {
		t.Fatal(err)
	}
	// Touch the inputs: file times must not matter.
	later := time.Now().Add(time.Hour)
	os.Chtimes(bin, later, later)
	os.Chtimes(model, later, later)
	r2, err := Build(context.Background(), in, o)
	if err != nil {
		t.Fatal(err)
	}
	l1, l2 := layerDigests(t, r1.Images[0].Image), layerDigests(t, r2.Images[0].Image)
	if strings.Join(l1, ",") != strings.Join(l2, ",") {
		t.Fatalf("layers differ between identical builds:\n%v\n%v", l1, l2)
	}
	if d1, d2 := digest(t, r1.Images[0].Image), digest(t, r2.Images[0].Image); d1 != d2 {
		t.Fatalf("image digest %s then %s for the same inputs", d1, d2)
	}
	if len(l1) != 3 {
		t.Fatalf("want 3 layers (folders, binary, model), got %d", len(l1))
	}
	// New model: only the last layer changes.
	if err := os.WriteFile(model, []byte("TFL3 model v2"), 0o644); err != nil {
		t.Fatal(err)
	}
	r3, err := Build(context.Background(), in, o)
	if err != nil {
		t.Fatal(err)
	}
	l3 := layerDigests(t, r3.Images[0].Image)
	if l3[0] != l1[0] || l3[1] != l1[1] || l3[2] == l1[2] {
		t.Fatalf("after a model change: want layers 0 and 1 reused and 2 new:\n%v\n%v", l1, l3)
	}
}

func TestConfig(t *testing.T) {
	bin, model := files(t, 1000)
	created := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r, err := Build(context.Background(), []Input{{Board: board(t, "rpi4"), Binary: bin}},
		Options{Model: model, Version: "2.1.0", Created: created, HTTP: "0.0.0.0:9090"})
	if err != nil {
		t.Fatal(err)
	}
	cf, err := r.Images[0].Image.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "arm64" || cf.OS != "linux" || cf.Variant != "v8" {
		t.Errorf("platform %s/%s/%s", cf.OS, cf.Architecture, cf.Variant)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created %v, want %v", cf.Created, created)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/opt/edgecnn/edgecnn run" {
		t.Errorf("entrypoint %q", c.Entrypoint)
	}
	if args := strings.Join(c.Cmd, " "); !strings.Contains(args, "--model /opt/edgecnn/model.tflite") || !strings.Contains(args, "--http 0.0.0.0:9090") || !strings.Contains(args, "--health-http 127.0.0.1:9091") {
		t.Errorf("cmd %q", args)
	}
	if c.Healthcheck == nil || strings.Join(c.Healthcheck.Test, " ") != "CMD /opt/edgecnn/edgecnn healthcheck --url http://127.0.0.1:9091/healthz --timeout 4s" {
		t.Errorf("healthcheck %+v", c.Healthcheck)
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version": "2.1.0", "org.opencontainers.image.title": "edgecnn",
		"org.opencontainers.image.created": "2026-12-01T10:00:00Z", "io.edgecnn.board": "rpi4",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if _, ok := c.ExposedPorts["9090/tcp"]; !ok {
		t.Errorf("exposed ports %v", c.ExposedPorts)
	}
}

func TestBuildRejects(t *testing.T) {
	bin, model := files(t, 10)
	ctx := context.Background()
	if _, err := Build(ctx, []Input{{Board: board(t, "rpi4"), Binary: bin}}, Options{}); err == nil || !strings.Contains(err.Error(), "model") {
		t.Errorf("no model: %v", err)
	}
	if _, err := Build(ctx, []Input{{Board: board(t, "rpi4"), Binary: bin}, {Board: board(t, "rpi5"), Binary: bin}}, Options{Model: model}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("two arm64 boards: %v", err)
	}
	if _, err := Build(ctx, []Input{{Board: board(t, "rpi4"), Binary: filepath.Join(t.TempDir(), "missing")}}, Options{Model: model}); err == nil {
		t.Error("missing binary: no error")
	}
	if _, err := Build(ctx, []Input{{Board: board(t, "rpi4"), Binary: model}}, Options{Model: model}); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("a model as the binary: %v", err)
	}
}

func TestParseLayoutRef(t *testing.T) {
	for in, want := range map[string][2]string{
		"oci:out/img":       {"out/img", "latest"},
		"oci:out/img:v1":    {"out/img", "v1"},
		"oci:/abs/x:latest": {"/abs/x", "latest"},
	} {
		d, tag, err := ParseLayoutRef(in)
		if err != nil || d != want[0] || tag != want[1] {
			t.Errorf("%s → %q %q %v", in, d, tag, err)
		}
	}
	for _, bad := range []string{"docker://x", "oci:", "out/img", "oci:x:"} {
		if _, _, err := ParseLayoutRef(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
