package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgecnn/edgecnn/deploy/mdns"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Target is one board to deploy to.
type Target struct {
	Name  string // display name (inventory alias); defaults to Host
	User  string
	Host  string
	Port  int    // 0: 22
	Board string // board name override (inventory edgecnn_board=); "" uses the command's --board
	// Identity is a private key file for this target only (inventory
	// ansible_ssh_private_key_file); "" uses SSHOptions.
	Identity string
}

// ParseTarget parses user@host[:port] (also [v6addr]:port). A missing user
// defaults to the local user name in $USER, else root.
func ParseTarget(s string) (Target, error) {
	var t Target
	s = strings.TrimSpace(s)
	if s == "" {
		return t, errors.New("empty host")
	}
	if u, rest, ok := strings.Cut(s, "@"); ok {
		if u == "" {
			return t, fmt.Errorf("host %q: empty user name", s)
		}
		t.User, s = u, rest
	}
	host := s
	if h, p, err := net.SplitHostPort(s); err == nil {
		port, perr := strconv.Atoi(p)
		if perr != nil || port <= 0 || port > 65535 {
			return t, fmt.Errorf("host %q: bad port %q", s, p)
		}
		host, t.Port = h, port
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	if host == "" || strings.ContainsAny(host, " /@") {
		return t, fmt.Errorf("bad host %q", s)
	}
	t.Host = host
	if t.User == "" {
		t.User = os.Getenv("USER")
		if t.User == "" {
			t.User = "root"
		}
	}
	return t, nil
}

// Addr is host:port for dialing.
func (t Target) Addr() string {
	p := t.Port
	if p == 0 {
		p = 22
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(p))
}

// String is user@host[:port], or the inventory name.
func (t Target) String() string {
	if t.Name != "" {
		return t.Name
	}
	s := t.User + "@" + t.Host
	if t.Port != 0 && t.Port != 22 {
		s += ":" + strconv.Itoa(t.Port)
	}
	return s
}

// SSHOptions configure authentication and host-key checking.
type SSHOptions struct {
	// Identity is a private key file. When set, only it is offered.
	Identity string `flag:"identity" alias:"i" usage:"private key file (default: ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)"`
	// KnownHosts is the known_hosts file; "" means ~/.ssh/known_hosts.
	KnownHosts string `flag:"known-hosts" usage:"known_hosts file (default ~/.ssh/known_hosts)"`
	// AcceptNewHostKey records the key of a host seen for the first time
	// (never a changed key).
	AcceptNewHostKey bool `flag:"accept-new-host-key" usage:"trust and record the host key of a board seen for the first time (a changed key is always refused)"`
	// NoAgent disables ssh-agent ($SSH_AUTH_SOCK); NoDefaultKeys disables
	// ~/.ssh/id_ed25519, id_ecdsa and id_rsa.
	NoAgent, NoDefaultKeys bool
	// Timeout bounds the TCP connect and SSH handshake (default 10s).
	Timeout time.Duration
	// MDNS resolves .local names (nil: the mDNS multicast group); see
	// ResolveAddr.
	MDNS *mdns.Resolver
}

// knownHostsMu serialises appends to known_hosts from parallel flashes.
var knownHostsMu sync.Mutex

// Conn is an SSH connection with an SFTP session on it. It counts the bytes
// it sends and receives on the wire (after encryption).
type Conn struct {
	Target Target
	Client *ssh.Client
	SFTP   *sftp.Client
	wire   *countingConn
}

// BytesSent is how many bytes went to the board over the TCP connection.
func (c *Conn) BytesSent() int64 { return c.wire.sent.Load() }

// BytesReceived is how many bytes came back.
func (c *Conn) BytesReceived() int64 { return c.wire.recv.Load() }

// Close ends the SFTP session and the connection.
func (c *Conn) Close() error {
	if c.SFTP != nil {
		c.SFTP.Close()
	}
	return c.Client.Close()
}

type countingConn struct {
	net.Conn
	sent, recv atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.sent.Add(int64(n))
	return n, err
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.recv.Add(int64(n))
	return n, err
}

// HostKeyError is a host key that is unknown (and not accepted) or changed.
type HostKeyError struct {
	Host        string
	Changed     bool
	Fingerprint string // of the key the server offered
	KnownHosts  string
	Line        int // known_hosts line of the key on record (changed keys)
}

func (e *HostKeyError) Error() string {
	if e.Changed {
		return fmt.Sprintf("HOST KEY CHANGED for %s: it now offers %s, which does not match %s line %d. "+
			"Someone may be intercepting the connection; if the board was reinstalled, verify the new key and remove the old one with: ssh-keygen -f %s -R '%s'",
			e.Host, e.Fingerprint, e.KnownHosts, e.Line, e.KnownHosts, e.Host)
	}
	return fmt.Sprintf("unknown host key for %s (%s): not in %s; verify the fingerprint (on the board: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and re-run with --accept-new-host-key",
		e.Host, e.Fingerprint, e.KnownHosts)
}

func (o SSHOptions) knownHostsPath() (string, error) {
	if o.KnownHosts != "" {
		return o.KnownHosts, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("known_hosts: %w", err)
	}
	return filepath.Join(home, ".ssh", "known_hosts"), nil
}

// hostKeyCallback checks keys against known_hosts, appending first-contact
// keys when allowed. It also returns the algorithms of keys on record for
// addr so the handshake asks for a key type we can verify.
func hostKeyCallback(o SSHOptions, addr string) (ssh.HostKeyCallback, []string, error) {
	path, err := o.knownHostsPath()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			return nil, nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	check, err := knownhosts.New(path)
	if err != nil {
		return nil, nil, fmt.Errorf("known_hosts %s: %w", path, err)
	}
	// Probe with a throwaway key to learn which algorithms are on record.
	var algos []string
	var ke *knownhosts.KeyError
	if perr := check(addr, &net.TCPAddr{}, probeKey{}); errors.As(perr, &ke) {
		for _, k := range ke.Want {
			switch t := k.Key.Type(); t {
			case ssh.KeyAlgoRSA:
				algos = append(algos, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
			default:
				algos = append(algos, t)
			}
		}
	}
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := check(hostname, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			return err
		}
		host := knownhosts.Normalize(hostname)
		if len(ke.Want) > 0 {
			return &HostKeyError{Host: host, Changed: true, Fingerprint: ssh.FingerprintSHA256(key), KnownHosts: path, Line: ke.Want[0].Line}
		}
		if !o.AcceptNewHostKey {
			return &HostKeyError{Host: host, Fingerprint: ssh.FingerprintSHA256(key), KnownHosts: path}
		}
		knownHostsMu.Lock()
		defer knownHostsMu.Unlock()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
		if err != nil {
			return fmt.Errorf("known_hosts: %w", err)
		}
		defer f.Close()
		if _, err := fmt.Fprintln(f, knownhosts.Line([]string{host}, key)); err != nil {
			return fmt.Errorf("known_hosts: %w", err)
		}
		return nil
	}
	return cb, algos, nil
}

// probeKey is a public key that matches nothing.
type probeKey struct{}

func (probeKey) Type() string                        { return "edgecnn-probe" }
func (probeKey) Marshal() []byte                     { return []byte("\x00\x00\x00\x0dedgecnn-probe") }
func (probeKey) Verify([]byte, *ssh.Signature) error { return errors.New("probe") }

// authMethods collects signers: the explicit identity, else ssh-agent and
// the default key files.
func authMethods(o SSHOptions, identity string) ([]ssh.AuthMethod, []string, func(), error) {
	var signers []ssh.Signer
	var tried []string
	cleanup := func() {}
	if identity == "" {
		identity = o.Identity
	}
	loadFile := func(p string, explicit bool) error {
		b, err := os.ReadFile(p)
		if err != nil {
			if !explicit && errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("identity %s: %w", p, err)
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				if explicit {
					return fmt.Errorf("identity %s is encrypted: load it into ssh-agent (ssh-add %s) and drop --identity", p, p)
				}
				return nil
			}
			return fmt.Errorf("identity %s: %w", p, err)
		}
		signers = append(signers, s)
		tried = append(tried, p)
		return nil
	}
	if identity != "" {
		if err := loadFile(identity, true); err != nil {
			return nil, nil, cleanup, err
		}
		return []ssh.AuthMethod{ssh.PublicKeys(signers...)}, tried, cleanup, nil
	}
	var methods []ssh.AuthMethod
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !o.NoAgent {
		if ac, err := net.Dial("unix", sock); err == nil {
			cleanup = func() { ac.Close() }
			methods = append(methods, ssh.PublicKeysCallback(agent.NewClient(ac).Signers))
			tried = append(tried, "ssh-agent")
		}
	}
	if !o.NoDefaultKeys {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				if err := loadFile(filepath.Join(home, ".ssh", n), false); err != nil {
					cleanup()
					return nil, nil, func() {}, err
				}
			}
		}
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if len(methods) == 0 {
		return nil, nil, cleanup, errors.New("no SSH key: start ssh-agent, create ~/.ssh/id_ed25519 (ssh-keygen -t ed25519) or pass --identity FILE")
	}
	return methods, tried, cleanup, nil
}

