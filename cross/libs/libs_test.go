package libs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// fakeSpec registers a library "fake" whose npm package is produced by a
// stand-in npm script, so Fetch's whole path runs without the registry.
func fakeSpec(t *testing.T, payload []byte, sum string) (cache string) {
	t.Helper()
	tmp := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range map[string][]byte{
		"package/lib/libfake.so":   payload,
		"package/README.md":        []byte("ignored"),
		"package/include/fake.h":   []byte("#define FAKE 1\n"),
		"package/lib/libother.so":  []byte("other arch"),
		"package/include/other.h2": nil,
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	tgz := filepath.Join(tmp, "fake-1.0.0.tgz")
	if err := os.WriteFile(tgz, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(tmp, "bin")
	os.Mkdir(bin, 0o755)
	// npm pack PKG --silent --pack-destination DIR; counts its calls.
	script := "#!/bin/sh\necho x >> " + filepath.Join(tmp, "calls") + "\ncp " + tgz + " \"$5\"/\n"
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	h := sha256.Sum256([]byte("#define FAKE 1\n"))
	specs["fake"] = spec{npm: "fake@1.0.0", tarball: "fake-1.0.0.tgz", files: map[string][]file{
		"amd64": {
			{"package/lib/libfake.so", "lib/libfake.so", sum},
			{"package/include/fake.h", "include/fake.h", hex.EncodeToString(h[:])},
		},
	}}
	t.Cleanup(func() { delete(specs, "fake") })
	return filepath.Join(tmp, "cache")
}

func TestFetchConcurrentAndIdempotent(t *testing.T) {
	payload := []byte("\x7fELF pretend shared library")
	h := sha256.Sum256(payload)
	cache := fakeSpec(t, payload, hex.EncodeToString(h[:]))
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	errs := make([]error, 8)
	for i := range dirs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			dirs[i], errs[i] = Fetch(context.Background(), cache, "fake", "amd64")
		}(i)
	}
	wg.Wait()
	for i := range dirs {
		if errs[i] != nil {
			t.Fatalf("fetch %d: %v", i, errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Fatalf("fetch %d returned %s, fetch 0 %s", i, dirs[i], dirs[0])
		}
	}
	got, err := os.ReadFile(filepath.Join(dirs[0], "lib", "libfake.so"))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("lib content %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "lib", "libother.so")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unlisted member extracted: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dirs[0]))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary directory left behind: %s", e.Name())
		}
	}
	// Tampering is detected and repaired on the next Fetch.
	os.WriteFile(filepath.Join(dirs[0], "lib", "libfake.so"), []byte("tampered"), 0o644)
	if _, err := Fetch(context.Background(), cache, "fake", "amd64"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(dirs[0], "lib", "libfake.so"))
	if !bytes.Equal(got, payload) {
		t.Fatalf("tampered library not replaced: %q", got)
	}
}

func TestFetchRejectsWrongDigest(t *testing.T) {
	cache := fakeSpec(t, []byte("payload"), strings.Repeat("0", 64))
	_, err := Fetch(context.Background(), cache, "fake", "amd64")
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Fatalf("want digest error, got %v", err)
	}
	if _, err := os.Stat(Dir(cache, "fake", "amd64")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("unverified directory published: %v", err)
	}
}

func TestFetchUnsupported(t *testing.T) {
	for _, c := range [][2]string{{"tensorflow", "amd64"}, {TFLite, "riscv64"}, {ONNXRuntime, "arm"}} {
		_, err := Fetch(context.Background(), t.TempDir(), c[0], c[1])
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("Fetch(%s, %s): %v, want ErrUnsupported", c[0], c[1], err)
		}
	}
}

func TestFetchWithoutNPM(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Fetch(context.Background(), t.TempDir(), TFLite, "amd64")
	if err == nil || !strings.Contains(err.Error(), "apt-get install npm") {
		t.Fatalf("want an error naming npm and its install step, got %v", err)
	}
}
