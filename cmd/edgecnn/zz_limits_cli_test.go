package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesAbsurdNumbers: flags and config file values alike are
// range-checked before anything starts, naming the allowed range.
func TestRunRefusesAbsurdNumbers(t *testing.T) {
	mp := cameraTestModel(t)
	dir := t.TempDir()
	n := 0
	cfg := func(json string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("c%d.json", n))
		os.WriteFile(p, []byte(json), 0o644)
		return p
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"fps NaN":            {[]string{"--fps", "NaN"}, "fps NaN out of range"},
		"fps -5":             {[]string{"--fps", "-5"}, "out of range"},
		"workers flag":       {[]string{"--http-workers", "100000"}, "http-workers 100000 out of range [1, 64]"},
		"workers in config":  {[]string{"--config", cfg(`{"http-workers": 100000}`)}, "http-workers 100000 out of range [1, 64]"},
		"smooth in config":   {[]string{"--config", cfg(`{"smooth": -1}`)}, "smooth -1 out of range [1, 1000]"},
		"fps in config":      {[]string{"--config", cfg(`{"fps": 1e300}`)}, "out of range"},
		"threads":            {[]string{"--threads", "100000"}, "out of range"},
		"max conns":          {[]string{"--http-max-conns", "-3"}, "must be positive"},
		"decode budget":      {[]string{"--http-decode-budget", "100000000"}, "out of range"},
		"engine memory":      {[]string{"--engine-memory", "-1"}, "engine-memory -1 out of range"},
		"stale after":        {[]string{"--stale-after", "-1s"}, "stale-after"},
		"tls half":           {[]string{"--tls-cert", "/nonexistent"}, "--tls-key"},
		"short token":        {[]string{"--http-token-file", cfg("abc")}, "want 16 to 4096"},
		"wrong model sha256": {[]string{"--model-sha256", strings.Repeat("0", 64)}, "does not match its SHA-256"},
	} {
		_, _, err := cameraCLI(t, append([]string{"run", "--model", mp, "--camera", "synthetic", "--max-frames", "1"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (want it to mention %q)", name, err, c.want)
		}
	}
	// The right SHA-256, by flag and by sidecar, lets it run.
	b, _ := os.ReadFile(mp)
	sum := fmt.Sprintf("%x", sha256.Sum256(b))
	if _, _, err := cameraCLI(t, "run", "--model", mp, "--camera", "synthetic", "--max-frames", "1", "--model-sha256", sum); err != nil {
		t.Fatalf("right --model-sha256: %v", err)
	}
	m2 := filepath.Join(dir, "m.tflite")
	os.WriteFile(m2, b, 0o644)
	os.WriteFile(m2+".sha256", []byte(sum+"  m.tflite\n"), 0o644)
	if _, errOut, err := cameraCLI(t, "run", "--model", m2, "--camera", "synthetic", "--max-frames", "1"); err != nil || !strings.Contains(errOut, "model verified") {
		t.Fatalf("sidecar: %v %s", err, errOut)
	}
	os.WriteFile(m2+".sha256", []byte(strings.Repeat("1", 64)+"  m.tflite\n"), 0o644)
	if _, _, err := cameraCLI(t, "run", "--model", m2, "--camera", "synthetic", "--max-frames", "1"); err == nil {
		t.Fatal("a model whose sidecar does not match ran")
	}
}
