// Package deploy delivers edgecnn to boards: it makes a bundle (binary,
// bundled shared libraries, model, config, systemd unit, sysusers entry and
// SHA256SUMS), installs it into a versioned release directory on the board
// over SSH/SFTP (or into a mounted SD-card root filesystem), switches the
// `current` symlink atomically, restarts the service, checks its health and
// rolls back to the previous release when the new one does not come up.
//
// Layout on the board (PREFIX defaults to /opt/edgecnn):
//
//	PREFIX/releases/<version>-<hash>/{edgecnn,lib/,model.tflite,config.*,edgecnn.service,sysusers.conf,SHA256SUMS}
//	PREFIX/current -> releases/<version>-<hash>
//	/etc/systemd/system/edgecnn.service
//	/etc/sysusers.d/edgecnn.conf
package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/boards"
)

// SumsFile is the checksum list in every release, in sha256sum(1) format.
const SumsFile = "SHA256SUMS"

// DefaultPrefix is where releases live on the board.
const DefaultPrefix = "/opt/edgecnn"

// File is one file of a bundle.
type File struct {
	Name string      // slash-separated path inside the release
	Mode os.FileMode // permission bits
	Size int64
	Sum  string // hex SHA-256
	src  string // local path, or
	data []byte // contents
}

// Open returns the file's contents.
func (f File) Open() (io.ReadCloser, error) {
	if f.src == "" {
		return io.NopCloser(strings.NewReader(string(f.data))), nil
	}
	return os.Open(f.src)
}

// Spec says what goes into a bundle.
type Spec struct {
	Board   boards.Board
	Binary  string   // edgecnn built for the board
	Libs    []string // shared libraries to ship in lib/ (cgo backends)
	Model   string   // model file (.tflite or .onnx)
	Config  string   // optional config file
	Version string   // release version; "" → "dev"
	Service Service
}

// Bundle is a release ready to install.
type Bundle struct {
	Board   boards.Board
	Version string
	Release string // directory name under PREFIX/releases
	Files   []File // sorted by name; SHA256SUMS excluded
	Sums    []byte // SHA256SUMS contents
	Unit    string // systemd unit text
	Service Service
}

// TotalSize is the sum of the file sizes.
func (b *Bundle) TotalSize() int64 {
	var n int64
	for _, f := range b.Files {
		n += f.Size
	}
	return n + int64(len(b.Sums))
}

// NewBundle hashes the inputs and renders the unit.
func NewBundle(s Spec) (*Bundle, error) {
	if s.Board.Kind != boards.KindBoard {
		return nil, fmt.Errorf("bundle: %s is not a board", s.Board.Name)
	}
	if s.Binary == "" {
		return nil, errors.New("bundle: no binary")
	}
	if s.Model == "" {
		return nil, errors.New("bundle: no model file (--model)")
	}
	svc := s.Service.withDefaults(s.Board)
	b := &Bundle{Board: s.Board, Version: s.Version}
	if b.Version == "" {
		b.Version = "dev"
	}
	add := func(name, src string, mode os.FileMode) error {
		f, err := hashFile(src)
		if err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		f.Name, f.Mode = name, mode
		b.Files = append(b.Files, f)
		return nil
	}
	if err := add("edgecnn", s.Binary, 0o755); err != nil {
		return nil, err
	}
	svc.ModelFile = "model" + strings.ToLower(filepath.Ext(s.Model))
	if err := add(svc.ModelFile, s.Model, 0o644); err != nil {
		return nil, err
	}
	if s.Config != "" {
		svc.ConfigFile = "config" + strings.ToLower(filepath.Ext(s.Config))
		if err := add(svc.ConfigFile, s.Config, 0o644); err != nil {
			return nil, err
		}
	}
	for _, l := range s.Libs {
		if err := add("lib/"+filepath.Base(l), l, 0o644); err != nil {
			return nil, err
		}
	}
	b.Service = svc
	b.Unit = svc.Unit()
	b.Files = append(b.Files, dataFile("edgecnn.service", []byte(b.Unit), 0o644))
	b.Files = append(b.Files, dataFile("sysusers.conf", []byte(svc.Sysusers()), 0o644))
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Name < b.Files[j].Name })
	for i := 1; i < len(b.Files); i++ {
		if b.Files[i].Name == b.Files[i-1].Name {
			return nil, fmt.Errorf("bundle: two files named %s", b.Files[i].Name)
		}
	}
	var sums strings.Builder
	for _, f := range b.Files {
		fmt.Fprintf(&sums, "%s  %s\n", f.Sum, f.Name)
	}
	b.Sums = []byte(sums.String())
	h := sha256.Sum256(b.Sums)
	b.Release = releaseName(b.Version) + "-" + hex.EncodeToString(h[:])[:12]
	return b, nil
}

func releaseName(v string) string {
	v = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' || r == '+' {
			return r
		}
		return '_'
	}, v)
	v = strings.TrimLeft(v, ".")
	if len(v) > 64 {
		v = v[:64]
	}
	if v == "" {
		v = "dev"
	}
	return v
}

