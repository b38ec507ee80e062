// Package cross turns a board of the table (package boards) into a build
// of edgecnn: GOOS/GOARCH/GOARM, build tags, the Debian C cross-compiler
// for cgo backends, and the backend's shared library (fetched once by
// package cross/libs) bundled in lib/ beside the binary, which finds it
// through the rpath $ORIGIN/lib.
//
// Builds are cached by their inputs: the SHA-256 of every source file of
// the module's packages that go into the binary (as `go list -deps`
// reports them for the target), go.mod and go.sum, the Go version, the
// environment, tags, ldflags and bundled libraries. A second build with
// the same inputs is a cache hit and runs no compiler.
package cross

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross/libs"
	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// Backends a build can include besides the always-present native engine.
const (
	BackendNative      = "native"
	BackendTFLite      = "tflite"
	BackendONNXRuntime = "onnxruntime"
)

// Request describes one build.
type Request struct {
	Board boards.Board
	// Backends are cgo backends to compile in: "tflite", "onnxruntime"
	// (both allowed). Empty or "native" alone: the pure-Go static build.
	Backends []string
	// ModuleRoot is the directory holding go.mod ("" finds it from the
	// working directory upwards).
	ModuleRoot string
	// Package is the main package (default ./cmd/edgecnn).
	Package string
	// Version is stamped into main.version ("" → git describe, else "dev").
	Version string
	// CacheDir holds builds (CacheDir/build) and libraries (CacheDir/libs);
	// "" → ModuleRoot/.cache.
	CacheDir string
	// LibsDir is the cross/libs cache ("" → CacheDir/libs).
	LibsDir string
	// Out, if set, receives a copy: Out/edgecnn and Out/lib/*.
	Out string
	// Go is the go command (default "go").
	Go  string
	Log io.Writer
}

// Result is a finished (or cached) build.
type Result struct {
	Board    string
	Binary   string   // path of the binary (in Out when set, else in the cache)
	Libs     []string // bundled shared libraries
	Dir      string   // the cache directory of this build
	Key      string   // hex SHA-256 of the inputs
	CacheHit bool
	Version  string
	Env      []string // the build environment (relevant variables)
	Tags     []string
	Duration time.Duration
}

// ModuleRoot walks up from dir to the directory holding go.mod.
func ModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if mod := modulePath(data); mod != Module {
				return "", fmt.Errorf("%s/go.mod is module %q, not %s: run edgecnn build inside the edgecnn source tree (or set %s)", d, mod, Module, SourceEnv)
			}
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod above %s: run edgecnn build inside the edgecnn source tree (or set %s)", dir, SourceEnv)
		}
		d = parent
	}
}

// Module is the module path of edgecnn's source tree; ModuleRoot and
// SourceTree accept no other, so a build never compiles someone else's
// module.
const Module = "github.com/edgecnn/edgecnn"

// SourceEnv names the environment variable that points at the edgecnn
// source tree for cross builds.
const SourceEnv = "EDGECNN_SRC"