// Dial connects to t, verifies its host key and opens an SFTP session.
func Dial(ctx context.Context, t Target, o SSHOptions) (*Conn, error) {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cb, algos, err := hostKeyCallback(o, t.Addr())
	if err != nil {
		return nil, err
	}
	methods, tried, cleanup, err := authMethods(o, t.Identity)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	dialAddr, err := ResolveAddr(ctx, t.Addr(), o.MDNS)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", t.Addr(), err)
	}
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", dialAddr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w (is the board on and sshd running?)", t.Addr(), err)
	}
	wire := &countingConn{Conn: raw}
	cfg := &ssh.ClientConfig{
		User:              t.User,
		Auth:              methods,
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
		Timeout:           timeout,
	}
	raw.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	cc, chans, reqs, err := ssh.NewClientConn(wire, t.Addr(), cfg)
	stop()
	if err != nil {
		raw.Close()
		var hk *HostKeyError
		if errors.As(err, &hk) {
			return nil, hk
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("ssh %s: authentication failed for user %q with %s: add your public key to the board's ~/.ssh/authorized_keys (ssh-copy-id) or pass --identity: %w",
				t.Addr(), t.User, strings.Join(tried, ", "), err)
		}
		return nil, fmt.Errorf("ssh %s: %w", t.Addr(), err)
	}
	raw.SetDeadline(time.Time{})
	client := ssh.NewClient(cc, chans, reqs)
	sc, err := sftp.NewClient(client, sftp.UseConcurrentWrites(true))
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("sftp %s: %w (is the sftp subsystem enabled in sshd_config?)", t.Addr(), err)
	}
	return &Conn{Target: t, Client: client, SFTP: sc, wire: wire}, nil
}

