package train

// RNG is a small deterministic random generator (SplitMix64). Every random
// decision of training (initialization, shuffling, augmentation, dropout)
// draws from an RNG derived from the seed and the position in the run
// (epoch, image), so a resumed run repeats an uninterrupted one exactly and
// nothing depends on goroutine scheduling.
type RNG struct{ s uint64 }

// NewRNG returns a generator for the stream identified by seed and keys.
func NewRNG(seed uint64, keys ...uint64) RNG {
	r := RNG{s: seed ^ 0x6a09e667f3bcc909}
	for _, k := range keys {
		r.s = mix(r.s ^ mix(k+0x3c6ef372fe94f82b))
	}
	return r
}

func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Uint64 returns 64 random bits.
func (r *RNG) Uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// Float32 returns a uniform value in [0, 1).
func (r *RNG) Float32() float32 { return float32(r.Uint64()>>40) / (1 << 24) }

// Uniform returns a uniform value in [lo, hi).
func (r *RNG) Uniform(lo, hi float32) float32 { return lo + (hi-lo)*r.Float32() }

// Intn returns a uniform integer in [0, n) (n > 0).
func (r *RNG) Intn(n int) int { return int((r.Uint64() >> 1) % uint64(n)) }

// Random streams (the first key of NewRNG after the seed).
const (
	streamInit uint64 = iota + 1
	streamShuffle
	streamAugment
	streamDropout
)
