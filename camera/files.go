package camera

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
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
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("camera: files: %w", err)
	}
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		for _, x := range ImageExts {
			if ext == x && !e.IsDir() {
				f.paths = append(f.paths, filepath.Join(path, e.Name()))
			}
		}
	}
	if len(f.paths) == 0 {
		return nil, fmt.Errorf("camera: files: %w: no images (%s) in %s", ErrNoCamera, strings.Join(ImageExts, " "), path)
	}
	sort.Strings(f.paths)
	return f, nil
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

func (f *files) Close() error { f.closed.Store(true); return nil }

// DecodeFile decodes an image file of any registered format (PNG, JPEG,
// GIF, PGM/PPM), refusing zero-size images and ones over MaxFilePixels
// before decoding.
func DecodeFile(path string) (image.Image, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	cfg, format, err := image.DecodeConfig(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := CheckSize(cfg.Width, cfg.Height, MaxFilePixels); err != nil {
		return nil, fmt.Errorf("%s: %s %w", path, format, err)
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
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
