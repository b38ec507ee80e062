package qmath

import (
	"math"
	"math/big"
	"math/rand"
	"testing"
)

func TestQuantizeMultiplier(t *testing.T) {
	cases := []struct {
		real  float64
		m     int32
		shift int
	}{
		{0.5, 1 << 30, 0},
		{1, 1 << 30, 1},
		{0.25, 1 << 30, -1},
		{0, 0, 0},
		{math.Ldexp(1, -40), 0, 0},
	}
	for _, c := range cases {
		m, s := QuantizeMultiplier(c.real)
		if m != c.m || s != c.shift {
			t.Errorf("QuantizeMultiplier(%v) = %d,%d want %d,%d", c.real, m, s, c.m, c.shift)
		}
	}
	// Mantissa always in [2^30, 2^31) and the pair reproduces the value.
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 10000; i++ {
		v := math.Ldexp(r.Float64()+0.01, -r.Intn(20))
		m, s := QuantizeMultiplier(v)
		if m < 1<<30 {
			t.Fatalf("mantissa %d below 2^30 for %v", m, v)
		}
		got := math.Ldexp(float64(m), s-31)
		if math.Abs(got-v)/v > 1e-9 {
			t.Fatalf("QuantizeMultiplier(%v) reproduces %v", v, got)
		}
	}
}

// exactHighMul computes floor((a·b + 2^30) / 2^31), i.e. a·b/2^31 rounded
// half toward +inf, with big integers: what gemmlowp's nudge-and-truncate
// and arm64 SQRDMULH compute.
func exactHighMul(a, b int32) int32 {
	p := new(big.Int).Mul(big.NewInt(int64(a)), big.NewInt(int64(b)))
	p.Add(p, big.NewInt(1<<30))
	p.Rsh(p, 31) // big.Int Rsh floors for negative values
	if p.Int64() > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(p.Int64())
}

func TestHighMulMatchesExact(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	edge := []int32{0, 1, -1, math.MaxInt32, math.MinInt32, 1 << 30, -(1 << 30)}
	for _, a := range edge {
		for _, b := range edge {
			if got, want := SaturatingRoundingDoublingHighMul(a, b), exactHighMul(a, b); got != want {
				t.Errorf("HighMul(%d,%d)=%d want %d", a, b, got, want)
			}
		}
	}
	for i := 0; i < 100000; i++ {
		a, b := int32(r.Uint32()), int32(r.Uint32())
		if got, want := SaturatingRoundingDoublingHighMul(a, b), exactHighMul(a, b); got != want {
			t.Fatalf("HighMul(%d,%d)=%d want %d", a, b, got, want)
		}
	}
}

func TestRoundingDivideByPOT(t *testing.T) {
	cases := []struct {
		x    int32
		e    int
		want int32
	}{
		{5, 1, 3}, {-5, 1, -3}, {4, 1, 2}, {7, 2, 2}, {6, 2, 2}, {-6, 2, -2}, {-7, 2, -2}, {-10, 2, -3}, {10, 2, 3}, {9, 0, 9},
	}
	for _, c := range cases {
		if got := RoundingDivideByPOT(c.x, c.e); got != c.want {
			t.Errorf("RDivPOT(%d,%d)=%d want %d", c.x, c.e, got, c.want)
		}
	}
}

func TestSingleVsDoubleClose(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	diff := 0
	const n = 100000
	for i := 0; i < n; i++ {
		acc := int32(r.Intn(1<<20) - 1<<19)
		m, s := QuantizeMultiplier(math.Ldexp(r.Float64()+0.001, -r.Intn(12)))
		d, sg := MulDouble(acc, m, s), MulSingle(acc, m, s)
		if d != sg {
			diff++
			if d-sg > 1 || sg-d > 1 {
				t.Fatalf("rules differ by more than 1: %d vs %d", d, sg)
			}
		}
		exact := float64(acc) * math.Ldexp(float64(m), s-31)
		if math.Abs(float64(d)-exact) > 1.0 {
			t.Fatalf("double rounding far from exact: %d vs %v", d, exact)
		}
	}
	if diff == 0 || diff > n/20 {
		t.Fatalf("unexpected disagreement count %d of %d", diff, n)
	}
}

func TestRequantizeClamp(t *testing.T) {
	m, s := QuantizeMultiplier(1.0)
	if got := Requantize(Double, 1000, m, s, 0, -128, 127); got != 127 {
		t.Fatalf("got %d", got)
	}
	lo, hi := ActivationRange(true, false, 0.1, -5)
	if lo != -5 || hi != 127 {
		t.Fatalf("relu range %d..%d", lo, hi)
	}
	if got := QuantizeValue(0.25, 0.5, 0, -128, 127); got != 1 { // 0.5 rounds away from zero
		t.Fatalf("QuantizeValue = %d", got)
	}
}

func TestParseRounding(t *testing.T) {
	for _, r := range []Rounding{Double, Single, Ruy, FP32} {
		got, err := ParseRounding(r.String())
		if err != nil || got != r {
			t.Fatalf("ParseRounding(%q) = %v, %v", r.String(), got, err)
		}
	}
	if _, err := ParseRounding("banker"); err == nil {
		t.Fatal("unknown rule accepted")
	}
}
