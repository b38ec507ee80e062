package agent

import (
	"fmt"
	"github.com/edgecnn/edgecnn/internal/memlimit"
	"image/color"
	"math"
	"time"
)

// Limits bound what the HTTP API holds in memory at once. LimitsFor
// derives them from the memory the process may use; every field can be
// overridden (flags of `edgecnn run`) and is range-checked by Check.
type Limits struct {
	// Workers is the number of concurrent /predict recognitions.
	Workers int
	// MaxConns is the number of open HTTP connections served; a
	// connection above it is answered 503 with Retry-After at once
	// (GET /healthz excepted) and closed.
	MaxConns int
	// DecodeBudget is the number of bytes that decoded images in flight
	// may occupy together. A request reserves its image's cost (width ×
	// height × bytes per decoded pixel plus the preprocessing copies, see
	// DecodeCost) from image.DecodeConfig before decoding starts.
	DecodeBudget int64
	// MaxPixels is the largest image /predict accepts.
	MaxPixels int
	// MaxUpload is the /predict body limit in bytes.
	MaxUpload int64
	// QueueWait is how long a request waits for a worker and budget
	// before it is answered 503 with Retry-After.
	QueueWait time.Duration
}

// The allowed ranges of the limits (Check reports them).
const (
	MinWorkers, MaxWorkers           = 1, 64
	MinConns, MaxConnsLimit          = 4, 65536
	MinDecodeBudget, MaxDecodeBudget = 1 << 20, 64 << 30
	MinPixels, MaxPixelsLimit        = 64, 256 << 20
	MinUpload, MaxUploadLimit        = 1 << 10, 1 << 30
	MinQueueWait, MaxQueueWait       = time.Millisecond, 10 * time.Minute
)

// LimitsFor derives the HTTP limits from mem, the bytes of memory the
// process may use (see MemoryAvailable). On a 1 GiB board: 2 workers, 512
// connections, a 256 MiB decode budget (one 16-bit 16-Mpixel PNG at a
// time), 16 Mpixel images and 8 MiB uploads.
func LimitsFor(mem int64) Limits {
	if mem <= 0 {
		mem = 1 << 30
	}
	l := Limits{
		Workers:      2,
		MaxConns:     int(clamp(mem/(2<<20), 64, 4096)),
		DecodeBudget: clamp(mem/4, 32<<20, 4<<30),
		MaxUpload:    clamp(mem/128, 1<<20, 32<<20),
		QueueWait:    2 * time.Second,
	}
	if mem >= 4<<30 {
		l.Workers = 4
	}
	// The largest image is one that fits the budget as 8-bit RGBA, at
	// most 16 Mpixel.
	l.MaxPixels = int(clamp(l.DecodeBudget/DecodeCost(1, 1, 4), 1<<20, 16<<20))
	return l
}

// GoMemoryLimit is the soft limit for the Go garbage collector
// (debug.SetMemoryLimit) that goes with LimitsFor(mem): 3/8 of mem, so
// that the heap stays well below a cgroup limit of mem while images are
// decoded.
func GoMemoryLimit(mem int64) int64 {
	if mem <= 0 {
		return math.MaxInt64
	}
	return mem / 8 * 3
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// Check range-checks every limit and names the allowed range of a bad one.
func (l Limits) Check() error {
	if err := CheckInt("http-workers", l.Workers, MinWorkers, MaxWorkers); err != nil {
		return err
	}
	if err := CheckInt("http-max-conns", l.MaxConns, MinConns, MaxConnsLimit); err != nil {
		return err
	}
	if err := CheckInt64("http-decode-budget", l.DecodeBudget, MinDecodeBudget, MaxDecodeBudget); err != nil {
		return err
	}
	if err := CheckInt("http-max-pixels", l.MaxPixels, MinPixels, MaxPixelsLimit); err != nil {
		return err
	}
	if err := CheckInt64("http-max-upload", l.MaxUpload, MinUpload, MaxUploadLimit); err != nil {
		return err
	}
	if l.QueueWait < MinQueueWait || l.QueueWait > MaxQueueWait {
		return fmt.Errorf("http-queue-wait %v out of range [%v, %v]", l.QueueWait, MinQueueWait, MaxQueueWait)
	}
	return nil
}

// CheckInt reports an error naming the allowed range when v is outside
// [lo, hi].
func CheckInt(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d out of range [%d, %d]", name, v, lo, hi)
	}
	return nil
}

// CheckInt64 is CheckInt for int64 values.
func CheckInt64(name string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d out of range [%d, %d]", name, v, lo, hi)
	}
	return nil
}

// CheckFloat reports an error naming the allowed range when v is NaN,
// infinite or outside [lo, hi].
func CheckFloat(name string, v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		return fmt.Errorf("%s %v out of range [%v, %v]", name, v, lo, hi)
	}
	return nil
}

// DecodeCost is the memory one /predict image of w×h pixels occupies while
// it is decoded and recognized: the decoded image at bpp bytes per pixel
// (see BytesPerPixel) plus the recognizer's 8-bit luma copy with slack
// (2 bytes per pixel).
func DecodeCost(w, h int, bpp int64) int64 {
	return int64(w) * int64(h) * (bpp + 2)
}

// BytesPerPixel is the size of one decoded pixel of an image whose
// image.DecodeConfig reported color model cm: 8 for 16-bit RGBA (PNG), 4
// for 8-bit RGBA and CMYK, 3 for Y'CbCr (4:4:4 at worst), 2 for 16-bit
// gray, 1 for gray and paletted images, 8 for anything unknown.
func BytesPerPixel(cm color.Model) int64 {
	if _, ok := cm.(color.Palette); ok { // a slice: not comparable
		return 1
	}
	switch cm {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.AlphaModel:
		return 4
	case color.YCbCrModel, color.NYCbCrAModel:
		return 4
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.GrayModel:
		return 1
	}
	return 8
}

// MemoryAvailable returns the bytes of memory this process may use (see
// memlimit.Available) and where the number came from.
func MemoryAvailable() (int64, string) { return memlimit.Available() }
