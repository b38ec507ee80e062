//go:build !board

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

// status reads a YAML inventory, asks a live board (real sshd, nothing
// installed) and an offline one, prints one row each and fails.
func TestStatusCommand(t *testing.T) {
	srv := sshdtest.Start(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	inv := filepath.Join(t.TempDir(), "fleet.yml")
	os.WriteFile(inv, []byte(fmt.Sprintf(`all:
  vars:
    ansible_user: %s
    ansible_host: 127.0.0.1
  hosts:
    live:
      ansible_port: %d
    gone:
      ansible_port: %d
`, srv.User, srv.Port, closed)), 0o644)
	args := []string{"status", "--inventory", inv, "--identity", srv.KeyFile, "--known-hosts", srv.KnownHosts,
		"--accept-new-host-key", "--timeout", "3s", "--prefix", filepath.Join(t.TempDir(), "opt")}
	out, _, err := runCLI(t, args...)
	if err == nil || !strings.Contains(err.Error(), "2 of 2") {
		t.Fatalf("status: err %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "live") || !strings.Contains(lines[1], "online") ||
		!strings.Contains(lines[2], "gone") || !strings.Contains(lines[2], "OFFLINE") {
		t.Fatalf("table:\n%s", out)
	}
	out, _, _ = runCLI(t, append(args, "--json")...)
	var rows []struct {
		Target string `json:"target"`
		Online bool   `json:"online"`
		Health string `json:"health"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || !rows[0].Online || rows[1].Online ||
		!strings.Contains(rows[0].Health, "not installed") {
		t.Fatalf("--json: %v %+v\n%s", err, rows, out)
	}
	// A broken inventory: one line with file:line.
	os.WriteFile(inv, []byte("all:\n  hosts:\n    - live\n"), 0o644)
	_, _, err = runCLI(t, "status", "--inventory", inv)
	if err == nil || !strings.Contains(err.Error(), inv+":3:") {
		t.Fatalf("broken inventory: %v", err)
	}
}
