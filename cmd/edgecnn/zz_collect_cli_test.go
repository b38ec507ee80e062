//go:build !board

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

// TestRunCollectAndPull: `run --collect` keeps frames with sidecars, and
// `pull` brings them over the real sshd; a second pull transfers nothing.
func TestRunCollectAndPull(t *testing.T) {
	mp := cameraTestModel(t)
	board := t.TempDir()
	dir := filepath.Join(board, "collect")
	_, _, err := cameraCLI(t, "run", "--model", mp, "--camera", "synthetic", "--size", "160x120", "--max-frames", "20",
		"--collect", dir, "--collect-rate", "1", "--collect-min-gap", "0")
	if err != nil {
		t.Fatal(err)
	}
	sidecars, _ := filepath.Glob(filepath.Join(dir, "inbox", "*.json"))
	crops, _ := filepath.Glob(filepath.Join(dir, "inbox", "*-0.png"))
	if len(sidecars) == 0 || len(crops) != len(sidecars) {
		t.Fatalf("%d sidecars, %d crops after 20 frames sampled at rate 1", len(sidecars), len(crops))
	}

	srv := sshdtest.Start(t)
	host := srv.User + "@" + srv.Addr()
	local := filepath.Join(t.TempDir(), "field")
	args := []string{"pull", "--host", host, "--identity", srv.KeyFile, "--known-hosts", srv.KnownHosts,
		"--accept-new-host-key", "--remote-dir", dir, local}
	out, _, err := cameraCLI(t, args...)
	if err != nil {
		t.Fatalf("pull: %v", err)
	}
	if !strings.Contains(out, " 0 up to date") {
		t.Fatalf("first pull: %q", out)
	}
	got, _ := filepath.Glob(filepath.Join(local, "inbox", "*.json"))
	if len(got) != len(sidecars) {
		t.Fatalf("pulled %d sidecars, the board has %d", len(got), len(sidecars))
	}
	out, _, err = cameraCLI(t, args...)
	if err != nil || !strings.Contains(out, ", 0 fetched (0 bytes)") {
		t.Fatalf("second pull: %q %v", out, err)
	}
}

// TestCollectFromConfigFile: a flashed board turns collection on through
// its config file, as docs/collect.md shows.
func TestCollectFromConfigFile(t *testing.T) {
	mp := cameraTestModel(t)
	dir := filepath.Join(t.TempDir(), "collect")
	cfg := filepath.Join(t.TempDir(), "agent.json")
	if err := os.WriteFile(cfg, []byte(`{"collect": "`+dir+`", "collect-max-mb": 500, "collect-rate": 1, "collect-min-gap": "0s"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cameraCLI(t, "run", "--model", mp, "--camera", "synthetic", "--size", "160x120", "--max-frames", "10", "--config", cfg); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "inbox", "*.json")); len(m) == 0 {
		t.Fatal("no frame collected with collect set in the config file")
	}
}

func TestCollectAndPullFlagErrors(t *testing.T) {
	mp := cameraTestModel(t)
	dir := t.TempDir()
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"below":      {[]string{"--collect", dir, "--collect-below", "2"}, "--collect-below"},
		"rate":       {[]string{"--collect", dir, "--collect-rate", "-1"}, "--collect-rate"},
		"quota":      {[]string{"--collect", dir, "--collect-max-mb", "0"}, "--collect-max-mb"},
		"gap":        {[]string{"--collect", dir, "--collect-min-gap", "-1s"}, "--collect-min-gap"},
		"no dir":     {[]string{"--collect-rate", "0.5"}, "needs --collect DIR"},
		"unwritable": {[]string{"--collect", "/proc/edgecnn-collect"}, "collect"},
	} {
		_, _, err := cameraCLI(t, append([]string{"run", "--model", mp, "--camera", "synthetic", "--max-frames", "1"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v (want it to mention %q)", name, err, c.want)
		}
	}
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"no dir":   {[]string{"pull", "--host", "pi@127.0.0.1"}, "local directory"},
		"bad host": {[]string{"pull", "--host", "pi@", "x"}, "--host"},
		"no host":  {[]string{"pull", "x"}, "host"},
	} {
		_, _, err := cameraCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pull %s: %v (want it to mention %q)", name, err, c.want)
		}
	}
}
