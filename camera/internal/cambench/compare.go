package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

// wilson is the 95 % Wilson score interval of k successes in n trials.
func wilson(k, n int) [2]float64 {
	if n <= 0 {
		return [2]float64{0, 1}
	}
	const z = 1.959963984540054
	p, fn := float64(k)/float64(n), float64(n)
	d := 1 + z*z/fn
	c := (p + z*z/(2*fn)) / d
	h := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / d
	return [2]float64{max(0, c-h), min(1, c+h)}
}

// mcnemar is the exact two-sided McNemar p-value of b photos read right
// only by one run and c only by the other (a binomial test of b against
// b + c at one half).
func mcnemar(b, c int) float64 {
	n, k := b+c, min(b, c)
	if n == 0 {
		return 1
	}
	// Σ_{i ≤ k} C(n, i) / 2^n, in logarithms so that large n stay finite
	var s float64
	lg, _ := math.Lgamma(float64(n + 1))
	for i := 0; i <= k; i++ {
		li, _ := math.Lgamma(float64(i + 1))
		lr, _ := math.Lgamma(float64(n - i + 1))
		s += math.Exp(lg - li - lr - float64(n)*math.Ln2)
	}
	return min(1, 2*s)
}

// pairing is a paired comparison of two numbers runs on the same photos.
type pairing struct {
	OnlyHere, OnlyThere, BothWrong int
	P                              float64 // mcnemar(OnlyHere, OnlyThere)
}

// compareRuns pairs run a (this one) with run b, read from its -json
// report: both must have read the same photos of the same kind and split.
func compareRuns(a, b NumbersReport) (pairing, error) {
	if a.Kind != b.Kind || a.Split != b.Split || a.First != b.First || a.Photos != b.Photos {
		return pairing{}, fmt.Errorf("numbers: -against: that run read %d %s/%s photos from %d, this one %d %s/%s from %d: not the same photos",
			b.Photos, b.Kind, b.Split, b.First, a.Photos, a.Kind, a.Split, a.First)
	}
	if len(b.Misread) != b.Photos-b.Exact || len(a.Misread) != a.Photos-a.Exact {
		return pairing{}, fmt.Errorf("numbers: -against: the report lists %d misread photos of %d (written by an older cambench?)", len(b.Misread), b.Photos-b.Exact)
	}
	there := make(map[int]bool, len(b.Misread))
	for _, i := range b.Misread {
		there[i] = true
	}
	var p pairing
	for _, i := range a.Misread {
		if there[i] {
			p.BothWrong++
			delete(there, i)
		} else {
			p.OnlyThere++
		}
	}
	p.OnlyHere = len(there)
	p.P = mcnemar(p.OnlyHere, p.OnlyThere)
	return p, nil
}

// readReport reads a numbers report written with -json.
func readReport(path string) (NumbersReport, error) {
	var r NumbersReport
	b, err := os.ReadFile(path)
	if err != nil {
		return r, fmt.Errorf("numbers: -against: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("numbers: -against %s: %w", path, err)
	}
	return r, nil
}
