package quantize

import (
	"math"
	"math/rand"
	"testing"

	"github.com/edgecnn/edgecnn/runtime/qmath"
)

func TestActivationParams(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 10000; i++ {
		lo := -math.Abs(r.NormFloat64()) * math.Pow(10, float64(r.Intn(6)-3))
		hi := math.Abs(r.NormFloat64()) * math.Pow(10, float64(r.Intn(6)-3))
		switch i % 4 {
		case 1:
			lo = 0
		case 2:
			hi = 0
		}
		s, zp, err := activationParams(Range{lo, hi})
		if err != nil {
			t.Fatal(err)
		}
		if !(s > 0) || math.IsInf(float64(s), 0) || zp < -128 || zp > 127 {
			t.Fatalf("range [%g, %g]: scale %g zp %d", lo, hi, s, zp)
		}
		if hi-lo < minSpan {
			continue
		}
		// 0 is exact; the ends are representable within one step.
		if q := qmath.QuantizeValue(0, s, zp, -128, 127); q != zp {
			t.Fatalf("range [%g, %g]: 0 quantizes to %d, zero point %d", lo, hi, q, zp)
		}
		for _, v := range []float64{lo, hi} {
			q := qmath.QuantizeValue(float32(v), s, zp, -128, 127)
			back := float64(s) * float64(q-zp)
			if math.Abs(back-v) > 1.01*float64(s) {
				t.Fatalf("range [%g, %g] (scale %g zp %d): %g → %d → %g", lo, hi, s, zp, v, q, back)
			}
		}
	}
	if s, zp, _ := activationParams(Range{0, 0}); s != 1 || zp != -128 {
		t.Errorf("zero range: scale %v zp %d, want 1, -128", s, zp)
	}
	if _, _, err := activationParams(Range{math.NaN(), 1}); err == nil {
		t.Error("NaN range accepted")
	}
	if _, _, err := activationParams(Range{0, math.Inf(1)}); err == nil {
		t.Error("infinite range accepted")
	}
	// ReLU outputs get zero point -128 (all 256 levels for [0, hi]).
	if _, zp, _ := activationParams(Range{0, 6}); zp != -128 {
		t.Errorf("[0, 6]: zero point %d, want -128", zp)
	}
}

func TestQuantizeLayer(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	const oc, per = 4, 9
	w := make([]float32, oc*per)
	for i := range w {
		w[i] = float32(r.NormFloat64()) * float32(1+i/per) // channels of different magnitude
	}
	for i := 2 * per; i < 3*per; i++ {
		w[i] = 0 // channel 2 is all zero
	}
	b := []float32{0.5, -1, 2, 0}
	for _, perCh := range []bool{true, false} {
		qw, qb, sw, err := quantizeLayer(w, b, oc, 0.02, perCh)
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < oc; c++ {
			if !(sw[c] > 0) || math.IsInf(float64(sw[c]), 0) {
				t.Fatalf("perChannel=%v channel %d: scale %v", perCh, c, sw[c])
			}
			if !perCh && sw[c] != sw[0] {
				t.Fatalf("per-tensor scales differ: %v", sw)
			}
			maxQ := 0
			for i := c * per; i < (c+1)*per; i++ {
				q := int(qw[i])
				if q < -127 || q > 127 {
					t.Fatalf("weight %d quantized to %d, outside [-127, 127]", i, q)
				}
				maxQ = max(maxQ, q, -q)
				if e := math.Abs(float64(w[i]) - float64(sw[c])*float64(q)); e > float64(sw[c])/2*1.0001 {
					t.Fatalf("weight %d: error %g exceeds half a step %g", i, e, sw[c]/2)
				}
			}
			if c == 2 && maxQ != 0 {
				t.Errorf("all-zero channel quantized to nonzero values")
			}
			if perCh && c != 2 && maxQ != 127 {
				t.Errorf("channel %d: largest |q| = %d, want 127 (scale = max|w|/127)", c, maxQ)
			}
			want := math.Round(float64(b[c]) / (0.02 * float64(sw[c])))
			if float64(qb[c]) != want {
				t.Errorf("bias %d = %d, want round(b/(s_in·s_w)) = %v", c, qb[c], want)
			}
		}
	}
	// A huge bias with tiny weights raises the weight scale instead of
	// overflowing int32.
	qw, qb, sw, err := quantizeLayer([]float32{1e-9, -1e-9}, []float32{1e6}, 1, 1e-4, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(qb[0]) * 1e-4 * float64(sw[0]); math.Abs(got-1e6)/1e6 > 1e-6 {
		t.Errorf("bias dequantizes to %g, want 1e6", got)
	}
	_ = qw
	// Bad input.
	if _, _, _, err := quantizeLayer([]float32{float32(math.NaN())}, []float32{0}, 1, 1, true); err == nil {
		t.Error("NaN weight accepted")
	}
	if _, _, _, err := quantizeLayer([]float32{1, 2, 3}, []float32{0, 0}, 2, 1, true); err == nil {
		t.Error("weights not divisible into channels accepted")
	}
	if _, _, _, err := quantizeLayer([]float32{1}, []float32{0}, 1, 0, true); err == nil {
		t.Error("zero input scale accepted")
	}
}
