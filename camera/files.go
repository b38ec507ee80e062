package camera

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// ImageExts are the file extensions a directory source reads.
var ImageExts = []string{".png", ".jpg", ".jpeg", ".gif", ".pgm", ".ppm", ".pnm"}

// MaxFilePixels bounds the size of an image file a source or DecodeFile
// accepts (checked with image.DecodeConfig before decoding).
const MaxFilePixels = 50 << 20

type files struct {
	paths  []string
	i      int
	seq    uint64
	opt    Options
	closed atomic.Bool
	last   time.Time
}

// OpenFiles opens an image file, or a directory whose image files (see
// ImageExts) are read in name order. With opt.Loop the source starts over
// at the end; otherwise Next returns io.EOF.
func OpenFiles(path string, opt Options) (Source, error) {
	opt = opt.withDefaults()
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("camera: files: %w", err)
	}
	f := &files{opt: opt}
	if !st.IsDir() {
		f.paths = []string{path}
		return f, nil
	}
	if f.paths, err = ListImages(path); err != nil {
		return nil, fmt.Errorf("camera: files: %w", err)
	}
	if len(f.paths) == 0 {
		return nil, fmt.Errorf("camera: files: %w: no images (%s) in %s", ErrNoCamera, strings.Join(ImageExts, " "), path)
	}
	return f, nil
}

// ListImages returns the image files (see ImageExts) directly inside dir,
// in name order.
func ListImages(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains(ImageExts, ext) {
			continue
		}
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	sort.Strings(paths)
	return paths, nil
}

func (f *files) String() string {
	if len(f.paths) == 1 {
		return "file " + f.paths[0]
	}
	return fmt.Sprintf("directory of %d images", len(f.paths))
}

func (f *files) Next(ctx context.Context) (Frame, error) {
	if f.closed.Load() {
		return Frame{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	if f.i >= len(f.paths) {
		if !f.opt.Loop {
			return Frame{}, io.EOF
		}
		f.i = 0
	}
	if err := pace(ctx, &f.last, f.opt); err != nil {
		return Frame{}, err
	}
	p := f.paths[f.i]
	f.i++
	f.seq++
	img, err := DecodeFile(p)
	if err != nil {
		return Frame{}, fmt.Errorf("camera: %w: %v", ErrBadFrame, err)
	}
	return Frame{Image: img, Seq: f.seq, Time: time.Now(), Name: p}, nil
}

// Lossless reports that every file matters: consumers read them all
// rather than keeping only the latest frame.
func (f *files) Lossless() bool { return true }

func (f *files) Close() error { f.closed.Store(true); return nil }

// DecodeFile decodes an image file of any registered format (PNG, JPEG,
// GIF, PGM/PPM), refusing zero-size images and ones over MaxFilePixels
// before decoding. A JPEG's EXIF orientation is applied, so a phone photo
// taken in portrait comes out upright.
func DecodeFile(path string) (image.Image, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	img, err := Decode(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// MaxStdinBytes bounds an image read from a stream (edgecnn predict -).
const MaxStdinBytes = 64 << 20

// DecodeReader decodes one image from r (for example standard input),
// reading at most maxBytes; otherwise as DecodeFile.
func DecodeReader(r io.Reader, maxBytes int64) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("image larger than %d bytes", maxBytes)
	}
	return Decode(bytes.NewReader(data))
}

// Decode decodes an image from r as DecodeFile does: size checked by
// image.DecodeConfig before decoding, EXIF orientation applied.
func Decode(r io.ReadSeeker) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(r)
	if err != nil {
		return nil, err
	}
	if err := CheckSize(cfg.Width, cfg.Height, MaxFilePixels); err != nil {
		return nil, fmt.Errorf("%s %w", format, err)
	}
	orientation := 1
	if format == "jpeg" {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		head := make([]byte, 1<<16+4) // an APP1 segment is at most 64 KiB
		n, _ := io.ReadFull(r, head)
		orientation = JPEGOrientation(head[:n])
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(r)
	if err != nil {
		return nil, err
	}
	return Orient(img, orientation), nil
}

// CheckSize refuses zero-size images and images over maxPixels.
func CheckSize(w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("image has zero size %dx%d", w, h)
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return fmt.Errorf("image %dx%d exceeds the limit of %d pixels", w, h, maxPixels)
	}
	return nil
}

// pace sleeps until 1/FPS after the previous frame when opt.Rate is set.
func pace(ctx context.Context, last *time.Time, opt Options) error {
	if !opt.Rate || opt.FPS <= 0 {
		return nil
	}
	next := last.Add(time.Duration(float64(time.Second) / opt.FPS))
	if d := time.Until(next); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	*last = time.Now()
	return nil
}
