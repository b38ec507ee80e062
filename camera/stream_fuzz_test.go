package camera

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

// drain reads frames from src until it reports an error (at most 64), and
// checks the error contract: io.EOF, io.ErrUnexpectedEOF, ErrBadFrame or
// ErrFormat, and frames of a sane size.
func drain(t *testing.T, src Source) {
	t.Helper()
	defer src.Close()
	for i := 0; i < 64; i++ {
		f, err := src.Next(context.Background())
		if err != nil {
			if errors.Is(err, ErrBadFrame) {
				continue
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrFormat) {
				t.Fatalf("%s: error outside the contract: %v", src, err)
			}
			return
		}
		b := f.Image.Bounds()
		if b.Empty() || int64(b.Dx())*int64(b.Dy()) > MaxStreamPixels {
			t.Fatalf("%s: frame of %v", src, b)
		}
	}
}

// FuzzStreams feeds arbitrary bytes to the Y4M, MJPEG and raw stream
// readers (what `run --camera stdin:...` reads from a pipe).
func FuzzStreams(f *testing.F) {
	f.Add([]byte("YUV4MPEG2 W4 H2 F30:1 C420jpeg\nFRAME\n" + string(make([]byte, 8+2+2)) + "FRAME\n"))
	f.Add([]byte("YUV4MPEG2 W2 H2 Cmono\nFRAME\n\x00\x01\x02\x03FRAME\n\x00"))
	f.Add([]byte("YUV4MPEG2 W8193 H8193\n"))
	f.Add([]byte("\xff\xd8\xff\xd9\xff\xd8\xff\xe0\x00\x02\xff\xd9"))
	f.Add(bytes.Repeat([]byte{7}, 3*4*3+5))
	f.Fuzz(func(t *testing.T, data []byte) {
		drain(t, NewY4M(bytes.NewReader(data), "fuzz"))
		drain(t, NewMJPEG(bytes.NewReader(data), "fuzz"))
		for _, format := range []string{"gray", "yuv420", "yuyv", "rgb"} {
			src, err := NewRaw(bytes.NewReader(data), "fuzz", format, 3, 4)
			if format == "yuyv" {
				if err == nil {
					t.Fatal("yuyv with an odd width accepted")
				}
				src, err = NewRaw(bytes.NewReader(data), "fuzz", format, 4, 2)
			}
			if err != nil {
				t.Fatal(err)
			}
			drain(t, src)
		}
	})
}
