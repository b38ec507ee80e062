package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LibcameraArgs is the command line (without the binary) edgecnn runs to
// stream from the Raspberry Pi camera: no preview, run forever, the
// requested size and rate, MJPEG or planar YUV420 to stdout, flushed per
// frame so latency stays one frame.
func LibcameraArgs(opt Options) []string {
	opt = opt.withDefaults()
	codec := "mjpeg"
	if opt.Format == "yuv420" || opt.Format == "i420" {
		codec = "yuv420"
	}
	return []string{
		"-t", "0", "-n",
		"--width", strconv.Itoa(opt.Width), "--height", strconv.Itoa(opt.Height),
		"--framerate", strconv.FormatFloat(opt.FPS, 'f', -1, 64),
		"--codec", codec, "--flush", "-o", "-",
	}
}

type libcamera struct {
	bin   string
	args  []string
	cmd   *exec.Cmd
	inner Source
	errb  *tailBuffer
	once  sync.Once
	done  chan struct{}
	werr  error
}

// OpenLibcamera starts rpicam-vid (or libcamera-vid on older systems)
// writing MJPEG (default) or, with opt.Format "yuv420", raw I420 frames to
// a pipe, and reads frames from it. When the program exits, Next returns
// an error carrying its exit status and the tail of its stderr, so the
// caller can reopen (reconnect) the source.
func OpenLibcamera(ctx context.Context, opt Options) (Source, error) {
	opt = opt.withDefaults()
	if opt.Format != "" && opt.Format != "mjpeg" && opt.Format != "yuv420" && opt.Format != "i420" {
		return nil, fmt.Errorf("camera: libcamera: %w: format %q (want mjpeg or yuv420)", ErrSpec, opt.Format)
	}
	var bin string
	for _, b := range LibcameraBinaries {
		if p, err := opt.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		return nil, fmt.Errorf("camera: libcamera: %w: neither of %s is on PATH (install rpicam-apps)", ErrNoCamera, strings.Join(LibcameraBinaries, ", "))
	}
	l := &libcamera{bin: bin, args: LibcameraArgs(opt), errb: &tailBuffer{max: 4096}, done: make(chan struct{})}
	l.cmd = exec.Command(bin, l.args...)
	l.cmd.Stderr = l.errb
	out, err := l.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("camera: libcamera: %w", err)
	}
	if err := l.cmd.Start(); err != nil {
		return nil, fmt.Errorf("camera: libcamera: starting %s: %w", bin, err)
	}
	go func() { l.werr = l.cmd.Wait(); close(l.done) }()
	if strings.Contains(strings.Join(l.args, " "), "yuv420") {
		l.inner, err = NewRaw(out, bin, "yuv420", opt.Width, opt.Height)
		if err != nil {
			l.Close()
			return nil, err
		}
	} else {
		l.inner = NewMJPEG(out, bin)
	}
	return l, nil
}

func (l *libcamera) String() string { return l.bin + " " + strings.Join(l.args, " ") }

func (l *libcamera) Next(ctx context.Context) (Frame, error) {
	f, err := l.inner.Next(ctx)
	if err == nil || errors.Is(err, ErrBadFrame) || ctx.Err() != nil || errors.Is(err, ErrClosed) {
		return f, err
	}
	// The pipe ended or broke: the program is gone (or going).
	select {
	case <-l.done:
	case <-time.After(2 * time.Second):
		l.kill()
		<-l.done
	}
	return Frame{}, fmt.Errorf("camera: libcamera: %s exited (%v) after %v: %s", l.bin, l.werr, err, l.errb.String())
}

func (l *libcamera) kill() {
	if l.cmd.Process != nil {
		l.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-l.done:
		case <-time.After(time.Second):
			l.cmd.Process.Kill()
		}
	}
}

// Close stops the program and waits for it.
func (l *libcamera) Close() error {
	l.once.Do(func() {
		if l.inner != nil {
			l.inner.Close()
		}
		l.kill()
		<-l.done
	})
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if s == "" {
		return "(no stderr output)"
	}
	return s
}

var _ io.Writer = (*tailBuffer)(nil)
