// Package libs fetches the native libraries of the cgo backends (TensorFlow
// Lite 2.9's C API and ONNX Runtime 1.30) into a cache directory, for the
// host build, the arm64 cross build and the bundles that ship to boards.
//
// Both come from packages on the npm registry, the one source of prebuilt
// Linux amd64 and arm64 binaries reachable here:
//
//	tfjs-tflite-node@0.0.2    cc_deps/linux_{amd64,arm64}/libtensorflowlite_c.so + C headers
//	onnxruntime-node@1.30.0   bin/napi-v6/linux/{x64,arm64}/libonnxruntime.so.1
//
// Fetch runs `npm pack` once per package (the tarball is kept in the cache),
// extracts only the files listed below, checks their SHA-256 against the
// values recorded here and publishes the result with an atomic rename, so
// concurrent runs and interrupted runs never leave a half-written directory.
package libs

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Library names accepted by Fetch.
const (
	TFLite      = "tflite"
	ONNXRuntime = "onnxruntime"
)

// File names of the shared libraries inside a fetched directory's lib/.
const (
	TFLiteLibName = "libtensorflowlite_c.so"
	ORTLibName    = "libonnxruntime.so.1"
)

// Versions of the native libraries (not of the npm packages).
const (
	TFLiteVersion = "2.9"
	ORTVersion    = "1.30.0"
)

// ErrUnsupported reports a library or architecture Fetch does not know.
var ErrUnsupported = errors.New("libs: unsupported")

// file is one member of a package tarball that Fetch extracts.
type file struct {
	src    string // path inside the tarball
	dst    string // path inside the result directory
	sha256 string // expected digest, hex
}

// spec describes where one library comes from.
type spec struct {
	npm     string // package@version for npm pack
	tarball string // file name npm pack writes
	files   map[string][]file
}

var tfliteHeaders = []file{
	{"package/cc_deps/include/tensorflow/lite/c/c_api.h", "include/tensorflow/lite/c/c_api.h",
		"7b4b0e05b9d82a9c9bdc75d83e5fb12c09686a3ee0f73e7686706ee5762faae5"},
	{"package/cc_deps/include/tensorflow/lite/c/c_api_types.h", "include/tensorflow/lite/c/c_api_types.h",
		"1ad66312ea5f89471436b77d9395f747ee789a6a7afecacf0214ce0bfa16c4cd"},
	{"package/cc_deps/include/tensorflow/lite/c/common.h", "include/tensorflow/lite/c/common.h",
		"b19c1f2ae6fd049ed159fc857e4d0e214d72fe6c0a12e69739078c01a5a7e5be"},
}

// specs are the libraries and the SHA-256 digests observed for them.
var specs = map[string]spec{
	TFLite: {
		npm:     "tfjs-tflite-node@0.0.2",
		tarball: "tfjs-tflite-node-0.0.2.tgz",
		files: map[string][]file{
			"amd64": append([]file{{"package/cc_deps/linux_amd64/libtensorflowlite_c.so", "lib/" + TFLiteLibName,
				"dc89b4cd86d956516570bd483668e6dd98907f49901d0567dedc69a29a56b7f7"}}, tfliteHeaders...),
			"arm64": append([]file{{"package/cc_deps/linux_arm64/libtensorflowlite_c.so", "lib/" + TFLiteLibName,
				"ec0dee4fb3418e680d010248ac1e304d9656cc5c8de54caaf91d666712e2f633"}}, tfliteHeaders...),
		},
	},
	ONNXRuntime: {
		npm:     "onnxruntime-node@1.30.0",
		tarball: "onnxruntime-node-1.30.0.tgz",
		files: map[string][]file{
			"amd64": {{"package/bin/napi-v6/linux/x64/libonnxruntime.so.1", "lib/" + ORTLibName,
				"ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23"}},
			"arm64": {{"package/bin/napi-v6/linux/arm64/libonnxruntime.so.1", "lib/" + ORTLibName,
				"1f549d46250b005580b597f4164984aaf75b3bcb9f3aeb07c7f8a8fe60b23c76"}},
		},
	},
}

