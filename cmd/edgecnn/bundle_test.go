//go:build !board

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/deploy"
)

func TestBundleCommand(t *testing.T) {
	dir := t.TempDir()
	bin, model, out := filepath.Join(dir, "edgecnn"), filepath.Join(dir, "m.tflite"), filepath.Join(dir, "bundle")
	os.WriteFile(bin, []byte("\x7fELF binary"), 0o755)
	os.WriteFile(model, []byte("TFL3"), 0o644)
	stdout, _, err := runCLI(t, "bundle", "--board", "rpi4", "--binary", bin, "--model", model, "--release-version", "5.0.0", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(out, deploy.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m deploy.BundleManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.Board != "rpi4" || m.Arch != "arm64" || !strings.HasPrefix(m.Release, "5.0.0-") || m.Prefix != deploy.DefaultPrefix ||
		m.HealthURL != "http://127.0.0.1:8081/healthz" || !strings.Contains(stdout, m.Release) {
		t.Fatalf("manifest %+v\n%s", m, stdout)
	}
	rel := deploy.BundleDir(out, m.Release)
	for _, f := range []string{"edgecnn", "model.tflite", "edgecnn.service", "sysusers.conf", deploy.SumsFile} {
		if _, err := os.Stat(filepath.Join(rel, f)); err != nil {
			t.Errorf("bundle lacks %s: %v", f, err)
		}
	}
	if st, err := os.Stat(filepath.Join(rel, "edgecnn")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("binary mode: %v %v", st, err)
	}
}

// build --image refuses bad image arguments before building anything.
func TestBuildImageBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"not oci":       {[]string{"--image", filepath.Join(dir, "img")}, "oci:DIR"},
		"missing model": {[]string{"--image", "oci:" + filepath.Join(dir, "img"), "--model", filepath.Join(dir, "none.tflite")}, "none.tflite"},
		"unknown board": {[]string{"--board", "rpi9", "--image", "oci:" + filepath.Join(dir, "img")}, "rpi9"},
	} {
		args := append([]string{"build", "--board", "rpi4", "--out", filepath.Join(dir, "bin")}, c.args...)
		_, _, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", name, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bin")); err == nil {
		t.Error("a build ran despite the bad arguments")
	}
}
