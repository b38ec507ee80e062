//go:build !board

package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

func TestFlashCommand(t *testing.T) {
	_, _, err := runCLI(t, "flash", "--board", "rpi9", "--host", "root@127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "known boards") {
		t.Fatalf("unknown board: %v", err)
	}
	_, _, err = runCLI(t, "flash", "--board", "coral-usb", "--host", "root@127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "accelerator") {
		t.Fatalf("accelerator as board: %v", err)
	}
	if _, _, err = runCLI(t, "flash", "--board", "rpi4"); err == nil || !strings.Contains(err.Error(), "--host") {
		t.Fatalf("no host: %v", err)
	}

	srv := sshdtest.Start(t)
	dir := t.TempDir()
	prefix := filepath.Join(dir, "opt", "edgecnn")
	calls := filepath.Join(dir, "calls")
	systemctl := filepath.Join(dir, "systemctl")
	os.WriteFile(systemctl, []byte("#!/bin/sh\necho \"$*\" >> "+calls+"\n"), 0o755)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer hs.Close()
	bin := filepath.Join(dir, "edgecnn-bin")
	os.WriteFile(bin, bytes.Repeat([]byte("edgecnn"), 100000), 0o755)
	model := filepath.Join(dir, "m.tflite")
	os.WriteFile(model, []byte("model"), 0o644)
	host := srv.User + "@127.0.0.1:" + strconv.Itoa(srv.Port)
	args := []string{"flash", "--board", "generic-amd64", "--host", host, "--identity", srv.KeyFile, "--known-hosts", srv.KnownHosts,
		"--binary", bin, "--model", model, "--release-version", "9.9", "--prefix", prefix,
		"--systemctl", systemctl, "--sysusers", "true", "--unit-dir", filepath.Join(dir, "units"), "--sysusers-dir", filepath.Join(dir, "sysusers"),
		"--health-url", hs.URL + "/healthz", "--health-timeout", "3s"}

	// Dry run: a plan, nothing installed, no connection needed.
	out, _, err := runCLI(t, append(args, "--dry-run")...)
	if err != nil || !strings.Contains(out, "plan for "+host) || !strings.Contains(out, "9.9-") {
		t.Fatalf("dry run: %q %v", out, err)
	}
	if _, err := os.Stat(prefix); !os.IsNotExist(err) {
		t.Fatal("dry run installed something")
	}
	// First contact needs --accept-new-host-key.
	_, _, err = runCLI(t, args...)
	if err == nil || !strings.Contains(err.Error(), "--accept-new-host-key") {
		t.Fatalf("first contact: %v", err)
	}
	out, logs, err := runCLI(t, append(args, "--accept-new-host-key")...)
	if err != nil {
		t.Fatalf("flash: %v\n%s", err, logs)
	}
	if !strings.Contains(out, " ok ") {
		t.Fatalf("summary: %s", out)
	}
	link, err := os.Readlink(filepath.Join(prefix, "current"))
	if err != nil || !strings.HasPrefix(link, "releases/9.9-") {
		t.Fatalf("current -> %q %v", link, err)
	}
	if c, _ := os.ReadFile(calls); !strings.Contains(string(c), "restart edgecnn.service") {
		t.Fatalf("systemctl calls: %s", c)
	}

	// The same bundle into an SD card's root filesystem.
	rootfs := t.TempDir()
	os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755)
	out, _, err = runCLI(t, "flash", "--board", "rpi4", "--binary", bin, "--model", model, "--dest", rootfs)
	if err != nil {
		t.Fatal(err)
	}
	wants, err := os.Readlink(filepath.Join(rootfs, "etc/systemd/system/multi-user.target.wants/edgecnn.service"))
	if err != nil || wants != "/etc/systemd/system/edgecnn.service" {
		t.Fatalf("unit not enabled: %q %v", wants, err)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "opt/edgecnn/current/edgecnn")); err != nil {
		t.Fatal(err)
	}
	if su, _ := os.ReadFile(filepath.Join(rootfs, "etc/sysusers.d/edgecnn.conf")); !strings.Contains(string(su), "m edgecnn gpio") {
		t.Fatalf("sysusers: %q", su)
	}
}
