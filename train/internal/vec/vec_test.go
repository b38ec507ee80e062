package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randFloats(r *rand.Rand, n int, ties bool) []float32 {
	s := make([]float32, n+4) // guard values after the end
	for i := range s {
		s[i] = float32(r.NormFloat64())
		if ties && r.IntN(3) == 0 {
			s[i] = 0.5 // frequent ties between the four inputs
		}
	}
	if n > 3 {
		s[1] = float32(math.NaN())
		s[2] = float32(math.Inf(-1))
		s[3] = float32(math.Copysign(0, -1))
	}
	return s
}

func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestPool2x2MatchesGo compares the kernels in use (assembly where
// available) with the Go reference bit for bit, for lengths 0..70,
// with ties, NaN, ±0 and -Inf inputs, and checks the guard values.
func TestPool2x2MatchesGo(t *testing.T) {
	t.Logf("assembly in use: %v", UseAsm)
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 70; n++ {
		for _, relu := range []bool{false, true} {
			a := [4][]float32{randFloats(r, n, true), randFloats(r, n, true), randFloats(r, n, true), randFloats(r, n, true)}
			bias := randFloats(r, n, false)
			y1, y2 := make([]float32, n+4), make([]float32, n+4)
			w1, w2 := make([]int32, n+4), make([]int32, n+4)
			for i := n; i < n+4; i++ {
				y1[i], w1[i] = 42, 42
			}
			Pool2x2(a[0], a[1], a[2], a[3], bias, y1[:n], w1[:n], relu)
			pool2x2Go(a[0][:n], a[1][:n], a[2][:n], a[3][:n], bias[:n], y2[:n], w2[:n], relu)
			if !sameBits(y1[:n], y2[:n]) {
				t.Fatalf("n=%d relu=%v: y %v, want %v", n, relu, y1[:n], y2[:n])
			}
			for i := 0; i < n; i++ {
				if w1[i] != w2[i] {
					t.Fatalf("n=%d relu=%v: w[%d] = %d, want %d", n, relu, i, w1[i], w2[i])
				}
			}
			for i := n; i < n+4; i++ {
				if y1[i] != 42 || w1[i] != 42 {
					t.Fatalf("n=%d: wrote past the end", n)
				}
			}
			// Backward.
			dy := randFloats(r, n, false)
			var d1, d2 [5][]float32
			for j := range d1 {
				d1[j], d2[j] = randFloats(r, n, false), nil
				d2[j] = append([]float32(nil), d1[j]...)
				d1[j][n] = 42
			}
			Unpool2x2(dy[:n], w1[:n], d1[0][:n], d1[1][:n], d1[2][:n], d1[3][:n], d1[4][:n])
			unpool2x2Go(dy[:n], w1[:n], d2[0][:n], d2[1][:n], d2[2][:n], d2[3][:n], d2[4][:n])
			for j := range d1 {
				if !sameBits(d1[j][:n], d2[j][:n]) || d1[j][n] != 42 {
					t.Fatalf("n=%d: unpool output %d differs from Go", n, j)
				}
			}
			Unpool2x2(dy[:n], w1[:n], d1[0][:n], d1[1][:n], d1[2][:n], d1[3][:n], nil)
		}
	}
}

func TestPool2x2Semantics(t *testing.T) {
	for _, useAsm := range []bool{false, true} {
		UseAsm = useAsm && hasAsm
		a0 := []float32{1, 5, 0.5, -3, 2, 2, 2, 2}
		a1 := []float32{2, 4, 0.5, -2, 2, 2, 2, 2}
		a2 := []float32{3, 3, 0.7, -1, 2, 2, 2, 2}
		a3 := []float32{4, 2, 0.5, -4, 2, 2, 2, 2}
		bias := []float32{0, 0, 0, 0, 0, 0, 0, -3}
		y := make([]float32, 8)
		w := make([]int32, 8)
		Pool2x2(a0, a1, a2, a3, bias, y, w, true)
		wantY := []float32{4, 5, 0.7, 0, 2, 2, 2, 0}
		wantW := []int32{3, 0, 2, -1, 0, 0, 0, -1}
		for i := range y {
			if y[i] != wantY[i] || w[i] != wantW[i] {
				t.Fatalf("asm=%v: y %v w %v, want %v %v", UseAsm, y, w, wantY, wantW)
			}
		}
	}
	UseAsm = hasAsm
}

func TestAddMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 100; n++ {
		src := randFloats(r, n, false)
		d1 := randFloats(r, n, false)
		d2 := append([]float32(nil), d1...)
		Add(d1[:n], src)
		addGo(d2[:n], src)
		if !sameBits(d1, d2) {
			t.Fatalf("n=%d: Add differs from Go (or wrote past the end)", n)
		}
	}
}

