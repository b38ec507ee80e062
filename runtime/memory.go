package runtime

import (
	"errors"
	"fmt"

	"github.com/edgecnn/edgecnn/internal/memlimit"
)

// ErrMemory is wrapped by the error of an engine that refuses a model
// needing more memory than its limit (Options.MaxMemory).
var ErrMemory = errors.New("model needs more memory than the engine may use")

// MemoryLimit is the bytes an engine may allocate for activations and work
// buffers: MaxMemory, or memlimit.EngineDefault when it is 0.
func (o Options) MemoryLimit() int64 {
	if o.MaxMemory > 0 {
		return o.MaxMemory
	}
	return memlimit.EngineDefault()
}

// CheckMemory refuses, with one message for every backend, a model whose
// single-image run needs need bytes of what (e.g. "activations and work
// buffers") when that is above limit.
func CheckMemory(backend, what string, need, limit int64) error {
	if need <= limit {
		return nil
	}
	return fmt.Errorf("%s: %w: the model needs %s of %s for one image, above the limit of %s (set by --engine-memory; default a quarter of this machine's memory, at most 1 GiB)",
		backend, ErrMemory, MiB(need), what, MiB(limit))
}

// MiB formats a byte count for messages: whole MiB from 10 MiB on, else
// one decimal.
func MiB(n int64) string {
	if n >= 10<<20 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