// modulePath is the module directive of a go.mod file.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// SourceTree finds the edgecnn source tree to cross-build from, in order:
// $EDGECNN_SRC; the tree the running binary lives in (make build writes
// bin/edgecnn inside it), found from the executable's path, not the
// working directory; then the working directory's enclosing module. Each
// candidate must be the edgecnn module.
func SourceTree() (string, error) {
	if dir := os.Getenv(SourceEnv); dir != "" {
		return ModuleRoot(dir)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			if root, err := ModuleRoot(filepath.Dir(exe)); err == nil {
				return root, nil
			}
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return ModuleRoot(wd)
}

// BoardTags are the build tags of every binary built for a board.
var BoardTags = []string{"board", "urfave_cli_no_docs"}

// Plan is the environment, tags and libraries of a build, without running it.
type Plan struct {
	Env     []string // KEY=VALUE to add to the environment
	Tags    []string
	LDFlags string
	Libs    []string // library files to bundle
	// Inputs are extra files whose content is part of the cache key
	// (headers outside the module's packages, the libraries).
	Inputs []string
}

// MakePlan works out how to build for req.Board. It fetches the backend
// libraries into the cache when a cgo backend is asked for.
func MakePlan(ctx context.Context, req Request, root, cacheDir, version string) (Plan, error) {
	b := req.Board
	var p Plan
	if b.Kind != boards.KindBoard || b.GOARCH == "" {
		return p, fmt.Errorf("cross: %s is not a board that runs edgecnn", b.Name)
	}
	if b.GOARCH == "arm" && b.GOARM == "" {
		return p, fmt.Errorf("cross: board %s: GOARM must be explicit for arm", b.Name)
	}
	p.Env = []string{"GOOS=" + b.GOOS, "GOARCH=" + b.GOARCH}
	if b.GOARM != "" {
		p.Env = append(p.Env, "GOARM="+b.GOARM)
	}
	p.LDFlags = "-s -w -X main.version=" + version
	// BoardTags select the on-device command set: the host-only nouns
	// (train, quantize, export, inspect, build, flash, data, eval) and
	// urfave/cli's man-page generator are left out of board binaries.
	p.Tags = append(p.Tags, BoardTags...)
	backends, err := normalizeBackends(req.Backends)
	if err != nil {
		return p, err
	}
	if len(backends) == 0 {
		p.Env = append(p.Env, "CGO_ENABLED=0")
		return p, nil
	}
	// cgo: the board's C compiler and the libraries.
	p.Env = append(p.Env, "CGO_ENABLED=1")
	if b.GOARCH != runtime.GOARCH || b.GOOS != runtime.GOOS {
		cc := b.CCTriple + "-gcc"
		if _, err := exec.LookPath(cc); err != nil {
			return p, fmt.Errorf("cross: %s needs the C cross-compiler %s for cgo backends: apt-get install gcc-%s (or build --backend native): %w",
				b.Name, cc, b.CCTriple, err)
		}
		p.Env = append(p.Env, "CC="+cc)
	}
	var cflags, ldflags []string
	for _, be := range backends {
		libsDir := req.LibsDir
		if libsDir == "" {
			libsDir = filepath.Join(cacheDir, "libs")
		}
		dir, err := libs.Fetch(ctx, libsDir, be, b.GOARCH)
		if err != nil {
			if errors.Is(err, libs.ErrUnsupported) {
				return p, fmt.Errorf("cross: no prebuilt %s library for %s (%s): use --backend native: %w", be, b.Name, b.Triple(), err)
			}
			return p, fmt.Errorf("cross: %w", err)
		}
		libDir := filepath.Join(dir, "lib")
		ents, err := os.ReadDir(libDir)
		if err != nil {
			return p, fmt.Errorf("cross: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				p.Libs = append(p.Libs, filepath.Join(libDir, e.Name()))
			}
		}
		p.Tags = append(p.Tags, be)
		if be == BackendTFLite {
			inc := filepath.Join(root, "third_party", "tflite-include")
			cflags = append(cflags, "-I"+inc, "-I"+filepath.Join(dir, "include"))
			ldflags = append(ldflags, "-L"+libDir)
			hdrs, _ := filepath.Glob(filepath.Join(inc, "tensorflow", "lite", "c", "*.h"))
			p.Inputs = append(p.Inputs, hdrs...)
		}
	}
	p.Inputs = append(p.Inputs, p.Libs...)
	if len(cflags) > 0 {
		p.Env = append(p.Env, "CGO_CFLAGS=-O2 "+strings.Join(cflags, " "))
	}
	if len(ldflags) > 0 {
		p.Env = append(p.Env, "CGO_LDFLAGS="+strings.Join(ldflags, " "))
	}
	p.LDFlags += ` -extldflags '-Wl,-rpath,$ORIGIN/lib'`
	return p, nil
}

func normalizeBackends(in []string) ([]string, error) {
	set := map[string]bool{}
	for _, s := range in {
		for _, be := range strings.Split(s, ",") {
			be = strings.TrimSpace(strings.ToLower(be))
			switch be {
			case "", BackendNative:
			case BackendTFLite, BackendONNXRuntime:
				set[be] = true
			case "all":
				set[BackendTFLite], set[BackendONNXRuntime] = true, true
			default:
				return nil, fmt.Errorf("cross: unknown backend %q (native, tflite, onnxruntime)", be)
			}
		}
	}
	var out []string
	for be := range set {
		out = append(out, be)
	}
	sort.Strings(out)
	return out, nil
}

// GitVersion is `git describe --always --dirty` in root, or "dev".
func GitVersion(root string) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v
	}
	return "dev"
}

