// Package camera provides frame sources behind one small interface: image
// files and directories, a synthetic digit renderer, raw/MJPEG/Y4M streams
// (stdin or any io.Reader), V4L2 webcams and the Raspberry Pi camera through
// a libcamera subprocess (rpicam-vid / libcamera-vid).
//
// # Frame layout
//
// Frame.Image is an image.Image whose concrete type tells the layout, as in
// the standard library (Pix, Stride, Rect documented on each type):
//   - *image.Gray: 8-bit luma (raw gray streams, Y4M mono, PGM files);
//   - *image.YCbCr: planar Y'CbCr, 4:2:0 (JPEG, MJPEG, Y4M 420, libcamera
//     YUV420), 4:2:2 (V4L2 YUYV, Y4M 422) or 4:4:4;
//   - *image.RGBA / *image.NRGBA / *image.Paletted: PNG, GIF, PPM, raw RGB.
//
// Consumers that only need luma (preprocess) read Gray and YCbCr's Y plane
// directly and fall back to image.Image.At for other types.
//
// A frame belongs to the caller once Next returns it: sources never reuse
// the pixel memory of a frame they have handed out.
//
// # Errors
//
// Next returns io.EOF when a finite source (files, a stream that ends) is
// exhausted, an error wrapping ErrBadFrame for one undecodable frame (the
// source stays usable: count it and call Next again), and any other error
// when the source is broken (unplugged camera, dead subprocess): close it
// and reopen it, with backoff.
package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "image/gif"  // register GIF
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG

	_ "github.com/edgecnn/edgecnn/camera/pnm" // register PGM/PPM
)

// Frame is one captured image.
type Frame struct {
	Image image.Image // see the package doc for the concrete types
	Seq   uint64      // 1, 2, 3, ... per source
	Time  time.Time   // capture time (when the source produced it)
	Name  string      // file name for file sources, else empty
	Truth string      // synthetic source: the digits drawn (for tests and demos)
}

// Lossless is implemented by sources whose every frame matters (a
// directory of files): when Lossless reports true, a consumer waits for
// its frames instead of dropping stale ones ("latest frame wins" is for
// live cameras).
type Lossless interface {
	Lossless() bool
}

// Source produces frames. Implementations are not safe for concurrent use
// of Next; Close may be called from another goroutine to unblock Next.
type Source interface {
	// Next blocks until a frame is available, ctx is done, or the source
	// fails (see the package doc for the error contract).
	Next(ctx context.Context) (Frame, error)
	// Close releases the source; calling it more than once is safe.
	Close() error
	// String describes the source for logs ("v4l2 /dev/video0 640x480 YUYV").
	String() string
}

// Errors shared by sources (wrapped with detail).
var (
	// ErrBadFrame marks one undecodable frame; the source remains usable.
	ErrBadFrame = errors.New("bad frame")
	// ErrNoCamera means no camera matching the request is present.
	ErrNoCamera = errors.New("no camera")
	// ErrSpec is a malformed --camera value.
	ErrSpec = errors.New("bad camera spec")
	// ErrClosed is returned by Next after Close.
	ErrClosed = errors.New("source closed")
)

// Options configure Open. Zero values pick defaults.
type Options struct {
	// The tags declare `edgecnn run`'s camera flags (package cliflags).

	// Device is the V4L2 device (default /dev/video0).
	Device string `flag:"device" default:"/dev/video0" usage:"V4L2 device"`
	Width  int    // requested frame width (default 640)
	Height int    // requested frame height (default 480)
	// FPS is the requested frame rate (default 30).
	FPS float64 `flag:"fps"`
	// Format is the requested pixel format: "", "yuyv", "mjpeg" (V4L2),
	// "mjpeg"/"yuv420" (libcamera).
	Format string `flag:"format" usage:"pixel format: yuyv or mjpeg (V4L2), mjpeg or yuv420 (libcamera)"`

	Stdin io.Reader // reader for "stdin:*" specs (default os.Stdin)
	// Loop makes file sources start over at the end instead of io.EOF.
	Loop bool  `flag:"loop" usage:"file sources: start over at the end"`
	Seed int64 // synthetic source seed
	// Rate limits synthetic and file sources to FPS frames per second
	// when set (default: as fast as the consumer reads).
	Rate bool `flag:"realtime" usage:"file and synthetic sources: deliver frames at --fps instead of as fast as possible"`

	// LookPath and Glob find libcamera binaries and /dev/video* nodes for
	// "auto" (defaults: exec.LookPath, filepath.Glob); tests replace them.
	LookPath func(string) (string, error)
	Glob     func(string) ([]string, error)
}

