package native

import (
	"fmt"

	"github.com/edgecnn/edgecnn/internal/memlimit"
	"github.com/edgecnn/edgecnn/runtime"
)

// MemoryNeed is the number of bytes Run allocates for batch images:
// every activation tensor, the caller's input and output buffers, and the
// per-worker work buffers. Constants (the weights) are not counted: they
// are already in memory, as read from the model file.
func (e *Engine) MemoryNeed(batch int) int64 {
	var per int64
	for i := range e.vals {
		v := &e.vals[i]
		if v.konst {
			continue
		}
		per += int64(v.per) * int64(v.t.Type.Size())
	}
	per += 4 * int64(e.vals[e.in].per+e.vals[e.out].per) // the caller's float32 buffers
	per += int64(e.scr.needFlip)
	s := &e.scr
	fixed := int64(e.cfg.threads) * (int64(s.needA) + 4*int64(s.needC) + 4*int64(s.needM) + 4*int64(s.needF))
	return fixed + int64(batch)*per
}

// setMemoryLimit refuses a model whose single-image run needs more than
// limit bytes (0: memlimit.EngineDefault), before anything is allocated.
func (e *Engine) setMemoryLimit(limit int64) error {
	if limit <= 0 {
		limit = memlimit.EngineDefault()
	}
	e.maxMem = limit
	return runtime.CheckMemory("native", "activations and work buffers", e.MemoryNeed(1), limit)
}

// checkBatch refuses a batch that would take more than the limit.
func (e *Engine) checkBatch(batch int) error {
	if need := e.MemoryNeed(batch); e.maxMem > 0 && need > e.maxMem {
		return fmt.Errorf("native: %w: batch %d needs %s of activations, above the limit of %s; run smaller batches",
			runtime.ErrInput, batch, mib(need), mib(e.maxMem))
	}
	return nil
}

func mib(n int64) string { return runtime.MiB(n) }