// Build builds (or reuses) the binary for req.
func Build(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	logw := req.Log
	if logw == nil {
		logw = io.Discard
	}
	goCmd := req.Go
	if goCmd == "" {
		goCmd = "go"
	}
	root := req.ModuleRoot
	if root == "" {
		var err error
		if root, err = SourceTree(); err != nil {
			return nil, fmt.Errorf("cross: %w", err)
		}
	}
	root, _ = filepath.Abs(root)
	pkg := req.Package
	if pkg == "" {
		pkg = "./cmd/edgecnn"
	}
	cacheDir := req.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(root, ".cache")
	}
	cacheDir, _ = filepath.Abs(cacheDir)
	version := req.Version
	if version == "" {
		version = GitVersion(root)
	}
	plan, err := MakePlan(ctx, req, root, cacheDir, version)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), plan.Env...)
	tags := strings.Join(plan.Tags, ",")

	key, err := inputKey(ctx, goCmd, root, pkg, env, plan, tags)
	if err != nil {
		return nil, err
	}
	res := &Result{Board: req.Board.Name, Key: key, Version: version, Env: plan.Env, Tags: plan.Tags}
	res.Dir = filepath.Join(cacheDir, "build", key[:32])
	name := "edgecnn"
	if req.Board.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(res.Dir, name)
	if _, err := os.Stat(filepath.Join(res.Dir, ".complete")); err == nil {
		res.CacheHit = true
		fmt.Fprintf(logw, "cache hit %s (%s)\n", key[:12], res.Dir)
	} else {
		fmt.Fprintf(logw, "building %s for %s (%s) %s\n", pkg, req.Board.Name, req.Board.Triple(), strings.Join(plan.Env, " "))
		b := goBuild{goCmd: goCmd, root: root, pkg: pkg, env: env, tags: tags, plan: plan}
		if err := b.into(ctx, res.Dir, name, key); err != nil {
			return nil, err
		}
	}
	res.Binary = bin
	for _, l := range plan.Libs {
		res.Libs = append(res.Libs, filepath.Join(res.Dir, "lib", filepath.Base(l)))
	}
	if req.Out != "" {
		if err := res.copyOut(req.Out, name); err != nil {
			return nil, err
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// goBuild is one `go build` of the package for a plan.
type goBuild struct {
	goCmd, root, pkg string
	env              []string // the whole environment of the go command
	tags             string   // comma-separated build tags
	plan             Plan
}

// into builds the binary name and its libraries into a temporary
// directory beside dir, marks it complete (with key) and renames it to
// dir, so dir is either absent, an incomplete earlier attempt (replaced)
// or complete.
func (b goBuild) into(ctx context.Context, dir, name, key string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("cross: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-"+key[:12]+"-")
	if err != nil {
		return fmt.Errorf("cross: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"build", "-trimpath", "-buildvcs=false", "-ldflags", b.plan.LDFlags, "-o", filepath.Join(tmp, name)}
	if b.tags != "" {
		args = append(args, "-tags", b.tags)
	}
	args = append(args, b.pkg)
	cmd := exec.CommandContext(ctx, b.goCmd, args...)
	cmd.Dir, cmd.Env = b.root, b.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cross: go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	if len(b.plan.Libs) > 0 {
		if err := os.MkdirAll(filepath.Join(tmp, "lib"), 0o755); err != nil {
			return fmt.Errorf("cross: %w", err)
		}
		for _, l := range b.plan.Libs {
			if err := copyFile(l, filepath.Join(tmp, "lib", filepath.Base(l)), 0o644); err != nil {
				return err
			}
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(key+"\n"), 0o644); err != nil {
		return fmt.Errorf("cross: %w", err)
	}
	os.RemoveAll(dir) // an incomplete earlier attempt
	if err := os.Rename(tmp, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr != nil {
			return fmt.Errorf("cross: %w", err)
		}
	}
	return nil
}

// copyOut copies the binary (named name) and its libraries (lib/) into
// the directory out and points the result at the copies.
func (res *Result) copyOut(out, name string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("cross: %w", err)
	}
	bin := res.Binary
	res.Binary = filepath.Join(out, name)
	if err := copyFile(bin, res.Binary, 0o755); err != nil {
		return err
	}
	var outLibs []string
	for _, l := range res.Libs {
		dst := filepath.Join(out, "lib", filepath.Base(l))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("cross: %w", err)
		}
		if err := copyFile(l, dst, 0o644); err != nil {
			return err
		}
		outLibs = append(outLibs, dst)
	}
	res.Libs = outLibs
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("cross: %w", err)
	}
	defer f.Close()
	if err := atomicfile.Write(dst, mode, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	}); err != nil {
		return fmt.Errorf("cross: %w", err)
	}
	return nil
}

// listPkg is the part of `go list -json` the cache key needs.
type listPkg struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *struct {
		Path    string
		Version string
		Main    bool
		Replace *struct{ Path, Version, Dir string }
	}
	GoFiles, CgoFiles, CFiles, CXXFiles, HFiles, SFiles, SysoFiles, EmbedFiles []string
}

