//go:build !board

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/edgecnn/edgecnn/agent/collect"
	"github.com/edgecnn/edgecnn/camera"
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

	// Label on the board (what /label does), pull again: the labelled
	// folder is an image folder that eval (and so train) accepts.
	c, err := collect.New(collect.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	items, _, err := c.List(0)
	if err != nil {
		t.Fatal(err)
	}
	classes, labelled := map[string]bool{}, 0
	for _, it := range items {
		if it.Prediction == "" {
			continue
		}
		if _, err := c.Label(it.ID, it.Prediction); err != nil {
			t.Fatal(err)
		}
		classes[it.Prediction] = true
		labelled++
	}
	c.Close()
	if len(classes) < 2 {
		t.Fatalf("crops of only %d classes collected", len(classes))
	}
	if out, _, err = cameraCLI(t, args...); err != nil || strings.Contains(out, ", 0 fetched") {
		t.Fatalf("pull after labelling: %q %v", out, err)
	}
	out, errOut, err := cameraCLI(t, "eval", "--model", mp, "--data", filepath.Join(local, "labelled"))
	if err != nil {
		t.Fatalf("eval on the pulled labelled folder: %v\n%s%s", err, out, errOut)
	}
	// The crops are the model's input as it is: no preprocessing again.
	if want := fmt.Sprintf("%d taken as-is (28x28 gray)", labelled); !strings.Contains(out+errOut, want) {
		t.Fatalf("eval did not take the %d labelled crops as they are:\n%s%s", labelled, out, errOut)
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
		"min free":   {[]string{"--collect", dir, "--collect-min-free-mb", "-5"}, "--collect-min-free-mb"},
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

// TestCollectSurvivesKill9 kills `edgecnn run --collect` (a real process)
// with SIGKILL while it writes frames: every frame with a sidecar is
// complete and decodable, and the next start removes whatever the kill
// left half-written.
func TestCollectSurvivesKill9(t *testing.T) {
	mp := cameraTestModel(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "collect")
	for round := 0; round < 2; round++ {
		cmd := exec.Command(exe, "run", "--model", mp, "--camera", "synthetic", "--size", "640x480",
			"--collect", dir, "--collect-rate", "1", "--collect-min-gap", "0")
		cmd.Env = append(os.Environ(), "EDGECNN_CAMERA_TEST_MAIN=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			m, _ := filepath.Glob(filepath.Join(dir, "inbox", "*.json"))
			if len(m) >= 5*(round+1) {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("round %d: only %d frames collected in 60 s (stderr %s)", round, len(m), stderr.String())
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		checkComplete(t, dir)
	}
	c, err := collect.New(collect.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	ents, _ := os.ReadDir(filepath.Join(dir, "inbox"))
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			t.Fatalf("temporary file %s left after restart", name)
		}
		id := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".jpg"), ".png")
		if i := strings.LastIndex(id, "Z-"); i > 0 && len(id) > i+8 {
			id = id[:i+8] // crop → frame id
		}
		if _, err := os.Stat(filepath.Join(dir, "inbox", id+".json")); err != nil {
			t.Fatalf("%s has no sidecar after restart", name)
		}
	}
	checkComplete(t, dir)
}

// checkComplete decodes the JPEG and crops of every frame with a sidecar.
func checkComplete(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "inbox", "*.json"))
	for _, p := range m {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var sc collect.Sidecar
		if err := json.Unmarshal(b, &sc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		files := []string{sc.Frame}
		for _, c := range sc.Crops {
			files = append(files, c.File)
		}
		for _, f := range files {
			if _, err := camera.DecodeFile(filepath.Join(dir, "inbox", f)); err != nil {
				t.Fatalf("frame %s: %s: %v", sc.ID, f, err)
			}
		}
	}
}
