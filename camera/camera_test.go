package camera

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera/pnm"
)

func grayJPEG(t testing.TB, w, h int, v uint8) []byte {
	t.Helper()
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withApp inserts an APP1 segment whose payload contains FF D9 (as an EXIF
// thumbnail would) right after SOI.
func withApp(j []byte) []byte {
	payload := []byte("Exif\x00\x00\xff\xd8thumb\xff\xd9")
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, j[2:]...)
}

func meanY(t *testing.T, img image.Image) int {
	t.Helper()
	var s, n int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			s += int(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			n++
		}
	}
	return s / n
}

func TestMJPEGStream(t *testing.T) {
	var stream bytes.Buffer
	stream.WriteString("garbage before the first frame")
	stream.Write(grayJPEG(t, 16, 8, 40))
	stream.Write(withApp(grayJPEG(t, 16, 8, 120)))
	// A corrupt frame: intact markers, but the SOF header claims an
	// impossible sample precision, so it cannot be decoded.
	bad := grayJPEG(t, 16, 8, 0)
	sof := bytes.Index(bad, []byte{0xFF, 0xC0})
	if sof < 0 {
		t.Fatal("no SOF0 in test JPEG")
	}
	bad[sof+4] = 3
	stream.Write(bad)
	stream.Write(grayJPEG(t, 16, 8, 200))
	src := NewMJPEG(&stream, "test")
	ctx := context.Background()
	var got []int
	bads := 0
	for {
		f, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrBadFrame) {
			bads++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Image.Bounds().Dx() != 16 || f.Seq == 0 {
			t.Fatalf("frame %v seq %d", f.Image.Bounds(), f.Seq)
		}
		got = append(got, meanY(t, f.Image))
	}
	if bads != 1 || len(got) != 3 || got[0] < 35 || got[0] > 45 || got[1] < 115 || got[1] > 125 || got[2] < 195 {
		t.Fatalf("frames %v, bad %d; want 3 frames ≈40,120,200 and 1 bad", got, bads)
	}
}

func TestMJPEGTruncated(t *testing.T) {
	j := grayJPEG(t, 16, 8, 40)
	src := NewMJPEG(bytes.NewReader(j[:len(j)/2]), "test")
	_, err := src.Next(context.Background())
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v, want unexpected EOF", err)
	}
}

func TestReadJPEGOversized(t *testing.T) {
	j := grayJPEG(t, 64, 64, 40)
	_, err := ReadJPEG(bufioReader(j), nil, 100)
	if !errors.Is(err, ErrBadFrame) {
		t.Fatalf("err %v, want ErrBadFrame for a frame over the limit", err)
	}
}

func y4mStream(w, h int, chroma string, frames ...uint8) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F30:1 Ip A1:1 C%s XYSCSS=%s\n", w, h, chroma, chroma)
	for _, v := range frames {
		b.WriteString("FRAME\n")
		b.Write(bytes.Repeat([]byte{v}, w*h))
		if chroma != "mono" {
			cw, ch := (w+1)/2, (h+1)/2
			b.Write(bytes.Repeat([]byte{128}, 2*cw*ch))
		}
	}
	return b.Bytes()
}

func TestY4M(t *testing.T) {
	ctx := context.Background()
	src := NewY4M(bytes.NewReader(y4mStream(7, 5, "420jpeg", 10, 250)), "test")
	for _, want := range []uint8{10, 250} {
		f, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		yc, ok := f.Image.(*image.YCbCr)
		if !ok || yc.Rect.Dx() != 7 || yc.Y[0] != want || yc.SubsampleRatio != image.YCbCrSubsampleRatio420 {
			t.Fatalf("frame %T %v", f.Image, f.Image.Bounds())
		}
	}
	if _, err := src.Next(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
	src = NewY4M(bytes.NewReader(y4mStream(4, 4, "mono", 77)), "test")
	f, err := src.Next(ctx)
	if err != nil || f.Image.(*image.Gray).Pix[15] != 77 {
		t.Fatalf("mono: %v", err)
	}
}

func TestY4MBad(t *testing.T) {
	ctx := context.Background()
	for name, in := range map[string][]byte{
		"10-bit":     y4mStream(4, 4, "420p10", 1),
		"not y4m":    []byte("RIFF....WAVEfmt "),
		"empty":      nil,
		"zero size":  []byte("YUV4MPEG2 W0 H4\nFRAME\n"),
		"huge":       []byte("YUV4MPEG2 W20000 H20000\nFRAME\n"),
		"bad number": []byte("YUV4MPEG2 Wabc H4\n"),
	} {
		_, err := NewY4M(bytes.NewReader(in), "t").Next(ctx)
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err %v, want ErrFormat", name, err)
		}
	}
	s := y4mStream(8, 8, "420", 5)
	_, err := NewY4M(bytes.NewReader(s[:len(s)-10]), "t").Next(ctx)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated frame: %v", err)
	}
	s = append(y4mStream(8, 8, "420", 5), "GARBAGE\n"...)
	src := NewY4M(bytes.NewReader(s), "t")
	src.Next(ctx)
	if _, err := src.Next(ctx); !errors.Is(err, ErrFormat) {
		t.Errorf("out of sync: %v", err)
	}
}

