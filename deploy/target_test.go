package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/deploy/sshdtest"
)

func TestParseTarget(t *testing.T) {
	cases := map[string]Target{
		"pi@raspberrypi.local": {User: "pi", Host: "raspberrypi.local"},
		"root@127.0.0.1:2222":  {User: "root", Host: "127.0.0.1", Port: 2222},
		"ubuntu@[fe80::1]:22":  {User: "ubuntu", Host: "fe80::1", Port: 22},
		"ubuntu@[fe80::1]":     {User: "ubuntu", Host: "fe80::1"},
	}
	for in, want := range cases {
		got, err := ParseTarget(in)
		if err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "@host", "pi@", "pi@host:0", "pi@host:99999", "pi@host:x", "pi@a b"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
	tg, _ := ParseTarget("pi@h:2200")
	if tg.Addr() != "h:2200" || tg.String() != "pi@h:2200" {
		t.Errorf("Addr %s String %s", tg.Addr(), tg)
	}
}

func TestReadInventory(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hosts.ini")
	os.WriteFile(p, []byte(`# boards
[kitchen]
pi-a ansible_host=192.168.1.20 ansible_user=pi
pi-b ansible_host=192.168.1.21 edgecnn_board=rpi5 ansible_port=2222

[lab]
jetson ansible_host=10.0.0.7 ansible_user=ubuntu edgecnn_board=jetson-nano
pi-a

[kitchen:vars]
ansible_user="pi"
ansible_ssh_private_key_file=/keys/kitchen

[all:vars]
ansible_port=22
`), 0o644)
	all, err := ReadInventory(p, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 {
		t.Fatalf("%d hosts: %+v", len(all), all)
	}
	a, b, j := all[0], all[1], all[2]
	if a.Name != "pi-a" || a.Host != "192.168.1.20" || a.User != "pi" || a.Port != 22 || a.Identity != "/keys/kitchen" {
		t.Errorf("pi-a: %+v", a)
	}
	if b.Port != 2222 || b.Board != "rpi5" || b.User != "pi" {
		t.Errorf("pi-b: %+v", b)
	}
	if j.User != "ubuntu" || j.Board != "jetson-nano" || j.Identity != "" {
		t.Errorf("jetson: %+v", j)
	}
	lab, err := ReadInventory(p, "lab")
	if err != nil || len(lab) != 2 {
		t.Fatalf("lab: %+v %v", lab, err)
	}
	if _, err := ReadInventory(p, "garage"); err == nil || !strings.Contains(err.Error(), "kitchen") {
		t.Fatalf("unknown group: %v", err)
	}
	os.WriteFile(p, []byte("[x]\nh ansible_port=seventy\n"), 0o644)
	if _, err := ReadInventory(p, ""); err == nil || !strings.Contains(err.Error(), "ansible_port") {
		t.Fatalf("bad port: %v", err)
	}
	os.WriteFile(p, []byte("[x\nh\n"), 0o644)
	if _, err := ReadInventory(p, ""); err == nil {
		t.Fatal("bad section accepted")
	}
	if _, err := ReadInventory(filepath.Join(t.TempDir(), "none"), ""); err == nil {
		t.Fatal("missing file accepted")
	}
}

// TestAuthAgentAndDefaultKeys logs in with keys from a real ssh-agent and
// from ~/.ssh/id_ed25519.
func TestAuthAgentAndDefaultKeys(t *testing.T) {
	srv := sshdtest.Start(t)
	tg := Target{User: srv.User, Host: "127.0.0.1", Port: srv.Port}
	ctx := context.Background()

	// ~/.ssh/id_ed25519 of a fresh HOME.
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	key, _ := os.ReadFile(srv.KeyFile)
	os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), key, 0o600)
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	c, err := Dial(ctx, tg, SSHOptions{KnownHosts: srv.KnownHosts, AcceptNewHostKey: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("default key: %v", err)
	}
	c.Close()
	os.Remove(filepath.Join(home, ".ssh", "id_ed25519"))
	if _, err := Dial(ctx, tg, SSHOptions{KnownHosts: srv.KnownHosts, Timeout: 5 * time.Second}); err == nil || !strings.Contains(err.Error(), "no SSH key") {
		t.Fatalf("no keys at all: %v", err)
	}

	// ssh-agent holding the key.
	agentBin, err := exec.LookPath("ssh-agent")
	if err != nil {
		t.Fatalf("ssh-agent missing (openssh-client): %v", err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command(agentBin, "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", srv.KeyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	c, err = Dial(ctx, tg, SSHOptions{KnownHosts: srv.KnownHosts, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("agent: %v", err)
	}
	c.Close()
}

func TestInstallRootTwiceLinksAndEnables(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	b := &testBoard{prefix: "/opt/edgecnn"}
	in := makeInputs(t, 32<<10, "x", "m1")
	b1 := b.bundle(t, in, "1")
	r, err := InstallRoot(context.Background(), root, b1, "", "", nil)
	if err != nil || r.Uploaded != len(b1.Files) {
		t.Fatalf("%+v %v", r, err)
	}
	in.model = filepath.Join(t.TempDir(), "m.tflite")
	os.WriteFile(in.model, []byte("m2"), 0o644)
	b2 := b.bundle(t, in, "2")
	r, err = InstallRoot(context.Background(), root, b2, "", "", nil)
	if err != nil || r.Previous != b1.Release || r.Linked == 0 {
		t.Fatalf("second: %+v %v", r, err)
	}
	cur, _ := os.Readlink(filepath.Join(root, "opt/edgecnn/current"))
	if cur != "releases/"+b2.Release {
		t.Fatalf("current -> %s", cur)
	}
	// The card's previous release is the board-side rollback's fallback
	// until the new one passes a health check; the rollback unit is there.
	if good, _ := os.Readlink(filepath.Join(root, "opt/edgecnn/good")); good != "releases/"+b1.Release {
		t.Fatalf("good -> %s, want the previous release", good)
	}
	if u, err := os.ReadFile(filepath.Join(root, "etc/systemd/system/edgecnn-rollback.service")); err != nil || string(u) != b2.RollbackUnit {
		t.Fatalf("rollback unit: %v", err)
	}
	rb := &testBoard{prefix: filepath.Join(root, "opt/edgecnn")}
	rb.verifyRelease(t, b2.Release, b2)
	rb.verifyRelease(t, b1.Release, b1)
	if _, err := InstallRoot(context.Background(), t.TempDir(), b2, "", "", nil); err == nil || !strings.Contains(err.Error(), "root filesystem") {
		t.Fatalf("non-rootfs: %v", err)
	}
}
