package quantize

import (
	"math"
	"math/rand"
	"testing"
)

// observe feeds xs to a new observer in three batches of growing
// magnitude (so the histogram has to grow).
func observe(xs []float32) *observer {
	o := newObserver()
	o.observe(xs[:len(xs)/3])
	o.observe(xs[len(xs)/3 : 2*len(xs)/3])
	o.observe(xs[2*len(xs)/3:])
	return o
}

// The single-pass histogram equals one built with the final range from the
// start: doubling merges bins exactly.
func TestHistogramGrowth(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	xs := make([]float32, 30000)
	for i := range xs {
		xs[i] = float32(r.NormFloat64() * float64(1+i/10000*3)) // later batches are wider
	}
	xs[0] = 0.1 // the first batch's range is small
	grown := newObserver()
	for i := 0; i < len(xs); i += 1000 {
		grown.observe(xs[i : i+1000])
	}
	direct := newObserver()
	direct.observe([]float32{float32(grown.r), 0})
	direct.observe(xs)
	direct.hist[histBins/2]-- // the extra 0
	direct.hist[histBins-1]-- // the extra r
	if grown.r != direct.r {
		t.Fatalf("r %v vs %v", grown.r, direct.r)
	}
	for i := range grown.hist {
		if grown.hist[i] != direct.hist[i] {
			t.Fatalf("bin %d: %v after growth, %v directly", i, grown.hist[i], direct.hist[i])
		}
	}
	// Zeros seen before any nonzero value land in the zero bin.
	z := newObserver()
	z.observe(make([]float32, 10))
	z.observe([]float32{1, -1})
	if z.hist[histBins/2] != 10 || z.hist[0] != 1 || z.hist[histBins-1] != 1 {
		t.Errorf("zero bin %v, first bin %v", z.hist[histBins/2], z.hist[0])
	}
}

// reluWithOutliers is |N(0,1)| with 60% exact zeros and a few large
// outliers at 50: the shape of a ReLU output with rare spikes.
func reluWithOutliers(n int) []float32 {
	r := rand.New(rand.NewSource(7))
	xs := make([]float32, n)
	for i := range xs {
		if r.Float64() < 0.6 {
			continue
		}
		xs[i] = float32(math.Abs(r.NormFloat64()))
	}
	for i := 0; i < 20; i++ {
		xs[r.Intn(n)] = 50
	}
	return xs
}

func TestRangeMethods(t *testing.T) {
	o := observe(reluWithOutliers(200000))
	mm, err := o.rangeFor(MinMax, 0)
	if err != nil {
		t.Fatal(err)
	}
	if mm.Lo != 0 || mm.Hi != 50 {
		t.Errorf("minmax = %+v, want [0, 50]", mm)
	}
	// 99.9th percentile of all values: 40% are |N(0,1)|, so it is the
	// 1 − 0.001/0.4 quantile of |N(0,1)| ≈ 3.02.
	p, err := o.rangeFor(Percentile, 99.9)
	if err != nil {
		t.Fatal(err)
	}
	if p.Lo != 0 || math.Abs(p.Hi-3.02) > 0.1 {
		t.Errorf("percentile 99.9 = %+v, want about [0, 3.02]", p)
	}
	// Entropy and MSE trade clipping against resolution: on an exponential
	// tail (60% zeros, like a ReLU output) both clip the sparse far tail
	// and keep the bulk.
	r := rand.New(rand.NewSource(7))
	xs := make([]float32, 200000)
	for i := range xs {
		if r.Float64() >= 0.6 {
			xs[i] = float32(r.ExpFloat64())
		}
	}
	tail := observe(xs)
	for _, m := range []Method{Entropy, MSE} {
		rg, err := tail.rangeFor(m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if rg.Lo != 0 || rg.Hi < 5 || rg.Hi >= tail.max {
			t.Errorf("%s = %+v on an exponential tail with max %.2f, want 0 and a threshold in [5, max)", m, rg, tail.max)
		}
		if f := tail.clippedFraction(rg); f <= 0 || f > 0.001 {
			t.Errorf("%s clips %.4f%% of the values, want (0, 0.1%%]", m, 100*f)
		}
	}
	if _, err := o.rangeFor(Percentile, 0); err == nil {
		t.Error("percentile 0 accepted")
	}
	if _, err := o.rangeFor(Auto, 0); err == nil {
		t.Error("auto has no single range but was accepted")
	}
}

func TestRangeSigned(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	xs := make([]float32, 100000)
	for i := range xs {
		xs[i] = float32(r.NormFloat64()*2 + 1)
	}
	o := observe(xs)
	for _, m := range Methods() {
		rg, err := o.rangeFor(m, 99.99)
		if err != nil {
			t.Fatal(err)
		}
		if !(rg.Lo < -4 && rg.Hi > 5) || rg.Lo < o.min || rg.Hi > o.max {
			t.Errorf("%s range %+v of N(1, 2²) (observed [%.2f, %.2f]): want lo < -4, hi > 5, within the observed range", m, rg, o.min, o.max)
		}
	}
}

// A constant tensor (a dead ReLU gives all zeros) must give a valid range
// and valid int8 parameters with every method: no NaN, Inf or division by 0.
func TestRangeConstant(t *testing.T) {
	for _, c := range []float32{0, 3, -2} {
		xs := make([]float32, 1000)
		for i := range xs {
			xs[i] = c
		}
		o := observe(xs)
		for _, m := range Methods() {
			r, err := o.rangeFor(m, 99.99)
			if err != nil {
				t.Fatalf("constant %v, %s: %v", c, m, err)
			}
			if r.Lo > 0 || r.Hi < 0 || r.Lo > float64(min(c, 0)) || r.Hi < float64(max(c, 0)) {
				t.Errorf("constant %v, %s: range %+v does not contain 0 and %v", c, m, r, c)
			}
			s, zp, err := activationParams(r)
			if err != nil || !(s > 0) || math.IsInf(float64(s), 0) || zp < -128 || zp > 127 {
				t.Errorf("constant %v, %s: scale %v zp %d err %v", c, m, s, zp, err)
			}
			h := o.displayHist(16)
			var n int64
			for _, v := range h.Counts {
				n += v
			}
			if n != int64(len(xs)) || math.IsNaN(h.Lo) || math.IsNaN(h.Hi) {
				t.Errorf("constant %v: display histogram %+v", c, h)
			}
		}
	}
}

func TestRangeNonFinite(t *testing.T) {
	o := observe([]float32{1, float32(math.Inf(1)), 2, 3})
	if _, err := o.rangeFor(MinMax, 0); err == nil {
		t.Error("an infinite activation was accepted")
	}
	if _, err := newObserver().rangeFor(MinMax, 0); err == nil {
		t.Error("an observer without values gave a range")
	}
}

func TestParseMethodIO(t *testing.T) {
	for _, s := range []string{"minmax", "percentile", "entropy", "mse", "auto", "AUTO"} {
		if _, err := ParseMethod(s); err != nil {
			t.Errorf("ParseMethod(%q): %v", s, err)
		}
	}
	if _, err := ParseMethod("kl"); err == nil {
		t.Error(`ParseMethod("kl") accepted`)
	}
	for _, s := range []string{"int8", "uint8", "float"} {
		if _, err := ParseIO(s); err != nil {
			t.Errorf("ParseIO(%q): %v", s, err)
		}
	}
	if _, err := ParseIO("int16"); err == nil {
		t.Error(`ParseIO("int16") accepted`)
	}
}