// inputKey hashes everything the build depends on.
func inputKey(ctx context.Context, goCmd, root, pkg string, env []string, plan Plan, tags string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "edgecnn-cross-v1\npkg=%s\ntags=%s\nldflags=%s\n", pkg, tags, plan.LDFlags)
	for _, e := range plan.Env {
		fmt.Fprintf(h, "env %s\n", e)
	}
	ver, err := exec.CommandContext(ctx, goCmd, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("cross: go env: %w", err)
	}
	fmt.Fprintf(h, "go %s", ver)
	for _, e := range env {
		if strings.HasPrefix(e, "GOFLAGS=") || strings.HasPrefix(e, "GOEXPERIMENT=") || strings.HasPrefix(e, "GOAMD64=") || strings.HasPrefix(e, "GOARM64=") {
			fmt.Fprintf(h, "env %s\n", e)
		}
	}
	args := []string{"list", "-deps", "-json"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir, cmd.Env = root, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cross: go list %s: %w\n%s", pkg, err, strings.TrimSpace(stderr.String()))
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listPkg
		if err := dec.Decode(&p); err != nil {
			return "", fmt.Errorf("cross: go list output: %w", err)
		}
		if p.Standard {
			continue
		}
		if p.Module == nil || p.Module.Main || (p.Module.Replace != nil && p.Module.Replace.Version == "") {
			// Source in this tree (or a local replacement): hash the files.
			fmt.Fprintf(h, "pkg %s\n", p.ImportPath)
			var files []string
			for _, l := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.HFiles, p.SFiles, p.SysoFiles, p.EmbedFiles} {
				files = append(files, l...)
			}
			sort.Strings(files)
			for _, f := range files {
				if err := hashInto(h, filepath.Join(p.Dir, f), f); err != nil {
					return "", err
				}
			}
			continue
		}
		v := p.Module.Version
		if p.Module.Replace != nil {
			v = p.Module.Replace.Path + "@" + p.Module.Replace.Version
		}
		fmt.Fprintf(h, "dep %s %s@%s\n", p.ImportPath, p.Module.Path, v)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := hashInto(h, filepath.Join(root, f), f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	for _, f := range plan.Inputs {
		if err := hashInto(h, f, filepath.Base(f)); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashInto(h io.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fh := sha256.New()
	if _, err := io.Copy(fh, f); err != nil {
		return fmt.Errorf("cross: hash %s: %w", path, err)
	}
	fmt.Fprintf(h, "file %s %x\n", name, fh.Sum(nil))
	return nil
}

// OutDir is the output folder of board's build among n boards: out, or
// bin/BOARD when out is empty, or out/BOARD for several boards.
func OutDir(out, board string, n int) string {
	switch {
	case out == "":
		return filepath.Join("bin", board)
	case n > 1:
		return filepath.Join(out, board)
	}
	return out
}