// CommandError is a remote command that exited non-zero.
type CommandError struct {
	Cmd    string
	Status int
	Stderr string
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = "no output"
	}
	return fmt.Sprintf("remote command %q exited %d: %s", e.Cmd, e.Status, msg)
}

// Run executes a shell command on the board and returns its stdout. A
// non-zero exit is a *CommandError carrying stderr. Cancelling ctx closes
// the session.
func (c *Conn) Run(ctx context.Context, cmd string) (string, error) {
	s, err := c.Client.NewSession()
	if err != nil {
		return "", fmt.Errorf("ssh session: %w", err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	stop := context.AfterFunc(ctx, func() { s.Signal(ssh.SIGKILL); s.Close() })
	defer stop()
	if err := s.Run(cmd); err != nil {
		if ctx.Err() != nil {
			return out.String(), fmt.Errorf("remote command %q: %w", cmd, ctx.Err())
		}
		var ee *ssh.ExitError
		if errors.As(err, &ee) {
			return out.String(), &CommandError{Cmd: cmd, Status: ee.ExitStatus(), Stderr: errb.String()}
		}
		return out.String(), fmt.Errorf("remote command %q: %w", cmd, err)
	}
	return out.String(), nil
}

// shq quotes s for a POSIX shell.
func shq(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:@,+", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var _ io.Writer = (*countingConn)(nil)
