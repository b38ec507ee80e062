// Package mosquittotest runs a real Mosquitto broker (Debian's mosquitto)
// on 127.0.0.1 at free ports for tests and benchmarks: an optional
// password file (made with mosquitto_passwd), an optional TLS listener
// with a throwaway CA and server certificate made here, and optional
// persistence so that a restart keeps sessions and their queued messages.
// Only loopback is used; everything lives in one directory.
package mosquittotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is the broker this package starts.
const Binary = "/usr/sbin/mosquitto"

// Options configures a Broker.
type Options struct {
	Users map[string]string // user → password; none: anonymous allowed
	TLS   bool              // add a TLS listener (TLSPort) with a generated CA
	// ClientCert makes the TLS listener require a client certificate
	// signed by the CA (ClientCertFile, ClientKeyFile).
	ClientCert bool
	Persist    bool // keep sessions and queued messages across Stop/Start
}

// Broker is a Mosquitto process (or a stopped one, between Stop and Start).
type Broker struct {
	Dir     string
	Port    int // plain MQTT listener
	TLSPort int // TLS listener (Options.TLS)
	CAFile  string
	// OtherCAFile is a CA that did not sign the broker's certificate (for
	// "wrong CA" tests).
	OtherCAFile string
	// ClientCertFile and ClientKeyFile are a client certificate the broker
	// accepts (signed by CAFile).
	ClientCertFile, ClientKeyFile string
	Log                           string // the broker's log file

	conf string
	cmd  *exec.Cmd
	exit chan error
}

// Start writes the configuration in dir and starts the broker.
func Start(dir string, opt Options) (*Broker, error) {
	if _, err := os.Stat(Binary); err != nil {
		return nil, fmt.Errorf("mosquittotest: %w (install mosquitto: make deps)", err)
	}
	b := &Broker{Dir: dir, conf: filepath.Join(dir, "mosquitto.conf"), Log: filepath.Join(dir, "mosquitto.log")}
	var err error
	if b.Port, err = freePort(); err != nil {
		return nil, err
	}
	var c strings.Builder
	fmt.Fprintf(&c, "per_listener_settings false\nlog_dest file %s\nlog_type all\nconnection_messages true\n", b.Log)
	if os.Geteuid() == 0 {
		c.WriteString("user root\n") // as root, mosquitto would switch to the mosquitto user and lose access to dir
	}
	fmt.Fprintf(&c, "max_queued_messages 100000\nmax_inflight_messages 100\n")
	if opt.Persist {
		fmt.Fprintf(&c, "persistence true\npersistence_location %s/\nautosave_interval 1\n", dir)
	}
	if len(opt.Users) > 0 {
		pw := filepath.Join(dir, "passwd")
		if err := os.WriteFile(pw, nil, 0o600); err != nil {
			return nil, err
		}
		for u, p := range opt.Users {
			if out, err := exec.Command("mosquitto_passwd", "-b", pw, u, p).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("mosquittotest: mosquitto_passwd: %v: %s", err, out)
			}
		}
		fmt.Fprintf(&c, "allow_anonymous false\npassword_file %s\n", pw)
	} else {
		c.WriteString("allow_anonymous true\n")
	}
	fmt.Fprintf(&c, "listener %d 127.0.0.1\n", b.Port)
	if opt.TLS {
		if b.TLSPort, err = freePort(); err != nil {
			return nil, err
		}
		if err := b.makeCerts(); err != nil {
			return nil, err
		}
		fmt.Fprintf(&c, "listener %d 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n", b.TLSPort, b.CAFile,
			filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
		if opt.ClientCert {
			c.WriteString("require_certificate true\n")
		}
	}
	if err := os.WriteFile(b.conf, []byte(c.String()), 0o600); err != nil {
		return nil, err
	}
	return b, b.Start()
}

// New starts a broker in a t.TempDir() and stops it when t ends.
func New(t testing.TB, opt Options) *Broker {
	t.Helper()
	b, err := Start(t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Kill() })
	return b
}

