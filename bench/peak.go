package bench

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/kernels/vnnipeak"
)

// Peak is the int8 multiply-accumulate peak of this machine, measured by
// the register-only VPDPBUSD loop of runtime/kernels/vnnipeak on 1…n
// threads at once, and the model's multiply-accumulates per image; with
// both, a row's images/s is a fraction of what the cores can compute.
type Peak struct {
	MACsPerImage int64                   `json:"macs_per_image"`
	Int8         bool                    `json:"int8_model"`
	ByThreads    map[int]vnnipeak.Result `json:"vnni_peak,omitempty"` // threads → rate
	Detail       string                  `json:"detail,omitempty"`    // why there is no peak
}

// MeasurePeak measures the peak for each thread count (about 0.3 s each)
// and reads the model's MACs per image with the native engine.
func MeasurePeak(model string, threads []int) Peak {
	var pk Peak
	if e, err := runtime.Open("native", model, runtime.Options{}); err == nil {
		if m, ok := e.(interface {
			MACs() int64
			Quantized() bool
		}); ok {
			pk.MACsPerImage, pk.Int8 = m.MACs(), m.Quantized()
		}
		e.Close()
	}
	for _, t := range threads {
		r, err := vnnipeak.Measure(t, 300*time.Millisecond)
		if err != nil {
			pk.Detail = err.Error()
			return pk
		}
		if pk.ByThreads == nil {
			pk.ByThreads = map[int]vnnipeak.Result{}
		}
		pk.ByThreads[t] = r
	}
	return pk
}

// Fraction is images/s × MACs per image over the peak of threads cores
// running at once (0: unknown).
func (pk Peak) Fraction(imagesPerS float64, threads int) float64 {
	r, ok := pk.ByThreads[threads]
	if !ok || pk.MACsPerImage == 0 || r.MACsPerS <= 0 {
		return 0
	}
	return imagesPerS * float64(pk.MACsPerImage) / r.MACsPerS
}

// Line describes the peak for people.
func (pk Peak) Line(threads []int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "model: %.2f M MACs/image", float64(pk.MACsPerImage)/1e6)
	if pk.ByThreads == nil {
		fmt.Fprintf(&b, "; VNNI peak: not measured (%s)", pk.Detail)
		return b.String()
	}
	b.WriteString("; VNNI peak (register-only VPDPBUSD loop, runtime/kernels/vnnipeak):")
	for i, t := range threads {
		r := pk.ByThreads[t]
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %d thr %.0f GMAC/s (%.0f/core)", t, r.MACsPerS/1e9, r.MACsPerSCore/1e9)
	}
	return b.String()
}

// LoadAverage is the 1-minute load average (Linux /proc/loadavg), or "?".
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
