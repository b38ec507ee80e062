package camera

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxStreamPixels bounds the frame size of stream sources (Y4M headers,
// MJPEG frames): 8192×8192.
const MaxStreamPixels = 8192 * 8192

// MaxJPEGBytes bounds one MJPEG frame; a longer one is a bad frame.
const MaxJPEGBytes = 32 << 20

// stream is the shared part of the reader-based sources.
type stream struct {
	name   string
	r      io.Reader
	br     *bufio.Reader
	seq    uint64
	closed atomic.Bool
	once   sync.Once
}

func newStream(r io.Reader, name string) stream {
	return stream{name: name, r: r, br: bufio.NewReaderSize(r, 64<<10)}
}

func (s *stream) Close() error {
	s.closed.Store(true)
	var err error
	s.once.Do(func() {
		if c, ok := s.r.(io.Closer); ok {
			err = c.Close()
		}
	})
	return err
}

// begin checks state and arranges for ctx cancellation to close the
// reader (the only way to interrupt a blocked Read).
func (s *stream) begin(ctx context.Context) (stop func() bool, err error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.AfterFunc(ctx, func() { s.Close() }), nil
}

// end maps read errors after a cancellation or Close.
func (s *stream) end(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return err
}

func (s *stream) frame(img image.Image) Frame {
	s.seq++
	return Frame{Image: img, Seq: s.seq, Time: time.Now()}
}

// ---------------------------------------------------------------- MJPEG

type mjpeg struct {
	stream
	buf []byte
}

// NewMJPEG reads a Motion-JPEG stream: JPEG images back to back, as
// written by ffmpeg -f mjpeg, rpicam-vid --codec mjpeg or a multipart
// webcam feed stripped of its headers. Bytes between images are skipped.
// Frames are *image.YCbCr (or *image.Gray for grayscale JPEGs).
func NewMJPEG(r io.Reader, name string) Source {
	return &mjpeg{stream: newStream(r, name)}
}

func (m *mjpeg) String() string { return "mjpeg stream " + m.name }

func (m *mjpeg) Next(ctx context.Context) (Frame, error) {
	stop, err := m.begin(ctx)
	if err != nil {
		return Frame{}, err
	}
	defer stop()
	m.buf, err = ReadJPEG(m.br, m.buf[:0], MaxJPEGBytes)
	if err != nil {
		return Frame{}, m.end(ctx, err)
	}
	img, err := DecodeJPEG(m.buf)
	if err != nil {
		return Frame{}, err
	}
	return m.frame(img), nil
}

// DecodeJPEG decodes one JPEG image, refusing sizes over MaxStreamPixels
// before decoding. Failures wrap ErrBadFrame.
func DecodeJPEG(b []byte) (image.Image, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("camera: %w: jpeg header: %v", ErrBadFrame, err)
	}
	if err := CheckSize(cfg.Width, cfg.Height, MaxStreamPixels); err != nil {
		return nil, fmt.Errorf("camera: %w: %v", ErrBadFrame, err)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("camera: %w: jpeg: %v", ErrBadFrame, err)
	}
	return img, nil
}

