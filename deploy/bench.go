package deploy

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// RemoteBench ships binary and model to a temporary directory on the board
// behind c, runs `edgecnn bench --model MODEL --json ARGS...` there and
// returns its standard output (the board's figures as JSON). The temporary
// directory is removed afterwards. The binary must be built for the board
// (see package cross).
func RemoteBench(ctx context.Context, c *Conn, binaryPath, modelPath string, args []string) (string, error) {
	if binaryPath == "" || modelPath == "" {
		return "", errors.New("remote bench: binary and model are required")
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
	for _, x := range []struct {
		src, dst string
		mode     uint32
	}{{binaryPath, bin, 0o755}, {modelPath, model, 0o644}} {
		file, err := hashFile(x.src)
		if err != nil {
			return "", fmt.Errorf("remote bench: %w", err)
		}
		r, err := file.Open()
		if err != nil {
			return "", fmt.Errorf("remote bench: %w", err)
		}
		_, err = f.WriteNew(x.dst, fsMode(x.mode), r)
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
