package native

import "github.com/edgecnn/edgecnn/internal/sgemm"

// scratch holds the per-worker work buffers of the fast int8 paths (im2col
// rows and int32 GEMM tiles) and the engine-wide flipped-input buffer.
// Their sizes do not depend on the batch (steps work in fixed chunks),
// except flip, which grows with the batch.
type scratch struct {
	needA, needC int      // per-worker sizes requested by the steps
	needFlip     int      // per-image bytes of the largest flipped input
	a            [][]byte // [worker]
	c            [][]int32
	m            [][]int32 // pooled accumulators, one row
	needM        int
	f            [][]float32 // float im2col rows
	needF        int
	sg           []*sgemm.Context
	flip         []byte
}

func (s *scratch) want(a, c, flipPer int) {
	s.needA = max(s.needA, a)
	s.needC = max(s.needC, c)
	s.needFlip = max(s.needFlip, flipPer)
}

func (s *scratch) wantF(n int) { s.needF = max(s.needF, n) }

func (s *scratch) wantM(n int) { s.needM = max(s.needM, n) }

func (s *scratch) grow(e *Engine, batch int) {
	if s.a == nil {
		s.a = make([][]byte, e.cfg.threads)
		s.c = make([][]int32, e.cfg.threads)
		s.m = make([][]int32, e.cfg.threads)
		s.f = make([][]float32, e.cfg.threads)
		s.sg = make([]*sgemm.Context, e.cfg.threads)
		for w := range s.a {
			s.f[w] = make([]float32, s.needF)
			s.sg[w] = sgemm.New(1)
			s.m[w] = make([]int32, s.needM)
			s.a[w] = make([]byte, s.needA)
			s.c[w] = make([]int32, s.needC)
		}
	}
	if n := batch*s.needFlip + 8; n > len(s.flip) {
		s.flip = make([]byte, n)
	}
}

// skipped reports whether a fused step leaves tensor idx unwritten.
func (e *Engine) skipped(idx int) bool { return e.fusedAway[idx] }
