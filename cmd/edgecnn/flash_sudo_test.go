//go:build !board

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

// TestFlashCommandNonRootSudoAuto runs `edgecnn flash` logged in as a
// throwaway non-root user, as on Raspberry Pi OS: with the default
// --sudo auto the privileged steps go through `sudo -n`; a user without
// sudo rights gets an error naming sudo and nothing is installed.
func TestFlashCommandNonRootSudoAuto(t *testing.T) {
	sshdtest.RequireHostChanges(t)
	// The board's root: reachable by the login user, writable only by root.
	dir, err := os.MkdirTemp("", "edgecnn-sudo-cli-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	units := filepath.Join(dir, "units")
	os.Mkdir(units, 0o755)
	calls := filepath.Join(dir, "calls")
	os.WriteFile(calls, nil, 0o666)
	os.Chmod(calls, 0o666)
	systemctl := filepath.Join(dir, "systemctl")
	os.WriteFile(systemctl, []byte("#!/bin/sh\necho \"$(id -un): $*\" >> "+calls+"\n"), 0o755)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer hs.Close()
	local := t.TempDir()
	bin := filepath.Join(local, "edgecnn-bin")
	os.WriteFile(bin, []byte(strings.Repeat("edgecnn", 10000)), 0o755)
	model := filepath.Join(local, "m.tflite")
	os.WriteFile(model, []byte("model"), 0o644)
	args := func(srv *sshdtest.Server, prefix string) []string {
		return []string{"flash", "--board", "generic-amd64", "--host", srv.User + "@127.0.0.1:" + strconv.Itoa(srv.Port),
			"--identity", srv.KeyFile, "--known-hosts", srv.KnownHosts, "--accept-new-host-key",
			"--binary", bin, "--model", model, "--release-version", "9.9", "--prefix", prefix,
			"--systemctl", systemctl, "--sysusers", "true", "--unit-dir", units, "--sysusers-dir", filepath.Join(dir, "sysusers"),
			"--health-url", hs.URL + "/healthz", "--health-timeout", "3s"}
	}

	pi := sshdtest.TempUser(t, true)
	srv := sshdtest.StartUser(t, pi)
	prefix := filepath.Join(dir, "opt-edgecnn")
	out, logs, err := runCLI(t, args(srv, prefix)...)
	if err != nil {
		t.Fatalf("flash as %s: %v\n%s\n%s", pi, err, out, logs)
	}
	if !strings.Contains(out, " ok ") {
		t.Fatalf("summary: %s", out)
	}
	if link, err := os.Readlink(filepath.Join(prefix, "current")); err != nil || !strings.HasPrefix(link, "releases/9.9-") {
		t.Fatalf("current -> %q %v", link, err)
	}
	fi, err := os.Stat(filepath.Join(units, "edgecnn.service"))
	if err != nil || fi.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatalf("unit not installed by root: %v", err)
	}
	c, _ := os.ReadFile(calls)
	if !strings.Contains(string(c), "root: restart edgecnn.service") || strings.Contains(string(c), pi+": restart") {
		t.Fatalf("systemctl restart did not run through sudo:\n%s", c)
	}

	nobody := sshdtest.TempUser(t, false)
	srv2 := sshdtest.StartUser(t, nobody)
	os.WriteFile(calls, nil, 0o666)
	prefix2 := filepath.Join(dir, "opt-edgecnn2")
	out, _, err = runCLI(t, args(srv2, prefix2)...)
	if err == nil || !strings.Contains(out+err.Error(), "password-less sudo") {
		t.Fatalf("flash as %s without sudo rights: %v\n%s", nobody, err, out)
	}
	if _, err := os.Lstat(prefix2); !os.IsNotExist(err) {
		t.Errorf("%s was created: %v", prefix2, err)
	}
	if c, _ := os.ReadFile(calls); len(c) != 0 {
		t.Errorf("systemctl ran:\n%s", c)
	}
}