// ReadJPEG reads the next complete JPEG image (SOI to EOI) from br into
// buf, following the marker segments so that EOI bytes inside metadata
// (e.g. an EXIF thumbnail) do not end the image early. Bytes before the
// SOI marker are skipped. It returns io.EOF at a clean end of input,
// io.ErrUnexpectedEOF inside an image, and ErrBadFrame (wrapped) for a
// malformed or oversized image (the next call resynchronises).
func ReadJPEG(br *bufio.Reader, buf []byte, max int) ([]byte, error) {
	// Find SOI (FF D8).
	skipped := 0
	for {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && skipped > 0 {
				return buf, fmt.Errorf("camera: %w: %d trailing bytes without a JPEG image", ErrBadFrame, skipped)
			}
			return buf, err
		}
		if b == 0xFF {
			n, err := br.ReadByte()
			if err != nil {
				return buf, eofIsUnexpected(err)
			}
			if n == 0xD8 {
				break
			}
			br.UnreadByte()
		}
		skipped++
		if skipped > max {
			return buf, fmt.Errorf("camera: %w: no JPEG start marker in %d bytes", ErrBadFrame, skipped)
		}
	}
	buf = append(buf[:0], 0xFF, 0xD8)
	pending := -1 // a marker byte already read after its FF
	for {
		if len(buf) > max {
			return buf, fmt.Errorf("camera: %w: JPEG frame larger than %d bytes", ErrBadFrame, max)
		}
		var m byte
		if pending >= 0 {
			m = byte(pending)
			pending = -1
		} else {
			b, err := br.ReadByte()
			if err != nil {
				return buf, eofIsUnexpected(err)
			}
			if b != 0xFF {
				return buf, fmt.Errorf("camera: %w: expected a JPEG marker, got byte 0x%02x", ErrBadFrame, b)
			}
			for m = 0xFF; m == 0xFF; {
				if m, err = br.ReadByte(); err != nil {
					return buf, eofIsUnexpected(err)
				}
			}
		}
		buf = append(buf, 0xFF, m)
		switch {
		case m == 0xD9: // EOI
			return buf, nil
		case m == 0xD8:
			return buf, fmt.Errorf("camera: %w: JPEG start marker inside an image", ErrBadFrame)
		case m >= 0xD0 && m <= 0xD7, m == 0x01, m == 0x00:
			continue
		}
		var l [2]byte
		if _, err := io.ReadFull(br, l[:]); err != nil {
			return buf, eofIsUnexpected(err)
		}
		n := int(l[0])<<8 | int(l[1])
		if n < 2 {
			return buf, fmt.Errorf("camera: %w: JPEG segment length %d", ErrBadFrame, n)
		}
		buf = append(buf, l[0], l[1])
		start := len(buf)
		if start+n-2 > max+4 {
			return buf, fmt.Errorf("camera: %w: JPEG frame larger than %d bytes", ErrBadFrame, max)
		}
		buf = append(buf, make([]byte, n-2)...)
		if _, err := io.ReadFull(br, buf[start:]); err != nil {
			return buf, eofIsUnexpected(err)
		}
		if m != 0xDA { // not SOS
			continue
		}
		// Entropy-coded data until a marker other than RSTn / stuffed 00.
		for {
			b, err := br.ReadByte()
			if err != nil {
				return buf, eofIsUnexpected(err)
			}
			if b != 0xFF {
				buf = append(buf, b)
				if len(buf) > max {
					return buf, fmt.Errorf("camera: %w: JPEG frame larger than %d bytes", ErrBadFrame, max)
				}
				continue
			}
			n, err := br.ReadByte()
			for err == nil && n == 0xFF {
				n, err = br.ReadByte()
			}
			if err != nil {
				return buf, eofIsUnexpected(err)
			}
			if n == 0x00 || (n >= 0xD0 && n <= 0xD7) {
				buf = append(buf, 0xFF, n)
				continue
			}
			pending = int(n)
			break
		}
	}
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ---------------------------------------------------------------- Y4M

type y4m struct {
	stream
	w, h   int
	chroma string // "420", "422", "444", "mono"
	hdr    bool
}

// NewY4M reads a YUV4MPEG2 stream (ffmpeg -f yuv4mpegpipe). Supported
// colour spaces: 420jpeg, 420paldv, 420mpeg2, 420, 422, 444 (frames are
// *image.YCbCr) and mono (frames are *image.Gray); others (10-bit, alpha)
// are refused with a clear error.
func NewY4M(r io.Reader, name string) Source {
	return &y4m{stream: newStream(r, name)}
}

func (y *y4m) String() string {
	if !y.hdr {
		return "y4m stream " + y.name
	}
	return fmt.Sprintf("y4m stream %s %dx%d %s", y.name, y.w, y.h, y.chroma)
}