func TestRawFormats(t *testing.T) {
	ctx := context.Background()
	src, err := Open(ctx, "stdin:gray:4x2", Options{Stdin: bytes.NewReader([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9})})
	if err != nil {
		t.Fatal(err)
	}
	f, err := src.Next(ctx)
	if err != nil || f.Image.(*image.Gray).Pix[7] != 8 {
		t.Fatalf("gray frame: %v", err)
	}
	if _, err := src.Next(ctx); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("partial frame: %v", err)
	}
	// YUYV: Y0 U Y1 V
	src, _ = Open(ctx, "stdin:yuyv:2x1", Options{Stdin: bytes.NewReader([]byte{10, 100, 20, 200})})
	f, err = src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	yc := f.Image.(*image.YCbCr)
	if yc.Y[0] != 10 || yc.Y[1] != 20 || yc.Cb[0] != 100 || yc.Cr[0] != 200 {
		t.Fatalf("yuyv %v %v %v", yc.Y, yc.Cb, yc.Cr)
	}
	src, _ = Open(ctx, "stdin:yuv420:2x2", Options{Stdin: bytes.NewReader([]byte{1, 2, 3, 4, 50, 60})})
	f, err = src.Next(ctx)
	if err != nil || f.Image.(*image.YCbCr).Cr[0] != 60 {
		t.Fatalf("yuv420: %v", err)
	}
	src, _ = Open(ctx, "stdin:rgb:1x1", Options{Stdin: bytes.NewReader([]byte{9, 8, 7})})
	f, err = src.Next(ctx)
	if err != nil || f.Image.(*image.RGBA).Pix[2] != 7 {
		t.Fatalf("rgb: %v", err)
	}
}

func TestOpenBadSpecs(t *testing.T) {
	ctx := context.Background()
	for _, spec := range []string{"", "stdin:bogus", "stdin:gray", "stdin:gray:0x5", "stdin:gray:axb",
		"stdin:yuyv:3x2", "synthetic:xyz", "no-such-thing", "libcamera:h264"} {
		_, err := Open(ctx, spec, Options{Stdin: bytes.NewReader(nil), LookPath: func(string) (string, error) { return "/bin/true", nil }})
		if err == nil {
			t.Errorf("%q: opened", spec)
			continue
		}
		if !errors.Is(err, ErrSpec) && !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err %v is neither ErrSpec nor ErrFormat", spec, err)
		}
	}
	if _, err := Open(ctx, "file:/no/such/file.png", Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// pngHeader returns a PNG file with a valid IHDR claiming w×h and nothing
// else: DecodeConfig accepts it, decoding it would need w·h bytes.
func pngHeader(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 8, 0 // 8-bit gray
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestFilesSource(t *testing.T) {
	dir := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, g)
	write("a.png", b.Bytes())
	write("b.jpg", grayJPEG(t, 3, 2, 9))
	b.Reset()
	gif.Encode(&b, g, nil)
	write("c.gif", b.Bytes())
	b.Reset()
	pnm.EncodeGray(&b, g)
	write("d.pgm", b.Bytes())
	write("e.png", []byte("not a png"))
	write("f.png", pngHeader(20000, 20000))
	write("notes.txt", []byte("ignored"))
	src, err := OpenFiles(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good, bad := 0, 0
	for {
		f, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrBadFrame) {
			bad++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Image.Bounds().Dx() != 3 || f.Name == "" {
			t.Fatalf("%s: %v", f.Name, f.Image.Bounds())
		}
		good++
	}
	if good != 4 || bad != 2 {
		t.Fatalf("good %d bad %d, want 4 and 2", good, bad)
	}
	t0 := time.Now()
	if _, err := DecodeFile(filepath.Join(dir, "f.png")); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("huge png: %v", err)
	}
	if time.Since(t0) > time.Second {
		t.Fatal("huge png was not refused before decoding")
	}
	// Loop restarts; an empty directory is an error.
	src, _ = OpenFiles(filepath.Join(dir, "a.png"), Options{Loop: true})
	for i := 0; i < 3; i++ {
		if _, err := src.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := OpenFiles(t.TempDir(), Options{}); !errors.Is(err, ErrNoCamera) {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestSynthetic(t *testing.T) {
	src, err := Open(context.Background(), "synthetic:3", Options{Width: 64, Height: 48})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 40; i++ {
		f, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Image.Bounds() != image.Rect(0, 0, 64, 48) || len(f.Truth) != 1 {
			t.Fatalf("frame %v truth %q", f.Image.Bounds(), f.Truth)
		}
		seen[f.Truth] = true
		if m := meanY(t, f.Image); m < 60 || m > 250 {
			t.Fatalf("frame mean %d: not paper-like", m)
		}
	}
	if len(seen) < 8 {
		t.Fatalf("only digits %v in 40 frames", seen)
	}
	src.Close()
	if _, err := src.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestSyntheticRateAndCancel(t *testing.T) {
	src := NewSynthetic(Options{Width: 16, Height: 16, FPS: 20, Rate: true})
	ctx, cancel := context.WithCancel(context.Background())
	t0 := time.Now()
	for i := 0; i < 3; i++ {
		src.Next(ctx)
	}
	if d := time.Since(t0); d < 90*time.Millisecond {
		t.Fatalf("3 frames at 20 fps took %v", d)
	}
	cancel()
	if _, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestStreamCancelUnblocks(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	src := NewMJPEG(pr, "pipe")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := src.Next(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
}

func bufioReader(b []byte) *bufioR { return newBufio(bytes.NewReader(b)) }

func TestDrawDigitInk(t *testing.T) {
	ink := NewInk(40, 60)
	DrawDigit(ink, 7, 5, 5, 50, 4, 0, 0, 0, rand.New(rand.NewPCG(1, 1)))
	var s float32
	for _, v := range ink.Pix {
		s += v
	}
	if s < 100 {
		t.Fatalf("digit 7 left only %v ink", s)
	}
}
