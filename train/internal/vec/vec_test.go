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
