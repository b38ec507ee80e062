// Package cameratest records frames from any camera.Source and plays them
// back as a source, as periph.io's i2ctest does for buses: a recording made
// once (on a board, from a real camera) replays the same frames in tests,
// with their timing and truth labels, through camera.Open("playback:DIR").
//
// A recording is a directory of PNG frames (lossless, so *image.Gray frames
// come back bit for bit) and an index, frames.json, written last and
// atomically: a directory without it is not a recording.
package cameratest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// Index is the file name of a recording's index.
const Index = "frames.json"

// MaxFrames bounds a recording (and the index read back).
const MaxFrames = 100000

// Entry describes one recorded frame.
type Entry struct {
	File  string        `json:"file"`            // PNG file in the recording directory
	Seq   uint64        `json:"seq"`             // the source's sequence number
	At    time.Duration `json:"at_ns"`           // capture time after the first frame
	Name  string        `json:"name,omitempty"`  // the source's file name, if any
	Truth string        `json:"truth,omitempty"` // the source's truth label, if any
}

// Record reads up to n frames from src (all, until io.EOF, when n ≤ 0) and
// writes them to dir as a recording. Bad frames (camera.ErrBadFrame) are
// skipped as a consumer would; any other error ends the recording with
// that error, after writing what was recorded.
func Record(ctx context.Context, src camera.Source, dir string, n int) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("cameratest: %w", err)
	}
	var idx []Entry
	var first time.Time
	var rerr error
	for n <= 0 || len(idx) < n {
		if len(idx) >= MaxFrames {
			rerr = fmt.Errorf("cameratest: more than %d frames", MaxFrames)
			break
		}
		f, err := src.Next(ctx)
		if errors.Is(err, camera.ErrBadFrame) {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rerr = err
			break
		}
		if len(idx) == 0 {
			first = f.Time
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, f.Image); err != nil {
			rerr = fmt.Errorf("cameratest: frame %d: %w", f.Seq, err)
			break
		}
		name := fmt.Sprintf("frame-%06d.png", len(idx)+1)
		if err := atomicfile.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			rerr = fmt.Errorf("cameratest: %w", err)
			break
		}
		idx = append(idx, Entry{File: name, Seq: f.Seq, At: f.Time.Sub(first), Name: f.Name, Truth: f.Truth})
	}
	data, err := json.MarshalIndent(idx, "", " ")
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(dir, Index), data, 0o644)
	}
	if err != nil {
		return len(idx), fmt.Errorf("cameratest: index: %w", err)
	}
	return len(idx), rerr
}

// playback replays a recording.
type playback struct {
	dir    string
	idx    []Entry
	i      int
	opt    camera.Options
	start  time.Time
	closed atomic.Bool
}

// Playback opens the recording in dir as a source. Frames come back in
// order with their sequence numbers, names and truth labels; Frame.Time is
// the replay time. With opt.Rate the original spacing is kept; otherwise
// frames come as fast as they are read. At the end Next returns io.EOF,
// or starts over with opt.Loop.
func Playback(dir string, opt camera.Options) (camera.Source, error) {
	data, err := os.ReadFile(filepath.Join(dir, Index))
	if err != nil {
		return nil, fmt.Errorf("cameratest: %s is not a recording: %w", dir, err)
	}
	var idx []Entry
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("cameratest: %s: %w", filepath.Join(dir, Index), err)
	}
	if len(idx) == 0 || len(idx) > MaxFrames {
		return nil, fmt.Errorf("cameratest: %s: %d frames (want 1 to %d)", dir, len(idx), MaxFrames)
	}
	for _, e := range idx {
		if e.File != filepath.Base(e.File) || filepath.Ext(e.File) != ".png" {
			return nil, fmt.Errorf("cameratest: %s: frame file %q is not a PNG in the recording", dir, e.File)
		}
	}
	return &playback{dir: dir, idx: idx, opt: opt}, nil
}

func (p *playback) String() string {
	return fmt.Sprintf("playback %s (%d frames)", p.dir, len(p.idx))
}

func (p *playback) Close() error { p.closed.Store(true); return nil }

func (p *playback) Next(ctx context.Context) (camera.Frame, error) {
	if p.closed.Load() {
		return camera.Frame{}, camera.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return camera.Frame{}, err
	}
	if p.i >= len(p.idx) {
		if !p.opt.Loop {
			return camera.Frame{}, io.EOF
		}
		p.i, p.start = 0, time.Time{}
	}
	e := p.idx[p.i]
	p.i++
	if p.start.IsZero() {
		p.start = time.Now()
	}
	if p.opt.Rate {
		if wait := time.Until(p.start.Add(e.At)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return camera.Frame{}, ctx.Err()
			case <-t.C:
			}
		}
	}
	img, err := decode(filepath.Join(p.dir, e.File))
	if err != nil {
		return camera.Frame{}, fmt.Errorf("camera: %w: %v", camera.ErrBadFrame, err)
	}
	return camera.Frame{Image: img, Seq: e.Seq, Time: time.Now(), Name: e.Name, Truth: e.Truth}, nil
}

func decode(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return camera.Decode(f)
}

func init() {
	camera.Register("playback", func(_ context.Context, arg string, opt camera.Options) (camera.Source, error) {
		return Playback(arg, opt)
	})
}