// TestAdamMatchesGo compares Adam (assembly where available) with the Go
// reference bit for bit: lengths 0..100, gradients from 0 and denormals to
// 1e30, fresh and late steps, and guard values past the end untouched.
func TestAdamMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	mag := []float64{0, 1e-40, 1e-20, 1e-6, 1e-3, 1, 1e3, 1e30}
	for n := 0; n <= 100; n++ {
		for _, tstep := range []float64{1, 7, 3000} {
			a := AdamParams{B1: 0.9, B2: 0.999, Eps: 1e-8,
				C2:   float32(1 / math.Sqrt(1-math.Pow(0.999, tstep))),
				Step: float32(1e-3 / (1 - math.Pow(0.9, tstep)))}
			p, g, m, v := make([]float32, n+4), make([]float32, n+4), make([]float32, n+4), make([]float32, n+4)
			for i := range p {
				s := mag[r.IntN(len(mag))]
				p[i] = float32(r.NormFloat64())
				g[i] = float32(r.NormFloat64() * s)
				m[i] = float32(r.NormFloat64() * s * 0.1)
				v[i] = float32(math.Abs(r.NormFloat64()) * s * s * 0.1)
			}
			p2, m2, v2 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
			Adam(p[:n], g, m, v, a)
			adamGo(p2[:n], g[:n], m2[:n], v2[:n], a)
			if !sameBits(p, p2) || !sameBits(m, m2) || !sameBits(v, v2) {
				t.Fatalf("n=%d t=%v asm=%v: Adam differs from the Go reference (or wrote past the end)", n, tstep, UseAsm)
			}
		}
	}
}

// TestAdamStep checks one Adam step against values worked out by hand
// (first step: m = 0.1·g, v = 0.001·g², p −= lr·sign(g) up to eps), with
// and without the assembly kernel.
func TestAdamStep(t *testing.T) {
	for _, asm := range []bool{false, hasAsm} {
		UseAsm = asm
		p := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
		g := []float32{2, -2, 0.5, -0.5, 4, -4, 1, -1, 0}
		m, v := make([]float32, 9), make([]float32, 9)
		a := AdamParams{B1: 0.9, B2: 0.999, Eps: 1e-8, C2: float32(1 / math.Sqrt(1-0.999)), Step: float32(0.01 / (1 - 0.9))}
		Adam(p, g, m, v, a)
		for i := range p {
			want := 1 - 0.01*float32(math.Copysign(1, float64(g[i])))
			if g[i] == 0 {
				want = 1
			}
			if math.Abs(float64(p[i]-want)) > 1e-6 || math.Abs(float64(m[i]-0.1*g[i])) > 1e-6 {
				t.Fatalf("asm=%v: p[%d]=%v m=%v, want p=%v m=%v", asm, i, p[i], m[i], want, 0.1*g[i])
			}
		}
	}
	UseAsm = hasAsm
}

// specialFloats is n normal values (plus 4 guard values) with ties, NaN,
// ±0 and ±Inf sprinkled at random positions.
func specialFloats(r *rand.Rand, n int) []float32 {
	s := make([]float32, n+4)
	specials := []float32{0.5, 0.5, 0, float32(math.Copysign(0, -1)), float32(math.NaN()),
		float32(math.Inf(1)), float32(math.Inf(-1))}
	for i := range s {
		s[i] = float32(r.NormFloat64())
		if r.IntN(4) == 0 {
			s[i] = specials[r.IntN(len(specials))]
		}
	}
	return s
}