// Start (re)starts a stopped broker on the same ports.
func (b *Broker) Start() error {
	if b.cmd != nil {
		return errors.New("mosquittotest: already running")
	}
	cmd := exec.Command(Binary, "-c", b.conf)
	cmd.Dir = b.Dir
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mosquittotest: %w", err)
	}
	b.cmd, b.exit = cmd, make(chan error, 1)
	go func() { b.exit <- cmd.Wait() }()
	ports := []int{b.Port}
	if b.TLSPort != 0 {
		ports = append(ports, b.TLSPort)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range ports {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-b.exit:
				b.cmd = nil
				log, _ := os.ReadFile(b.Log)
				return fmt.Errorf("mosquittotest: broker exited (%v); log:\n%s", err, log)
			default:
			}
			if time.Now().After(deadline) {
				b.Kill()
				return fmt.Errorf("mosquittotest: broker not listening on %d", p)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// Stop ends the broker gracefully (SIGTERM: persistence is saved).
func (b *Broker) Stop() error { return b.end(syscall.SIGTERM) }

// Kill ends the broker with SIGKILL.
func (b *Broker) Kill() error { return b.end(syscall.SIGKILL) }

func (b *Broker) end(sig syscall.Signal) error {
	if b.cmd == nil {
		return nil
	}
	b.cmd.Process.Signal(sig)
	select {
	case <-b.exit:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-b.exit
	}
	b.cmd = nil
	return nil
}

// URL is mqtt://[user:pass@]127.0.0.1:Port (user "" : none).
func (b *Broker) URL(user, pass string) string { return b.url("mqtt", b.Port, user, pass) }

// TLSURL is mqtts://[user:pass@]127.0.0.1:TLSPort.
func (b *Broker) TLSURL(user, pass string) string { return b.url("mqtts", b.TLSPort, user, pass) }

func (b *Broker) url(scheme string, port int, user, pass string) string {
	cred := ""
	if user != "" {
		cred = user + ":" + pass + "@"
	}
	return fmt.Sprintf("%s://%s127.0.0.1:%d", scheme, cred, port)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// makeCerts writes ca.pem, server.pem/server.key (for 127.0.0.1 and
// localhost, signed by ca.pem) and other-ca.pem.
func (b *Broker) makeCerts() error {
	caKey, caDER, err := selfSigned("edgecnn test CA")
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	_, otherDER, err := selfSigned("some other CA")
	if err != nil {
		return err
	}
	server := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
	der, keyDER, err := leaf(server, ca, caKey)
	if err != nil {
		return err
	}
	client := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "edgecnn-test-client"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	cDER, cKeyDER, err := leaf(client, ca, caKey)
	if err != nil {
		return err
	}
	b.CAFile = filepath.Join(b.Dir, "ca.pem")
	b.OtherCAFile = filepath.Join(b.Dir, "other-ca.pem")
	b.ClientCertFile = filepath.Join(b.Dir, "client.pem")
	b.ClientKeyFile = filepath.Join(b.Dir, "client.key")
	for path, blk := range map[string]*pem.Block{
		b.CAFile:                           {Type: "CERTIFICATE", Bytes: caDER},
		b.OtherCAFile:                      {Type: "CERTIFICATE", Bytes: otherDER},
		filepath.Join(b.Dir, "server.pem"): {Type: "CERTIFICATE", Bytes: der},
		filepath.Join(b.Dir, "server.key"): {Type: "EC PRIVATE KEY", Bytes: keyDER},
		b.ClientCertFile:                   {Type: "CERTIFICATE", Bytes: cDER},
		b.ClientKeyFile:                    {Type: "EC PRIVATE KEY", Bytes: cKeyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// leaf makes a key and a certificate from tmpl signed by ca.
func leaf(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) (certDER, keyDER []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if certDER, err = x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey); err != nil {
		return nil, nil, err
	}
	keyDER, err = x509.MarshalECPrivateKey(key)
	return certDER, keyDER, err
}

func selfSigned(name string) (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	return key, der, err
}
