//go:build linux

package camera

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/blackjack/webcam"
)

// V4L2 pixel formats (fourcc codes).
const (
	fourccYUYV  webcam.PixelFormat = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	fourccMJPEG webcam.PixelFormat = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
)

type v4l2 struct {
	dev    string
	cam    *webcam.Webcam
	format webcam.PixelFormat
	w, h   int
	seq    uint64
	mu     sync.Mutex
	closed bool
}

// OpenV4L2 opens a V4L2 capture device (opt.Device), negotiates YUYV or
// MJPEG (opt.Format "yuyv"/"mjpeg", default: MJPEG when offered, else
// YUYV) at opt.Width×opt.Height and opt.FPS, and starts streaming.
// YUYV frames are *image.YCbCr 4:2:2, MJPEG frames whatever the JPEG holds.
func OpenV4L2(opt Options) (Source, error) {
	opt = opt.withDefaults()
	if _, err := os.Stat(opt.Device); err != nil {
		return nil, fmt.Errorf("camera: v4l2: %w: %s: %v (is the webcam plugged in? try --camera auto)", ErrNoCamera, opt.Device, err)
	}
	cam, err := webcam.Open(opt.Device)
	if err != nil {
		return nil, fmt.Errorf("camera: v4l2: opening %s: %w", opt.Device, err)
	}
	v := &v4l2{dev: opt.Device, cam: cam}
	formats := cam.GetSupportedFormats()
	var want []webcam.PixelFormat
	switch opt.Format {
	case "yuyv":
		want = []webcam.PixelFormat{fourccYUYV}
	case "mjpeg":
		want = []webcam.PixelFormat{fourccMJPEG}
	case "":
		want = []webcam.PixelFormat{fourccMJPEG, fourccYUYV}
	default:
		cam.Close()
		return nil, fmt.Errorf("camera: v4l2: %w: format %q (want yuyv or mjpeg)", ErrSpec, opt.Format)
	}
	for _, f := range want {
		if _, ok := formats[f]; ok {
			v.format = f
			break
		}
	}
	if v.format == 0 {
		cam.Close()
		var have []string
		for _, d := range formats {
			have = append(have, d)
		}
		return nil, fmt.Errorf("camera: v4l2: %s offers none of the wanted formats (YUYV, MJPEG); it has %v", opt.Device, have)
	}
	f, w, h, err := cam.SetImageFormat(v.format, uint32(opt.Width), uint32(opt.Height))
	if err != nil {
		cam.Close()
		return nil, fmt.Errorf("camera: v4l2: %s: set format %dx%d: %w", opt.Device, opt.Width, opt.Height, err)
	}
	if f != v.format {
		cam.Close()
		return nil, fmt.Errorf("camera: v4l2: %s: driver switched the pixel format to %08x", opt.Device, uint32(f))
	}
	v.w, v.h = int(w), int(h)
	if err := cam.SetFramerate(float32(opt.FPS)); err != nil {
		// Not every driver supports VIDIOC_S_PARM; capture still works.
		_ = err
	}
	if err := cam.SetBufferCount(4); err != nil {
		cam.Close()
		return nil, fmt.Errorf("camera: v4l2: %s: buffers: %w", opt.Device, err)
	}
	if err := cam.StartStreaming(); err != nil {
		cam.Close()
		return nil, fmt.Errorf("camera: v4l2: %s: start streaming: %w", opt.Device, err)
	}
	return v, nil
}

func (v *v4l2) String() string {
	f := "YUYV"
	if v.format == fourccMJPEG {
		f = "MJPEG"
	}
	return fmt.Sprintf("v4l2 %s %dx%d %s", v.dev, v.w, v.h, f)
}

func (v *v4l2) Next(ctx context.Context) (Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		v.mu.Lock()
		if v.closed {
			v.mu.Unlock()
			return Frame{}, ErrClosed
		}
		err := v.cam.WaitForFrame(200) // ms; short so ctx is honoured
		var to *webcam.Timeout
		if errors.As(err, &to) {
			v.mu.Unlock()
			continue
		}
		if err != nil {
			v.mu.Unlock()
			return Frame{}, fmt.Errorf("camera: v4l2: %s: %w", v.dev, err)
		}
		b, err := v.cam.ReadFrame()
		if err != nil {
			v.mu.Unlock()
			return Frame{}, fmt.Errorf("camera: v4l2: %s: read: %w", v.dev, err)
		}
		if len(b) == 0 {
			v.mu.Unlock()
			continue
		}
		// Copy out of the mmap'ed buffer before the driver reuses it.
		var f Frame
		if v.format == fourccYUYV {
			if len(b) < 2*v.w*v.h {
				v.mu.Unlock()
				return Frame{}, fmt.Errorf("camera: v4l2: %w: YUYV frame of %d bytes, want %d", ErrBadFrame, len(b), 2*v.w*v.h)
			}
			f.Image = YUYVToYCbCr(b, v.w, v.h)
		} else {
			img, err := DecodeJPEG(b)
			if err != nil {
				v.mu.Unlock()
				return Frame{}, err
			}
			f.Image = img
		}
		v.mu.Unlock()
		v.seq++
		f.Seq, f.Time = v.seq, time.Now()
		return f, nil
	}
}

func (v *v4l2) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	v.cam.StopStreaming()
	return v.cam.Close()
}
