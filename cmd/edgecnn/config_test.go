package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunConfigFile: the config file that flash installs sets run's flags;
// the command line wins; unknown settings are refused.
func TestRunConfigFile(t *testing.T) {
	data := trainDataDir(t)
	ckpt := filepath.Join(filepath.Dir(filepath.Dir(data)), "models", "mnist.ckpt")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"camera": "synthetic", "max-frames": 3, "smooth": 2}`), 0o644)
	out, stderr, err := trainRunCLI(t, "run", "--model", ckpt, "--config", cfg)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != 3 {
		t.Fatalf("want 3 JSON lines (max-frames from config), got %d:\n%s", n, out)
	}
	out, _, err = trainRunCLI(t, "run", "--model", ckpt, "--config", cfg, "--max-frames", "1")
	if err != nil || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("command line should win: err %v, out %q", err, out)
	}
	os.WriteFile(cfg, []byte(`{"cameraa": "synthetic"}`), 0o644)
	if _, _, err := trainRunCLI(t, "run", "--model", ckpt, "--config", cfg); err == nil || !strings.Contains(err.Error(), `unknown setting "cameraa"`) {
		t.Fatalf("unknown key: %v", err)
	}
	os.WriteFile(cfg, []byte(`[1,2]`), 0o644)
	if _, _, err := trainRunCLI(t, "run", "--model", ckpt, "--config", cfg); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Fatalf("bad JSON: %v", err)
	}
	if _, _, err := trainRunCLI(t, "run", "--model", ckpt, "--config", filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing config accepted")
	}
}