// TestPool2x2RowMatchesGo compares Pool2x2Row and Unpool2x2Row (assembly
// where available, and the Go path) with the per-pixel Go references bit
// for bit: values, winner indices and dbias sums, for channel counts that
// are and are not multiples of 8 and 16 (AVX2 and AVX-512 on and off), row widths 0..14, relu on and off, zero
// and random bias, dbias nil or not, and checks the guard values.
func TestPool2x2RowMatchesGo(t *testing.T) {
	t.Logf("assembly available: %v, AVX-512: %v", hasAsm, hasAVX512)
	defer func() { UseAsm, UseAVX512 = hasAsm, hasAVX512 }()
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []int{1, 3, 8, 13, 16, 24, 32, 40, 48, 64, 72} {
		for _, wd := range []int{0, 1, 2, 5, 7, 14} {
			for trial := 0; trial < 16; trial++ {
				UseAsm = hasAsm && trial%4 != 3
				UseAVX512 = hasAVX512 && trial < 8
				relu, zeroB, nilDB := trial&1 == 1, trial&2 == 2, trial&4 == 4
				checkRow(t, r, c, wd, relu, zeroB, nilDB)
			}
		}
	}
}

func checkRow(t *testing.T, r *rand.Rand, c, wd int, relu, zeroB, nilDB bool) {
	t.Helper()
	n := c * wd
	r0, r1, bias := specialFloats(r, 2*n), specialFloats(r, 2*n), specialFloats(r, c)
	if zeroB {
		clear(bias)
	}
	y1, y2 := specialFloats(r, n), make([]float32, n+4)
	w1, w2 := make([]int32, n+4), make([]int32, n+4)
	for i := n; i < n+4; i++ {
		w1[i] = 42
	}
	guard := append([]float32(nil), y1[n:]...)
	Pool2x2Row(r0, r1, bias, y1[:n], w1[:n], c, wd, relu)
	pool2x2RowGo(r0, r1, bias, y2[:n], w2[:n], c, wd, relu)
	if !sameBits(y1[:n], y2[:n]) || !sameBits(y1[n:], guard) {
		t.Fatalf("c=%d wd=%d relu=%v asm=%v avx512=%v: y %v, want %v", c, wd, relu, UseAsm, UseAVX512, y1, y2)
	}
	for i := range w1 {
		if want := append(w2[:n:n], 42, 42, 42, 42)[i]; w1[i] != want {
			t.Fatalf("c=%d wd=%d relu=%v asm=%v avx512=%v: w[%d] = %d, want %d", c, wd, relu, UseAsm, UseAVX512, i, w1[i], want)
		}
	}
	// Backward, with random winners (including -1) and random dy.
	dy := specialFloats(r, n)
	for i := 0; i < n; i++ {
		w1[i] = int32(r.IntN(5)) - 1
	}
	d := [3][]float32{specialFloats(r, 2*n), specialFloats(r, 2*n), specialFloats(r, c)}
	var e [3][]float32
	for j := range d {
		e[j] = append([]float32(nil), d[j]...)
	}
	db1, db2 := d[2][:c], e[2][:c]
	if nilDB {
		db1, db2 = nil, nil
	}
	Unpool2x2Row(dy, w1, d[0][:2*n], d[1][:2*n], db1, c, wd)
	unpool2x2RowGo(dy, w1, e[0][:2*n], e[1][:2*n], db2, c, wd)
	for j := range d {
		if !sameBits(d[j], e[j]) {
			t.Fatalf("c=%d wd=%d asm=%v avx512=%v nilDB=%v: unpool output %d differs from Go", c, wd, UseAsm, UseAVX512, nilDB, j)
		}
	}
}
