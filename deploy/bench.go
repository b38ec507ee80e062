package deploy

import (
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// RemoteBench ships binary and model to a temporary directory on the board
// behind c, runs `edgecnn bench --model MODEL --json ARGS...` there and
// returns its standard output (the board's figures as JSON). A .onnx twin
// beside a .tflite model and a lib/ folder beside the binary (cgo builds of
// package cross) go along. The temporary directory is removed afterwards.
// The binary must be built for the board: an ELF for another architecture
// is refused before anything is sent.
func RemoteBench(ctx context.Context, c *Conn, binaryPath, modelPath string, args []string) (string, error) {
	if binaryPath == "" || modelPath == "" {
		return "", errors.New("remote bench: binary and model are required")
	}
	if want := elfArch(binaryPath); want != "" {
		m, err := c.Run(ctx, "uname -m")
		if err != nil {
			return "", fmt.Errorf("remote bench: %w", err)
		}
		if got, ok := archNames[strings.TrimSpace(m)]; ok && got != want {
			return "", fmt.Errorf("remote bench: %s is built for %s but %s is %s: build it for the board (edgecnn build --board …)", binaryPath, want, c.Target, got)
		}
	}
	out, err := c.Run(ctx, "mktemp -d /tmp/edgecnn-bench.XXXXXX")
	if err != nil {
		return "", fmt.Errorf("remote bench: %w", err)
	}
	dir := strings.TrimSpace(out)
	if !strings.HasPrefix(dir, "/tmp/edgecnn-bench.") {
		return "", fmt.Errorf("remote bench: unexpected mktemp output %q", out)
	}
	defer c.Run(context.WithoutCancel(ctx), "rm -rf "+shq(dir))
	f := sftpFS{c.SFTP}
	bin := path.Join(dir, "edgecnn")
	model := path.Join(dir, "model"+strings.ToLower(filepath.Ext(modelPath)))
	type upload struct {
		src, dst string
		mode     os.FileMode
	}
	ups := []upload{{binaryPath, bin, 0o755}, {modelPath, model, 0o644}}
	// The .onnx twin beside a .tflite model (for the onnxruntime row).
	if ext := filepath.Ext(modelPath); strings.EqualFold(ext, ".tflite") {
		if twin := strings.TrimSuffix(modelPath, ext) + ".onnx"; isFile(twin) {
			ups = append(ups, upload{twin, path.Join(dir, "model.onnx"), 0o644})
		}
	}
	// lib/ beside the binary (cgo builds from package cross).
	libDir := filepath.Join(filepath.Dir(binaryPath), "lib")
	if ents, err := os.ReadDir(libDir); err == nil {
		if err := f.MkdirAll(path.Join(dir, "lib")); err != nil {
			return "", fmt.Errorf("remote bench: %w", err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() {
				ups = append(ups, upload{filepath.Join(libDir, e.Name()), path.Join(dir, "lib", e.Name()), 0o644})
			}
		}
	}
	for _, x := range ups {
		r, err := os.Open(x.src)
		if err != nil {
			return "", fmt.Errorf("remote bench: %w", err)
		}
		_, err = f.WriteNew(x.dst, x.mode, r)
		r.Close()
		if err != nil {
			return "", fmt.Errorf("remote bench: upload %s: %w", x.src, err)
		}
	}
	cmd := []string{shq(bin), "bench", "--model", shq(model), "--json"}
	for _, a := range args {
		cmd = append(cmd, shq(a))
	}
	out, err = c.Run(ctx, strings.Join(cmd, " "))
	if err != nil {
		return out, fmt.Errorf("remote bench on %s: %w", c.Target, err)
	}
	return out, nil
}

// RemoteBenchTarget is RemoteBench with its own connection.
func RemoteBenchTarget(ctx context.Context, t Target, o SSHOptions, binaryPath, modelPath string, args []string) (string, error) {
	c, err := Dial(ctx, t, o)
	if err != nil {
		return "", err
	}
	defer c.Close()
	return RemoteBench(ctx, c, binaryPath, modelPath, args)
}

// elfArch is the GOARCH of an ELF executable ("" when not ELF or unknown).
func elfArch(p string) string {
	f, err := elf.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	switch f.Machine {
	case elf.EM_AARCH64:
		return "arm64"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_X86_64:
		return "amd64"
	case elf.EM_386:
		return "386"
	}
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
