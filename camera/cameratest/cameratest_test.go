package cameratest

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
)

func TestRecordPlayback(t *testing.T) {
	ctx := context.Background()
	src, err := camera.Open(ctx, "synthetic:5", camera.Options{Width: 96, Height: 64})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n, err := Record(ctx, src, dir, 6)
	if err != nil || n != 6 {
		t.Fatalf("recorded %d: %v", n, err)
	}
	// The same seed draws the same frames: compare them with the replay.
	ref, _ := camera.Open(ctx, "synthetic:5", camera.Options{Width: 96, Height: 64})
	play, err := camera.Open(ctx, "playback:"+dir, camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer play.Close()
	for i := 0; i < 6; i++ {
		want, err := ref.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := play.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		g, ok := got.Image.(*image.Gray)
		w := want.Image.(*image.Gray)
		if !ok || got.Seq != want.Seq || got.Truth != want.Truth || !bytes.Equal(g.Pix, w.Pix) {
			t.Fatalf("frame %d differs: seq %d/%d truth %q/%q", i, got.Seq, want.Seq, got.Truth, want.Truth)
		}
	}
	if _, err := play.Next(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want io.EOF", err)
	}
	// Loop starts over.
	loop, _ := Playback(dir, camera.Options{Loop: true})
	for i := 0; i < 8; i++ {
		if _, err := loop.Next(ctx); err != nil {
			t.Fatalf("loop frame %d: %v", i, err)
		}
	}
	loop.Close()
	if _, err := loop.Next(ctx); !errors.Is(err, camera.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestPlaybackBadRecordings(t *testing.T) {
	dir := t.TempDir()
	if _, err := Playback(dir, camera.Options{}); err == nil {
		t.Error("a directory without an index played")
	}
	for name, index := range map[string]string{
		"not json":  "{",
		"empty":     "[]",
		"traversal": `[{"file": "../x.png"}]`,
	} {
		os.WriteFile(filepath.Join(dir, Index), []byte(index), 0o644)
		if _, err := Playback(dir, camera.Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A missing frame file is a bad frame, skipped by consumers.
	os.WriteFile(filepath.Join(dir, Index), []byte(`[{"file": "frame-000001.png", "seq": 1}]`), 0o644)
	p, err := Playback(dir, camera.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(context.Background()); !errors.Is(err, camera.ErrBadFrame) {
		t.Errorf("missing frame file: %v, want ErrBadFrame", err)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering playback twice did not panic")
		}
	}()
	camera.Register("playback", func(context.Context, string, camera.Options) (camera.Source, error) { return nil, nil })
}
