package data

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Sampler draws the training order of several sources mixed by weight:
// every position of an epoch goes to the source whose share is furthest
// behind its weight (smooth weighted round robin), so every batch holds
// each source's share (equal weights, two sources, batch 64: 32 + 32);
// within a source, images come in a fresh random permutation per pass,
// so a small source repeats (all its images once per pass) while a
// large one is sampled without repetition.
type Sampler struct {
	Sizes   []int     // images per source
	Weights []float64 // normalized, sum 1
	Offset  func(source, i int) int
}

// NewSampler checks sizes and weights (nil: equal) and normalizes them.
func NewSampler(sizes []int, weights []float64, offset func(source, i int) int) (*Sampler, error) {
	if len(sizes) == 0 {
		return nil, fmt.Errorf("data: no sources")
	}
	if weights == nil {
		weights = make([]float64, len(sizes))
		for i := range weights {
			weights[i] = 1
		}
	}
	if len(weights) != len(sizes) {
		return nil, fmt.Errorf("data: --mix has %d weights for %d --data sources", len(weights), len(sizes))
	}
	var sum float64
	for i, w := range weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("data: mix weight %v of source %d must be a non-negative number", w, i+1)
		}
		if sizes[i] <= 0 && w > 0 {
			return nil, fmt.Errorf("data: source %d has no images", i+1)
		}
		sum += w
	}
	if !(sum > 0) {
		return nil, fmt.Errorf("data: mix weights are all zero")
	}
	s := &Sampler{Sizes: sizes, Offset: offset}
	for _, w := range weights {
		s.Weights = append(s.Weights, w/sum)
	}
	return s, nil
}

// ParseMix parses --mix "a,b,…" (or "a:b:…") into weights.
func ParseMix(s string) ([]float64, error) {
	if s == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ':' }) {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(v >= 0) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("data: --mix %q: %q is not a non-negative number", s, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// Order fills order (one epoch) with pool indices (Offset(source, i)),
// deterministic in seed and epoch.
func (s *Sampler) Order(seed uint64, epoch int, order []int) {
	S := len(s.Sizes)
	credit := make([]float64, S)
	drawn := make([]int, S)
	perms := make([][]int, S)
	for pos := range order {
		best := -1
		for k := 0; k < S; k++ {
			if s.Weights[k] == 0 {
				continue
			}
			credit[k] += s.Weights[k]
			if best < 0 || credit[k] > credit[best] {
				best = k
			}
		}
		credit[best]--
		n := s.Sizes[best]
		pass, i := drawn[best]/n, drawn[best]%n
		if i == 0 {
			r := rand.New(rand.NewPCG(seed^0x6d6978, uint64(epoch)<<32|uint64(best)<<20|uint64(pass)))
			perms[best] = r.Perm(n)
		}
		drawn[best]++
		order[pos] = s.Offset(best, perms[best][i])
	}
}

// OpenMixed opens the sources of `--data PATH... --mix W,...`: every
// path with OpenAll, the weights parsed by ParseMix (nil: equal shares),
// and writes each image folder's summary to w.
func OpenMixed(ctx context.Context, paths []string, mix string, opt OpenOptions, w io.Writer) ([]*Source, []float64, error) {
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no --data source")
	}
	weights, err := ParseMix(mix)
	if err != nil {
		return nil, nil, err
	}
	if weights != nil && len(weights) != len(paths) {
		return nil, nil, fmt.Errorf("--mix has %d weights for %d --data sources", len(weights), len(paths))
	}
	srcs, err := OpenAll(ctx, paths, opt)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range srcs {
		if s.Info.Kind == KindFolder {
			fmt.Fprintf(w, "%s: %s\n", s.Info.Path, s.Summary)
		}
	}
	return srcs, weights, nil
}