// ErrFormat marks a stream whose format edgecnn cannot read (not one bad
// frame: the whole stream).
var ErrFormat = errors.New("unsupported stream format")

func readLine(br *bufio.Reader, max int) (string, error) {
	var sb strings.Builder
	for {
		b, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && sb.Len() > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		if b == '\n' {
			return sb.String(), nil
		}
		if sb.Len() >= max {
			return "", fmt.Errorf("line longer than %d bytes", max)
		}
		sb.WriteByte(b)
	}
}

func (y *y4m) header() error {
	line, err := readLine(y.br, 1024)
	if err != nil {
		if err == io.EOF {
			return fmt.Errorf("camera: y4m: %w: empty stream", ErrFormat)
		}
		return fmt.Errorf("camera: y4m: %w: header: %v", ErrFormat, err)
	}
	f := strings.Fields(line)
	if len(f) == 0 || f[0] != "YUV4MPEG2" {
		return fmt.Errorf("camera: y4m: %w: stream does not start with YUV4MPEG2", ErrFormat)
	}
	y.chroma = "420"
	for _, p := range f[1:] {
		v := p[1:]
		switch p[0] {
		case 'W':
			y.w, err = strconv.Atoi(v)
		case 'H':
			y.h, err = strconv.Atoi(v)
		case 'C':
			switch v {
			case "420jpeg", "420paldv", "420mpeg2", "420":
				y.chroma = "420"
			case "422", "444", "mono":
				y.chroma = v
			default:
				return fmt.Errorf("camera: y4m: %w: colour space C%s (want 420*, 422, 444 or mono, 8-bit)", ErrFormat, v)
			}
		}
		if err != nil {
			return fmt.Errorf("camera: y4m: %w: parameter %q: %v", ErrFormat, p, err)
		}
	}
	if err := CheckSize(y.w, y.h, MaxStreamPixels); err != nil {
		return fmt.Errorf("camera: y4m: %w: %v", ErrFormat, err)
	}
	y.hdr = true
	return nil
}

func (y *y4m) Next(ctx context.Context) (Frame, error) {
	stop, err := y.begin(ctx)
	if err != nil {
		return Frame{}, err
	}
	defer stop()
	if !y.hdr {
		if err := y.header(); err != nil {
			return Frame{}, y.end(ctx, err)
		}
	}
	line, err := readLine(y.br, 1024)
	if err != nil {
		return Frame{}, y.end(ctx, err)
	}
	if !strings.HasPrefix(line, "FRAME") {
		return Frame{}, y.end(ctx, fmt.Errorf("camera: y4m: %w: expected FRAME, got %.20q (stream out of sync)", ErrFormat, line))
	}
	rect := image.Rect(0, 0, y.w, y.h)
	var img image.Image
	var planes [][]byte
	switch y.chroma {
	case "mono":
		g := image.NewGray(rect)
		img, planes = g, [][]byte{g.Pix}
	case "420":
		c := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
		img, planes = c, [][]byte{c.Y, c.Cb, c.Cr}
	case "422":
		c := image.NewYCbCr(rect, image.YCbCrSubsampleRatio422)
		img, planes = c, [][]byte{c.Y, c.Cb, c.Cr}
	case "444":
		c := image.NewYCbCr(rect, image.YCbCrSubsampleRatio444)
		img, planes = c, [][]byte{c.Y, c.Cb, c.Cr}
	}
	for _, p := range planes {
		if _, err := io.ReadFull(y.br, p); err != nil {
			return Frame{}, y.end(ctx, eofIsUnexpected(err))
		}
	}
	return y.frame(img), nil
}

// ---------------------------------------------------------------- raw

type raw struct {
	stream
	format string
	w, h   int
	buf    []byte
}

