// Package sshdtest runs a real OpenSSH sshd (Debian's openssh-server) on
// 127.0.0.1 at a free port for tests, with throwaway host and user keys in
// a temporary directory. The test process's user logs in as itself (root
// in CI) with its own authorized_keys file, or (StartUser, as root) as
// another local user. Only loopback is ever used.
package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Binary is the sshd this package starts.
const Binary = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Dir        string // temporary directory with keys, config, log
	Port       int
	User       string
	KeyFile    string // the authorized client private key
	KnownHosts string // an empty known_hosts file for the client side
	HostKey    ssh.PublicKey

	t       testing.TB
	extra   []string
	cmd     *exec.Cmd
	log     string
	retries int
}

// Addr is 127.0.0.1:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Start launches sshd and registers its shutdown with t.Cleanup. extra
// lines are appended to sshd_config. A missing sshd is a test failure:
// `make deps` installs openssh-server.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return start(t, u.Username, extra)
}

// StartUser is Start for logging in as another local user (name), e.g. a
// throwaway non-root user made by the test. It needs root (sshd must
// switch to that user); the key and config directory is made traversable
// and authorized_keys readable so sshd can read it as that user.
func StartUser(t testing.TB, name string, extra ...string) *Server {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("sshdtest: StartUser(%q) needs root", name)
	}
	if _, err := user.Lookup(name); err != nil {
		t.Fatalf("sshdtest: %v", err)
	}
	return start(t, name, extra)
}

func start(t testing.TB, name string, extra []string) *Server {
	t.Helper()
	if _, err := os.Stat(Binary); err != nil {
		t.Fatalf("sshdtest: %v (install openssh-server: make deps)", err)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, User: name, t: t, extra: extra,
		KeyFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	authMode := os.FileMode(0o600)
	if u, err := user.Current(); err == nil && u.Username != name {
		// sshd reads AuthorizedKeysFile with the login user's rights.
		for _, d := range []string{filepath.Dir(dir), dir} {
			if err := os.Chmod(d, 0o711); err != nil {
				t.Fatal(err)
			}
		}
		authMode = 0o644
	}
	if os.Geteuid() == 0 {
		// Privilege separation directory, normally made by systemd-tmpfiles.
		os.MkdirAll("/run/sshd", 0o755)
	}
	s.HostKey = writeKey(t, filepath.Join(dir, "ssh_host_ed25519_key"))
	clientPub := writeKey(t, s.KeyFile)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(clientPub), authMode); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.KnownHosts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s.Port = freePort(t)
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// WriteKey makes a new ed25519 key pair at path (private, OpenSSH format)
// and path.pub, and returns the public key.
func WriteKey(t testing.TB, path string) ssh.PublicKey { return writeKey(t, path) }

func writeKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := ssh.MarshalPrivateKey(priv, "edgecnn-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sp), 0o644); err != nil {
		t.Fatal(err)
	}
	return sp
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *Server) start() {
	t := s.t
	t.Helper()
	cfg := []string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(s.Dir, "ssh_host_ed25519_key"),
		"AuthorizedKeysFile " + filepath.Join(s.Dir, "authorized_keys"),
		"StrictModes no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding yes",
		"Subsystem sftp internal-sftp",
		"PidFile none",
		"MaxStartups 64",
		"MaxSessions 64",
		"LogLevel ERROR",
	}
	for _, e := range s.extra {
		if strings.HasPrefix(e, "Subsystem sftp ") { // the caller's sftp server replaces ours
			for i, c := range cfg {
				if strings.HasPrefix(c, "Subsystem sftp ") {
					cfg = append(cfg[:i], cfg[i+1:]...)
					break
				}
			}
		}
	}
	cfg = append(cfg, s.extra...)
	path := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(path, []byte(strings.Join(cfg, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.log = filepath.Join(s.Dir, "sshd.log")
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(Binary, "-D", "-e", "-f", path)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("sshdtest: start sshd: %v", err)
	}
	s.cmd = cmd
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(s.log)
			if strings.Contains(string(b), "Address already in use") && s.retries < 3 {
				// Another process took the free port first: pick a new one.
				s.retries++
				os.WriteFile(s.log, nil, 0o600)
				s.Port = freePort(t)
				s.start()
				return
			}
			t.Fatalf("sshdtest: sshd exited at start: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.log)
			t.Fatalf("sshdtest: sshd not listening on %s: %s", s.Addr(), b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills sshd and its session processes (its process group).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	s.cmd.Process.Kill()
	// Wait is called by the goroutine started in start; give it a moment.
	for i := 0; i < 100; i++ {
		if err := syscall.Kill(s.cmd.Process.Pid, 0); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.cmd = nil
}

// Restart stops sshd and starts it again on the same port (e.g. after
// ChangeHostKey).
func (s *Server) Restart() {
	s.Stop()
	s.start()
}

// ChangeHostKey gives the server a new host key (as a reinstalled board
// would have) and restarts it.
func (s *Server) ChangeHostKey() {
	s.HostKey = writeKey(s.t, filepath.Join(s.Dir, "ssh_host_ed25519_key"))
	s.Restart()
}

// Log returns what sshd wrote so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// String describes the server for test logs.
func (s *Server) String() string { return fmt.Sprintf("sshd %s@%s", s.User, s.Addr()) }