func (o Options) withDefaults() Options {
	if o.Device == "" {
		o.Device = "/dev/video0"
	}
	if o.Width <= 0 {
		o.Width = 640
	}
	if o.Height <= 0 {
		o.Height = 480
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Glob == nil {
		o.Glob = filepath.Glob
	}
	return o
}

// Specs lists the accepted --camera values, for help texts.
const Specs = `auto | synthetic[:SEED] | libcamera[:mjpeg|yuv420] | v4l2[:DEVICE] | /dev/videoN |
stdin:y4m | stdin:mjpeg | stdin:gray:WxH | stdin:yuv420:WxH | stdin:yuyv:WxH | stdin:rgb:WxH |
file:PATH | dir:PATH | PATH (an image file or a directory of images)`

// Open opens the source named by spec (see Specs). "auto" picks, in order,
// a libcamera binary (rpicam-vid, libcamera-vid) and then the first
// /dev/video* node, and fails with ErrNoCamera listing what it looked for.
func Open(ctx context.Context, spec string, opt Options) (Source, error) {
	opt = opt.withDefaults()
	kind, arg, _ := strings.Cut(spec, ":")
	if kind == "" {
		return nil, fmt.Errorf("camera: %w: empty (want %s)", ErrSpec, Specs)
	}
	regMu.RLock()
	open, ok := registry[kind]
	regMu.RUnlock()
	if ok {
		return open(ctx, arg, opt)
	}
	if strings.HasPrefix(spec, "/dev/video") {
		opt.Device = spec
		return OpenV4L2(opt)
	}
	if _, err := os.Stat(spec); err == nil {
		return OpenFiles(spec, opt)
	}
	return nil, fmt.Errorf("camera: %w: %q is neither a source kind (%s) nor an existing file (want %s)", ErrSpec, spec, strings.Join(Kinds(), ", "), Specs)
}

// Opener opens a source of one kind; arg is what follows "kind:" in the
// spec ("" when there is no colon), opt has its defaults filled in.
type Opener func(ctx context.Context, arg string, opt Options) (Source, error)

// The source registry: each kind of source registers itself (as periph.io's
// drivers do), so Open has no list of kinds and tests can add fakes
// (camera/cameratest's "playback").
var (
	regMu    sync.RWMutex
	registry = map[string]Opener{}
)

// Register makes a source kind available to Open as "kind" or
// "kind:ARG". Registering a kind twice, or an empty name, panics (a
// programming error, as with database/sql.Register).
func Register(kind string, open Opener) {
	regMu.Lock()
	defer regMu.Unlock()
	if kind == "" || strings.Contains(kind, ":") || open == nil {
		panic(fmt.Sprintf("camera: Register(%q): bad kind or nil opener", kind))
	}
	if _, dup := registry[kind]; dup {
		panic(fmt.Sprintf("camera: Register(%q) called twice", kind))
	}
	registry[kind] = open
}

// Kinds lists the registered source kinds, sorted.
func Kinds() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	kinds := make([]string, 0, len(registry))
	for k := range registry {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

func init() {
	Register("auto", func(ctx context.Context, _ string, opt Options) (Source, error) { return openAuto(ctx, opt) })
	Register("synthetic", func(_ context.Context, arg string, opt Options) (Source, error) {
		if arg != "" {
			seed, err := strconv.ParseInt(arg, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("camera: %w: synthetic seed %q: %v", ErrSpec, arg, err)
			}
			opt.Seed = seed
		}
		return NewSynthetic(opt), nil
	})
	Register("libcamera", func(ctx context.Context, arg string, opt Options) (Source, error) {
		if arg != "" {
			opt.Format = arg
		}
		return OpenLibcamera(ctx, opt)
	})
	Register("v4l2", func(_ context.Context, arg string, opt Options) (Source, error) {
		if arg != "" {
			opt.Device = arg
		}
		return OpenV4L2(opt)
	})
	Register("stdin", func(_ context.Context, arg string, opt Options) (Source, error) { return openStdin(arg, opt) })
	files := func(_ context.Context, arg string, opt Options) (Source, error) { return OpenFiles(arg, opt) }
	Register("file", files)
	Register("dir", files)
}

func openStdin(arg string, opt Options) (Source, error) {
	format, size, _ := strings.Cut(arg, ":")
	switch format {
	case "y4m":
		return NewY4M(opt.Stdin, "stdin"), nil
	case "mjpeg", "mjpg", "jpeg":
		return NewMJPEG(opt.Stdin, "stdin"), nil
	case "gray", "yuv420", "i420", "yuyv", "rgb":
		w, h, err := ParseSize(size)
		if err != nil {
			return nil, fmt.Errorf("camera: %w: stdin:%s needs a size like 640x480: %v", ErrSpec, format, err)
		}
		return NewRaw(opt.Stdin, "stdin", format, w, h)
	}
	return nil, fmt.Errorf("camera: %w: stdin format %q (want y4m, mjpeg, gray:WxH, yuv420:WxH, yuyv:WxH or rgb:WxH)", ErrSpec, format)
}

// ParseSize parses "WxH" with 1 ≤ W, H ≤ 16384.
func ParseSize(s string) (w, h int, err error) {
	ws, hs, ok := strings.Cut(s, "x")
	if !ok {
		return 0, 0, fmt.Errorf("size %q is not WxH", s)
	}
	if w, err = strconv.Atoi(ws); err != nil {
		return 0, 0, fmt.Errorf("size %q: width: %w", s, err)
	}
	if h, err = strconv.Atoi(hs); err != nil {
		return 0, 0, fmt.Errorf("size %q: height: %w", s, err)
	}
	if w < 1 || h < 1 || w > 16384 || h > 16384 {
		return 0, 0, fmt.Errorf("size %dx%d out of range [1, 16384]", w, h)
	}
	return w, h, nil
}

// LibcameraBinaries are the libcamera capture programs auto looks for, in order.
var LibcameraBinaries = []string{"rpicam-vid", "libcamera-vid"}

func openAuto(ctx context.Context, opt Options) (Source, error) {
	for _, b := range LibcameraBinaries {
		if _, err := opt.LookPath(b); err == nil {
			return OpenLibcamera(ctx, opt)
		}
	}
	devs, _ := opt.Glob("/dev/video*")
	var errs []string
	for _, d := range devs {
		o := opt
		o.Device = d
		s, err := OpenV4L2(o)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err.Error())
	}
	detail := ""
	if len(errs) > 0 {
		detail = ": " + strings.Join(errs, "; ")
	}
	return nil, fmt.Errorf("camera: %w: auto looked for %s on PATH and /dev/video* (found %d device nodes)%s; use --camera synthetic, stdin:mjpeg or an image path to run without one",
		ErrNoCamera, strings.Join(LibcameraBinaries, ", "), len(devs), detail)
}