// NewRaw reads headerless frames of a fixed size and pixel format:
// "gray" (8-bit luma → *image.Gray), "yuv420"/"i420" (planar Y, U, V →
// *image.YCbCr 4:2:0, rpicam-vid --codec yuv420), "yuyv" (packed 4:2:2 →
// *image.YCbCr 4:2:2; width must be even) and "rgb" (24-bit → *image.RGBA).
func NewRaw(r io.Reader, name, format string, w, h int) (Source, error) {
	if err := CheckSize(w, h, MaxStreamPixels); err != nil {
		return nil, fmt.Errorf("camera: raw: %w", err)
	}
	switch format {
	case "gray", "yuv420", "i420", "rgb":
	case "yuyv":
		if w%2 != 0 {
			return nil, fmt.Errorf("camera: raw: %w: yuyv needs an even width, got %d", ErrFormat, w)
		}
	default:
		return nil, fmt.Errorf("camera: raw: %w: pixel format %q (want gray, yuv420, yuyv or rgb)", ErrFormat, format)
	}
	return &raw{stream: newStream(r, name), format: format, w: w, h: h}, nil
}

func (r *raw) String() string {
	return fmt.Sprintf("raw %s stream %s %dx%d", r.format, r.name, r.w, r.h)
}

// FrameBytes is the size of one raw frame.
func (r *raw) FrameBytes() int {
	cw, ch := (r.w+1)/2, (r.h+1)/2
	switch r.format {
	case "gray":
		return r.w * r.h
	case "yuv420", "i420":
		return r.w*r.h + 2*cw*ch
	case "yuyv":
		return 2 * r.w * r.h
	}
	return 3 * r.w * r.h
}

func (r *raw) Next(ctx context.Context) (Frame, error) {
	stop, err := r.begin(ctx)
	if err != nil {
		return Frame{}, err
	}
	defer stop()
	rect := image.Rect(0, 0, r.w, r.h)
	read := func(p []byte) error {
		n, err := io.ReadFull(r.br, p)
		if err == io.ErrUnexpectedEOF && n > 0 {
			return fmt.Errorf("camera: raw: stream ended inside a frame (%d of %d bytes): %w", n, len(p), io.ErrUnexpectedEOF)
		}
		return err
	}
	switch r.format {
	case "gray":
		g := image.NewGray(rect)
		if err := read(g.Pix); err != nil {
			return Frame{}, r.end(ctx, err)
		}
		return r.frame(g), nil
	case "yuv420", "i420":
		c := image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
		for i, p := range [][]byte{c.Y, c.Cb, c.Cr} {
			if err := read(p); err != nil {
				if i > 0 && err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return Frame{}, r.end(ctx, err)
			}
		}
		return r.frame(c), nil
	}
	if cap(r.buf) < r.FrameBytes() {
		r.buf = make([]byte, r.FrameBytes())
	}
	b := r.buf[:r.FrameBytes()]
	if err := read(b); err != nil {
		return Frame{}, r.end(ctx, err)
	}
	if r.format == "yuyv" {
		return r.frame(YUYVToYCbCr(b, r.w, r.h)), nil
	}
	img := image.NewRGBA(rect)
	for i := 0; i < r.w*r.h; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = b[3*i], b[3*i+1], b[3*i+2], 255
	}
	return r.frame(img), nil
}

// YUYVToYCbCr converts packed YUYV 4:2:2 (Y0 U Y1 V per pixel pair, as
// V4L2_PIX_FMT_YUYV) of an even width to a new *image.YCbCr 4:2:2.
func YUYVToYCbCr(b []byte, w, h int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for y := 0; y < h; y++ {
		row := b[y*2*w : (y+1)*2*w]
		yo, co := y*img.YStride, y*img.CStride
		for x := 0; x < w/2; x++ {
			img.Y[yo+2*x] = row[4*x]
			img.Cb[co+x] = row[4*x+1]
			img.Y[yo+2*x+1] = row[4*x+2]
			img.Cr[co+x] = row[4*x+3]
		}
	}
	return img
}
