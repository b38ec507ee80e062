package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/boards"
)

// writeTree creates files (relative path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPullIncremental pulls a collection directory from a board over the
// real sshd: everything arrives byte for byte, a second pull transfers
// nothing, a changed file (same size) is found by checksum, a file only
// touched is verified without transfer, temporary files and links are
// left behind.
func TestPullIncremental(t *testing.T) {
	b := newTestBoard(t)
	remote := filepath.Join(b.dir, "var", "lib", "edgecnn", "collect")
	files := map[string]string{
		"inbox/20261204T200000.000000Z-000001.json":       `{"id":"20261204T200000.000000Z-000001"}`,
		"inbox/20261204T200000.000000Z-000001.jpg":        strings.Repeat("J", 70000),
		"inbox/20261204T200000.000000Z-000001-0.png":      "PNG-crop-0",
		"skipped/20261204T195900.000000Z-000007-0.png":    "PNG-skipped",
		"labelled/7/20261204T195800.000000Z-000003-0.png": "PNG-seven",
		"labelled/x/20261204T195800.000000Z-000004-0.png": "PNG-not-a-digit",
	}
	writeTree(t, remote, files)
	writeTree(t, remote, map[string]string{"inbox/.20261204T200001.000000Z-000002.jpg.tmp-123": "partial"})
	if err := os.Symlink("/etc/passwd", filepath.Join(remote, "inbox", "link.png")); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "field")
	c := b.dial(t)
	ctx := context.Background()

	res, err := Pull(ctx, c, remote, local, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != len(files) || res.Fetched != len(files) || res.Skipped != 0 {
		t.Fatalf("first pull %+v, want %d files fetched", res, len(files))
	}
	check := func() {
		t.Helper()
		for rel, data := range files {
			got, err := os.ReadFile(filepath.Join(local, filepath.FromSlash(rel)))
			if err != nil || string(got) != data {
				t.Fatalf("%s: %v (%d bytes, want %d)", rel, err, len(got), len(data))
			}
		}
	}
	check()
	var extra []string
	filepath.Walk(local, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if rel, _ := filepath.Rel(local, p); files[filepath.ToSlash(rel)] == "" {
				extra = append(extra, rel)
			}
		}
		return nil
	})
	if len(extra) > 0 {
		t.Fatalf("pulled files that are not collected frames: %v", extra)
	}

	// Second pull: nothing moves.
	before := c.BytesReceived()
	res, err = Pull(ctx, c, remote, local, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fetched != 0 || res.Skipped != len(files) || res.Bytes != 0 {
		t.Fatalf("second pull %+v, want 0 fetched", res)
	}
	if got := c.BytesReceived() - before; got > 20000 {
		t.Fatalf("second pull received %d bytes on the wire for a directory listing", got)
	}

	// New frame, a same-size change (other content, later time) and a
	// touch (same content, other time).
	files["inbox/20261204T200100.000000Z-000005-0.png"] = "PNG-new"
	files["labelled/7/20261204T195800.000000Z-000003-0.png"] = "PNG-SEVEN"
	writeTree(t, remote, map[string]string{
		"inbox/20261204T200100.000000Z-000005-0.png":      "PNG-new",
		"labelled/7/20261204T195800.000000Z-000003-0.png": "PNG-SEVEN",
	})
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(remote, "labelled/7/20261204T195800.000000Z-000003-0.png"), later, later)
	os.Chtimes(filepath.Join(remote, "inbox/20261204T200000.000000Z-000001.jpg"), later, later)
	res, err = Pull(ctx, c, remote, local, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fetched != 2 || res.Verified != 1 || res.Bytes != int64(len("PNG-new")+len("PNG-SEVEN")) {
		t.Fatalf("third pull %+v, want the new and the changed file fetched, the touched one verified", res)
	}
	check()
	if fi, _ := os.Stat(filepath.Join(local, "inbox/20261204T200000.000000Z-000001.jpg")); !fi.ModTime().Equal(later.Truncate(time.Second)) && !fi.ModTime().Equal(later) {
		t.Fatalf("verified file keeps time %v, want the board's %v", fi.ModTime(), later)
	}
	if res, err = Pull(ctx, c, remote, local, nil); err != nil || res.Fetched != 0 {
		t.Fatalf("fourth pull %+v %v, want nothing fetched", res, err)
	}
}

func TestPullErrors(t *testing.T) {
	b := newTestBoard(t)
	c := b.dial(t)
	ctx := context.Background()
	if _, err := Pull(ctx, c, filepath.Join(b.dir, "missing"), t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "--collect") {
		t.Fatalf("missing remote dir: %v", err)
	}
	if _, err := Pull(ctx, c, "relative/dir", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "not absolute") {
		t.Fatalf("relative remote dir: %v", err)
	}
	f := filepath.Join(b.dir, "file")
	os.WriteFile(f, []byte("x"), 0o644)
	if _, err := Pull(ctx, c, f, t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("remote file: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	writeTree(t, filepath.Join(b.dir, "c"), map[string]string{"a": "1"})
	if _, err := Pull(cctx, c, filepath.Join(b.dir, "c"), t.TempDir(), nil); err == nil {
		t.Fatal("cancelled pull succeeded")
	}
}

// TestUnitLetsCollectWrite: the collection directory the docs give for a
// flashed board lies in the unit's StateDirectory, which
// ProtectSystem=strict leaves writable.
func TestUnitLetsCollectWrite(t *testing.T) {
	board, err := boards.Lookup("generic-amd64")
	if err != nil {
		t.Fatal(err)
	}
	s := Service{}.withDefaults(board)
	s.ModelFile = "m.tflite"
	unit, err := s.renderUnit(board)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(unit, "ProtectSystem=strict") || !strings.Contains(unit, "\nStateDirectory="+s.Name+"\n") {
		t.Fatalf("unit:\n%s", unit)
	}
	if !strings.HasPrefix(DefaultCollectDir, "/var/lib/"+s.Name+"/") {
		t.Fatalf("DefaultCollectDir %s is outside the StateDirectory /var/lib/%s", DefaultCollectDir, s.Name)
	}
}
