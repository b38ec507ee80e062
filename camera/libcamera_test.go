package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRpicam writes an executable rpicam-vid into a temporary directory:
// it records its arguments, writes the given stream to stdout, says
// something on stderr and exits with status 3 (a camera that dies).
func fakeRpicam(t *testing.T, stream []byte) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "stream.bin")
	argsFile = filepath.Join(dir, "args")
	if err := os.WriteFile(data, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "rpicam-vid")
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" > %s\ncat %s\necho 'ERROR: *** no cameras available ***' >&2\nexit 3\n", argsFile, data)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsFile
}

func lookOnly(bin string) func(string) (string, error) {
	return func(name string) (string, error) {
		if name == filepath.Base(bin) {
			return bin, nil
		}
		return "", errors.New("not found")
	}
}

func TestLibcameraMJPEG(t *testing.T) {
	var stream bytes.Buffer
	for _, v := range []uint8{30, 90, 150} {
		stream.Write(grayJPEG(t, 32, 24, v))
	}
	bin, argsFile := fakeRpicam(t, stream.Bytes())
	ctx := context.Background()
	src, err := Open(ctx, "libcamera", Options{Width: 32, Height: 24, FPS: 15, LookPath: lookOnly(bin)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := 0; i < 3; i++ {
		f, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if f.Image.Bounds().Dx() != 32 {
			t.Fatalf("frame %d: %v", i, f.Image.Bounds())
		}
	}
	// The program exited: an error (reconnect), not io.EOF (end of input),
	// carrying its exit status and stderr.
	_, err = src.Next(ctx)
	if err == nil || errors.Is(err, io.EOF) || !strings.Contains(err.Error(), "no cameras available") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("after exit: %v", err)
	}
	args, _ := os.ReadFile(argsFile)
	want := "-t 0 -n --width 32 --height 24 --framerate 15 --codec mjpeg --flush -o -"
	if strings.TrimSpace(string(args)) != want {
		t.Fatalf("command line %q, want %q", args, want)
	}
	if src.Close() != nil || src.Close() != nil {
		t.Fatal("close not idempotent")
	}
}

func TestLibcameraYUV420(t *testing.T) {
	w, h := 6, 4
	frame := append(bytes.Repeat([]byte{77}, w*h), bytes.Repeat([]byte{128}, 2*(w/2)*(h/2))...)
	bin, argsFile := fakeRpicam(t, append(frame, frame...))
	ctx := context.Background()
	src, err := Open(ctx, "libcamera:yuv420", Options{Width: w, Height: h, LookPath: lookOnly(bin)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := 0; i < 2; i++ {
		f, err := src.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if yc := f.Image.(*image.YCbCr); yc.Y[5] != 77 {
			t.Fatalf("Y %v", yc.Y)
		}
	}
	if _, err := src.Next(ctx); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("after exit: %v", err)
	}
	args, _ := os.ReadFile(argsFile)
	if !strings.Contains(string(args), "--codec yuv420") {
		t.Fatalf("args %q", args)
	}
}

func TestLibcameraMissing(t *testing.T) {
	_, err := OpenLibcamera(context.Background(), Options{LookPath: func(string) (string, error) { return "", errors.New("nope") }})
	if !errors.Is(err, ErrNoCamera) || !strings.Contains(err.Error(), "rpicam-vid") {
		t.Fatalf("err %v", err)
	}
}

func TestV4L2MissingAndNotACamera(t *testing.T) {
	_, err := OpenV4L2(Options{Device: "/dev/video-does-not-exist"})
	if !errors.Is(err, ErrNoCamera) || !strings.Contains(err.Error(), "/dev/video-does-not-exist") {
		t.Fatalf("missing device: %v", err)
	}
	// A device node that is not a V4L2 capture device.
	_, err = OpenV4L2(Options{Device: "/dev/null"})
	if err == nil || !strings.Contains(err.Error(), "/dev/null") {
		t.Fatalf("/dev/null: %v", err)
	}
}

func TestAuto(t *testing.T) {
	none := func(string) (string, error) { return "", errors.New("not found") }
	noDevs := func(string) ([]string, error) { return nil, nil }
	_, err := Open(context.Background(), "auto", Options{LookPath: none, Glob: noDevs})
	if !errors.Is(err, ErrNoCamera) || !strings.Contains(err.Error(), "rpicam-vid, libcamera-vid") || !strings.Contains(err.Error(), "/dev/video*") {
		t.Fatalf("nothing present: %v", err)
	}
	// A /dev/video node that is not a camera is tried and reported.
	_, err = Open(context.Background(), "auto", Options{LookPath: none, Glob: func(string) ([]string, error) { return []string{"/dev/null"}, nil }})
	if !errors.Is(err, ErrNoCamera) || !strings.Contains(err.Error(), "/dev/null") {
		t.Fatalf("bad node: %v", err)
	}
	bin, _ := fakeRpicam(t, grayJPEG(t, 8, 8, 1))
	src, err := Open(context.Background(), "auto", Options{LookPath: lookOnly(bin), Glob: noDevs})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !strings.Contains(src.String(), "rpicam-vid") {
		t.Fatalf("auto picked %s", src)
	}
}
