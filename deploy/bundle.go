// Package deploy delivers edgecnn to boards: it makes a bundle (binary,
// bundled shared libraries, model, config, systemd unit, sysusers entry and
// SHA256SUMS), installs it into a versioned release directory on the board
// over SSH/SFTP (or into a mounted SD-card root filesystem), switches the
// `current` symlink atomically, restarts the service, checks its health and
// rolls back to the previous release when the new one does not come up.
//
// Layout on the board (PREFIX defaults to /opt/edgecnn):
//
//	PREFIX/releases/<version>-<hash>/{edgecnn,lib/,model.tflite,judge.tflite,config.*,edgecnn.service,sysusers.conf,SHA256SUMS}
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
	Judge   string   // optional segmentation judge, shipped as judge<ext> beside the model (JudgeFileName)
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
	// RollbackUnit is the unit the service's OnFailure= starts (board-side
	// rollback; it runs the release's edgecnn-rollback script).
	RollbackUnit string
	Service      Service
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
	if s.Judge != "" {
		name, err := JudgeFileName(s.Model, s.Judge)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		svc.JudgeFile = name
		if err := add(name, s.Judge, 0o644); err != nil {
			return nil, err
		}
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
	unit, err := svc.renderUnit(s.Board)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	rollback, err := svc.renderRollbackUnit()
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	b.Unit, b.RollbackUnit = unit, rollback
	b.Files = append(b.Files, dataFile("edgecnn.service", []byte(b.Unit), 0o644))
	b.Files = append(b.Files, dataFile("edgecnn-rollback.service", []byte(b.RollbackUnit), 0o644))
	b.Files = append(b.Files, dataFile(RollbackScript, []byte(rollbackScript), 0o755))
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
	Name string // unit name without .service (default "edgecnn")
	// Prefix is the install prefix (default /opt/edgecnn).
	Prefix  string   `flag:"prefix" default:"/opt/edgecnn" usage:"install prefix on the board"`
	User    string   // dedicated system user (default "edgecnn")
	Groups  []string // supplementary groups (default: the board's)
	Backend string   // runtime backend (default: the board's)
	// Camera is the camera source (default "auto").
	Camera string `flag:"camera" default:"auto" usage:"camera source for the service"`
	// HTTP is the agent's listen address (default 127.0.0.1:8080).
	HTTP string `flag:"http" default:"127.0.0.1:8080" usage:"the service's HTTP listen address"`
	// HealthHTTP is the address of the agent's health responder (`run
	// --health-http`), which answers /healthz at once however busy the API
	// is; the health gate and flash's check ask it. "" derives it from
	// HTTP: loopback, the next port (127.0.0.1:8081); "-": none, they ask
	// the API's own /healthz.
	HealthHTTP string        `flag:"health-http" usage:"the service's health responder address (run --health-http), asked by the health checks (default: loopback, the --http port + 1; - for none)"`
	Watchdog   time.Duration // WatchdogSec (default 30s)
	Args       []string      // extra arguments for `edgecnn run`
	// Devices are extra DeviceAllow= entries ("char-CLASS rw", "/dev/PATH
	// rw") beyond those derived from the camera, GPIO and accelerators.
	Devices []string
	// MemoryMax is the unit's MemoryMax= ("" derives it from the board's
	// RAM: half of its smallest variant, or 50% when unknown).
	MemoryMax string `flag:"memory-max" usage:"the unit's MemoryMax= (default: half the board's smallest RAM variant, or 50%)"`
	// RollbackAfter is how many failed starts in a row make the board roll
	// back to the last good release on its own (StartLimitBurst=;
	// default 3).
	RollbackAfter int `flag:"rollback-after" default:"3" usage:"failed starts after which the board rolls back to the last good release on its own"`
	// HealthTimeout bounds the board-side health gate (ExecStartPost=
	// edgecnn healthcheck) of each start (default 30s).
	HealthTimeout time.Duration `flag:"health-timeout" default:"30s" usage:"how long the new release has to become healthy"`

	ModelFile  string // set by NewBundle
	JudgeFile  string // set by NewBundle ("": no judge)
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
	if s.HealthHTTP == "" {
		s.HealthHTTP = DefaultHealthHTTP(s.HTTP)
	}
	if s.Watchdog == 0 {
		s.Watchdog = 30 * time.Second
	}
	if s.MemoryMax == "" {
		s.MemoryMax = memoryMax(b)
	}
	if s.RollbackAfter == 0 {
		s.RollbackAfter = 3
	}
	if s.HealthTimeout == 0 {
		s.HealthTimeout = 30 * time.Second
	}
	return s
}

// UnitName is the unit file name, e.g. edgecnn.service.
func (s Service) UnitName() string { return s.Name + ".service" }

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