func dataFile(name string, data []byte, mode os.FileMode) File {
	h := sha256.Sum256(data)
	return File{Name: name, Mode: mode, Size: int64(len(data)), Sum: hex.EncodeToString(h[:]), data: data}
}

func hashFile(p string) (File, error) {
	f, err := os.Open(p)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return File{}, err
	}
	if !st.Mode().IsRegular() {
		return File{}, fmt.Errorf("%s is not a regular file", p)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", p, err)
	}
	return File{Size: n, Sum: hex.EncodeToString(h.Sum(nil)), src: p}, nil
}

// ParseSums reads SHA256SUMS text into name → hex digest.
func ParseSums(data []byte) (map[string]string, error) {
	m := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || name == "" || path.IsAbs(name) || strings.Contains(name, "..") {
			return nil, fmt.Errorf("%s line %d: malformed", SumsFile, i+1)
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return nil, fmt.Errorf("%s line %d: malformed digest", SumsFile, i+1)
		}
		m[name] = sum
	}
	return m, nil
}

// Service configures the systemd unit.
type Service struct {
	Name     string        // unit name without .service (default "edgecnn")
	Prefix   string        // install prefix (default /opt/edgecnn)
	User     string        // dedicated system user (default "edgecnn")
	Groups   []string      // supplementary groups (default: the board's)
	Backend  string        // runtime backend (default: the board's)
	Camera   string        // camera source (default "auto")
	HTTP     string        // agent listen address (default 127.0.0.1:8080)
	Watchdog time.Duration // WatchdogSec (default 30s)
	Args     []string      // extra arguments for `edgecnn run`

	ModelFile  string // set by NewBundle
	ConfigFile string // set by NewBundle
}

func (s Service) withDefaults(b boards.Board) Service {
	if s.Name == "" {
		s.Name = "edgecnn"
	}
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if s.User == "" {
		s.User = "edgecnn"
	}
	if s.Groups == nil {
		s.Groups = b.Groups
	}
	if s.Backend == "" {
		s.Backend = b.Backend
	}
	if s.Camera == "" {
		s.Camera = "auto"
	}
	if s.HTTP == "" {
		s.HTTP = "127.0.0.1:8080"
	}
	if s.Watchdog == 0 {
		s.Watchdog = 30 * time.Second
	}
	return s
}

// UnitName is the unit file name, e.g. edgecnn.service.
func (s Service) UnitName() string { return s.Name + ".service" }

// Unit renders the systemd unit. It runs the binary through the `current`
// symlink, so switching releases needs no unit change.
func (s Service) Unit() string {
	cur := path.Join(s.Prefix, "current")
	args := []string{path.Join(cur, "edgecnn"), "run",
		"--model", path.Join(cur, s.ModelFile),
		"--backend", s.Backend,
		"--camera", s.Camera, "--wait-camera", // a service may start before its camera appears
		"--http", s.HTTP}
	if s.ConfigFile != "" {
		args = append(args, "--config", path.Join(cur, s.ConfigFile))
	}
	args = append(args, s.Args...)
	for i, a := range args {
		args[i] = unitQuote(a)
	}
	state := "/var/lib/" + s.Name
	var b strings.Builder
	fmt.Fprintf(&b, `# Installed by edgecnn flash; edits are overwritten on the next flash.
[Unit]
Description=edgecnn handwritten-digit recognizer
Documentation=https://github.com/edgecnn/edgecnn/blob/main/docs/deploy.md
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=300
StartLimitBurst=5

[Service]
Type=notify
NotifyAccess=main
User=%s
Group=%s
`, s.User, s.User)
	if len(s.Groups) > 0 {
		fmt.Fprintf(&b, "SupplementaryGroups=%s\n", strings.Join(s.Groups, " "))
	}
	fmt.Fprintf(&b, `ExecStart=%s
WorkingDirectory=%s
Environment=EDGECNN_STATE_DIR=%s
Restart=on-failure
RestartSec=2s
WatchdogSec=%d
TimeoutStartSec=60
StateDirectory=%s
ReadWritePaths=-%s
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
`, strings.Join(args, " "), cur, state, int(s.Watchdog.Round(time.Second)/time.Second), s.Name, state)
	return b.String()
}

// Sysusers renders the systemd-sysusers entry that creates the service user
// (at boot on a fresh SD card, or by `systemd-sysusers` during a flash).
func (s Service) Sysusers() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# edgecnn service user (sysusers.d(5))\nu %s - \"edgecnn recognizer\" /var/lib/%s /usr/sbin/nologin\n", s.User, s.Name)
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "m %s %s\n", s.User, g)
	}
	return b.String()
}

// unitQuote quotes a word for an ExecStart= line.
func unitQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'\\;$%") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
	return `"` + r.Replace(s) + `"`
}