// Libraries lists the names Fetch accepts.
func Libraries() []string {
	var ns []string
	for n := range specs {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// Dir is where Fetch puts lib for goarch under cacheDir:
// cacheDir/<lib>/linux-<goarch>, holding lib/ and include/.
func Dir(cacheDir, lib, goarch string) string {
	return filepath.Join(cacheDir, lib, "linux-"+goarch)
}

// Fetch makes sure the native library lib ("tflite" or "onnxruntime") for
// Linux on goarch ("amd64" or "arm64") is in cacheDir and returns its
// directory (see Dir), which holds lib/ (the shared library) and include/
// (C headers, TFLite only). A directory already present is re-verified; one
// that fails verification is replaced. Safe to run concurrently.
func Fetch(ctx context.Context, cacheDir, lib, goarch string) (string, error) {
	sp, ok := specs[lib]
	if !ok {
		return "", fmt.Errorf("%w library %q (have %v)", ErrUnsupported, lib, Libraries())
	}
	files, ok := sp.files[goarch]
	if !ok {
		return "", fmt.Errorf("%w architecture %q for %s (have amd64, arm64)", ErrUnsupported, goarch, lib)
	}
	abs, err := filepath.Abs(cacheDir)
	if err != nil {
		return "", fmt.Errorf("libs: %w", err)
	}
	dir := Dir(abs, lib, goarch)
	if verify(dir, files) == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("libs: %w", err)
	}
	tgz, err := pack(ctx, abs, sp)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-"+filepath.Base(dir)+"-")
	if err != nil {
		return "", fmt.Errorf("libs: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return "", fmt.Errorf("libs: %w", err)
	}
	if err := extract(ctx, tgz, tmp, files); err != nil {
		// A corrupt cached tarball must not poison later runs.
		os.Remove(tgz)
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "include"), 0o755); err != nil {
		return "", fmt.Errorf("libs: %w", err)
	}
	if lib == ONNXRuntime {
		// Linkers and dlopen users that ask for the unversioned name.
		if err := os.Symlink(ORTLibName, filepath.Join(tmp, "lib", "libonnxruntime.so")); err != nil {
			return "", fmt.Errorf("libs: %w", err)
		}
	}
	return dir, publish(tmp, dir, files)
}

// publish renames the finished tmp over dir. If another process won the
// race with a good directory, tmp is dropped; a bad one is replaced.
func publish(tmp, dir string, files []file) error {
	if err := os.Rename(tmp, dir); err == nil {
		return nil
	}
	if verify(dir, files) == nil {
		return nil // a concurrent Fetch finished first
	}
	old := dir + ".old-" + filepath.Base(tmp)
	if err := os.Rename(dir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("libs: replacing %s: %w", dir, err)
	}
	defer os.RemoveAll(old)
	if err := os.Rename(tmp, dir); err != nil {
		if verify(dir, files) == nil {
			return nil
		}
		return fmt.Errorf("libs: publishing %s: %w", dir, err)
	}
	return nil
}

// verify checks every file of dir against its recorded digest.
func verify(dir string, files []file) error {
	for _, f := range files {
		if err := checkSum(filepath.Join(dir, filepath.FromSlash(f.dst)), f.sha256); err != nil {
			return err
		}
	}
	return nil
}

func checkSum(p, want string) error {
	fh, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("libs: %w", err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return fmt.Errorf("libs: reading %s: %w", p, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("libs: %s: SHA-256 %s, want %s", p, got, want)
	}
	return nil
}

// pack returns the cached npm tarball of sp, running `npm pack` into a
// private directory and renaming the result into place when it is missing.
func pack(ctx context.Context, cacheDir string, sp spec) (string, error) {
	npmDir := filepath.Join(cacheDir, "npm")
	dst := filepath.Join(npmDir, sp.tarball)
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(npmDir, 0o755); err != nil {
		return "", fmt.Errorf("libs: %w", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("libs: npm is needed to download %s (install it: apt-get install npm): %w", sp.npm, err)
	}
	tmp, err := os.MkdirTemp(npmDir, ".pack-")
	if err != nil {
		return "", fmt.Errorf("libs: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, npm, "pack", sp.npm, "--silent", "--pack-destination", tmp)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("libs: npm pack %s: %w\n%s", sp.npm, err, strings.TrimSpace(string(out)))
	}
	if err := os.Rename(filepath.Join(tmp, sp.tarball), dst); err != nil {
		return "", fmt.Errorf("libs: npm pack %s did not produce %s: %w", sp.npm, sp.tarball, err)
	}
	return dst, nil
}

// extract copies the wanted members of the tarball tgz into dir, checking
// each digest while writing.
func extract(ctx context.Context, tgz, dir string, files []file) error {
	want := map[string]file{}
	for _, f := range files {
		want[f.src] = f
	}
	fh, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("libs: %w", err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		return fmt.Errorf("libs: %s: %w", tgz, err)
	}
	tr := tar.NewReader(zr)
	for len(want) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("libs: %s: %w", tgz, err)
		}
		f, ok := want[path.Clean(hdr.Name)]
		if !ok || hdr.Typeflag != tar.TypeReg {
			continue
		}
		delete(want, f.src)
		if err := writeMember(tr, filepath.Join(dir, filepath.FromSlash(f.dst)), f.sha256); err != nil {
			return err
		}
	}
	for src := range want {
		return fmt.Errorf("libs: %s has no %s", tgz, src)
	}
	return nil
}

func writeMember(r io.Reader, dst, sum string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("libs: %w", err)
	}
	perm := os.FileMode(0o644)
	if strings.HasSuffix(dst, ".so") || strings.Contains(filepath.Base(dst), ".so.") {
		perm = 0o755
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("libs: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, h), r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("libs: writing %s: %w", dst, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("libs: %s: SHA-256 %s, want %s (the npm package changed?)", filepath.Base(dst), got, sum)
	}
	return nil
}
