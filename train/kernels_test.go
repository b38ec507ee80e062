package train

import (
	"math"
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

func randSlice(r *RNG, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Uniform(-1, 1)
	}
	return s
}

// TestPoolMatchesReference checks pooling (2×2 fast path and the generic
// path, with bias and ReLU) against model.MaxPoolRef.
func TestPoolMatchesReference(t *testing.T) {
	r := NewRNG(1)
	for _, tc := range []struct {
		in        model.Shape
		k, stride int
	}{
		{model.Shape{H: 8, W: 8, C: 5}, 2, 2},
		{model.Shape{H: 7, W: 9, C: 3}, 2, 2}, // odd sizes: last row/column dropped
		{model.Shape{H: 9, W: 9, C: 4}, 3, 2}, // overlapping windows, generic path
		{model.Shape{H: 6, W: 6, C: 2}, 3, 3},
	} {
		out := model.Shape{H: (tc.in.H-tc.k)/tc.stride + 1, W: (tc.in.W-tc.k)/tc.stride + 1, C: tc.in.C}
		const n = 3
		x := randSlice(&r, n*tc.in.Size())
		// Ties: pooling must pick the first maximum, as the gradient goes to one input.
		x[0], x[tc.in.C] = 0.5, 0.5
		bias := randSlice(&r, tc.in.C)
		for _, relu := range []bool{false, true} {
			y := make([]float32, n*out.Size())
			win := make([]int32, len(y))
			reluPool(x, tc.in, tc.k, tc.stride, out, n, bias, y, win, relu)
			ref := make([]float32, out.Size())
			for b := 0; b < n; b++ {
				xb := append([]float32(nil), x[b*tc.in.Size():(b+1)*tc.in.Size()]...)
				for j := range xb {
					xb[j] += bias[j%tc.in.C]
				}
				model.MaxPoolRef(xb, tc.in, tc.k, tc.stride, ref, out)
				for j, v := range ref {
					if relu {
						v = max(v, 0)
					}
					if got := y[b*out.Size()+j]; math.Abs(float64(got-v)) > 1e-6 {
						t.Fatalf("%v k%d s%d relu=%v: image %d output %d = %v, want %v", tc.in, tc.k, tc.stride, relu, b, j, got, v)
					}
				}
			}
			// Backward routes each output gradient to exactly one input
			// holding the maximum (none where ReLU clipped).
			dy := randSlice(&r, len(y))
			dx := randSlice(&r, len(x)) // garbage: must be overwritten
			db := make([]float32, tc.in.C)
			poolBackward(dy, win, tc.in, tc.k, tc.stride, out, n, dx, db)
			var sumDy, sumDx float64
			wantDb := make([]float64, tc.in.C)
			for j, w := range win {
				if w >= 0 {
					sumDy += float64(dy[j])
					wantDb[j%tc.in.C] += float64(dy[j])
				}
			}
			for _, v := range dx {
				sumDx += float64(v)
			}
			if math.Abs(sumDy-sumDx) > 1e-4 {
				t.Fatalf("%v k%d relu=%v: gradient sum %v, want %v", tc.in, tc.k, relu, sumDx, sumDy)
			}
			for c := range db {
				if math.Abs(float64(db[c])-wantDb[c]) > 1e-4 {
					t.Fatalf("bias gradient %d = %v, want %v", c, db[c], wantDb[c])
				}
			}
			if tc.stride >= tc.k {
				// Non-overlapping windows: each nonzero dx is at a maximum.
				for b := 0; b < n; b++ {
					for j := range out.Size() {
						o := b*out.Size() + j
						if win[o] < 0 {
							continue
						}
						c := j % out.C
						oy, ox := j/out.C/out.W, j/out.C%out.W
						ky, kx := int(win[o])/tc.k, int(win[o])%tc.k
						xi := b*tc.in.Size() + ((oy*tc.stride+ky)*tc.in.W+ox*tc.stride+kx)*tc.in.C + c
						if x[xi]+bias[c] != y[o] && !relu || dx[xi] != dy[o] {
							t.Fatalf("output %d: winner %d holds %v (dx %v), output %v (dy %v)", o, xi, x[xi]+bias[c], dx[xi], y[o], dy[o])
						}
					}
				}
			}
		}
	}
}

// TestIm2colAdjoint checks im2col against a direct convolution and col2im
// as its adjoint: <im2col(x), c> = <x, col2im(c)>.
func TestIm2colAdjoint(t *testing.T) {
	r := NewRNG(2)
	for _, tc := range []struct {
		in             model.Shape
		k, stride, pad int
	}{
		{model.Shape{H: 6, W: 5, C: 1}, 3, 1, 1},
		{model.Shape{H: 7, W: 7, C: 4}, 3, 1, 1},
		{model.Shape{H: 8, W: 6, C: 3}, 3, 2, 0},
	} {
		out := model.Shape{H: (tc.in.H+2*tc.pad-tc.k)/tc.stride + 1, W: (tc.in.W+2*tc.pad-tc.k)/tc.stride + 1, C: 2}
		const n = 2
		K := tc.k * tc.k * tc.in.C
		x := randSlice(&r, n*tc.in.Size())
		col := make([]float32, n*out.H*out.W*K)
		im2col(x, tc.in, tc.k, tc.stride, tc.pad, out, n, col)
		w := randSlice(&r, out.C*K)
		bias := make([]float32, out.C)
		ref := make([]float32, out.Size())
		for b := 0; b < n; b++ {
			model.ConvRef(x[b*tc.in.Size():], tc.in, w, bias, tc.k, tc.stride, tc.pad, ref, out)
			for p := 0; p < out.H*out.W; p++ {
				for oc := 0; oc < out.C; oc++ {
					var s float32
					for k := 0; k < K; k++ {
						s += col[(b*out.H*out.W+p)*K+k] * w[oc*K+k]
					}
					if math.Abs(float64(s-ref[p*out.C+oc])) > 1e-5 {
						t.Fatalf("%v: im2col conv %v, reference %v", tc.in, s, ref[p*out.C+oc])
					}
				}
			}
		}
		c := randSlice(&r, len(col))
		dx := randSlice(&r, len(x))
		col2im(c, tc.in, tc.k, tc.stride, tc.pad, out, n, dx)
		var lhs, rhs float64
		for i := range col {
			lhs += float64(col[i]) * float64(c[i])
		}
		for i := range x {
			rhs += float64(x[i]) * float64(dx[i])
		}
		if math.Abs(lhs-rhs) > 1e-4*max(1, math.Abs(lhs)) {
			t.Fatalf("%v: <im2col x, c> = %v, <x, col2im c> = %v", tc.in, lhs, rhs)
		}
	}
}

// TestWarp checks the augmentation geometry: identity, an exact shift and
// a 90° rotation of a small image.
func TestWarp(t *testing.T) {
	const H, W = 5, 5
	src := make([]uint8, H*W)
	for i := range src {
		src[i] = uint8(i * 10)
	}
	dst := make([]float32, H*W)
	at := func(y, x int) float32 { return float32(src[y*W+x]) / 255 }
	warp(src, H, W, 1, 0, 0, 0, dst)
	for i := range dst {
		if math.Abs(float64(dst[i]-float32(src[i])/255)) > 1e-6 {
			t.Fatalf("identity warp changed pixel %d", i)
		}
	}
	warp(src, H, W, 1, 0, 2, 1, dst) // shift right 2, down 1
	if dst[1*W+2] != at(0, 0) || dst[0] != 0 || dst[4*W+4] != at(3, 2) {
		t.Fatalf("shift: got %v %v %v", dst[1*W+2], dst[0], dst[4*W+4])
	}
	warp(src, H, W, 1, math.Pi/2, 0, 0, dst)
	// A 90° rotation maps the corner (0, 0) to another corner.
	found := false
	for _, p := range [][2]int{{0, 4}, {4, 0}} {
		if math.Abs(float64(dst[p[0]*W+p[1]]-at(0, 0))) < 1e-6 && math.Abs(float64(dst[4*W+4-(p[0]*W+p[1])]-at(4, 4))) < 1e-6 {
			found = true
		}
	}
	if !found {
		t.Fatalf("90° rotation does not move corners to corners: %v", dst)
	}
	// Random augmentation stays within [0, 1] and keeps most of the ink.
	r := NewRNG(3)
	var inkSrc, inkDst float32
	for i := range src {
		inkSrc += float32(src[i]) / 255
	}
	img := make([]float32, H*W)
	augment(src, H, W, 1, &r, img)
	for _, v := range img {
		if v < 0 || v > 1 {
			t.Fatalf("augmented pixel %v out of [0, 1]", v)
		}
		inkDst += v
	}
	if inkDst <= 0 {
		t.Fatal("augmentation lost the whole image")
	}
}

func TestStepLR(t *testing.T) {
	for _, c := range []struct {
		epoch, step int
		want        float64
	}{{0, 0, 1}, {5, 0, 1}, {0, 2, 1}, {1, 2, 1}, {2, 2, 0.5}, {5, 2, 0.25}} {
		if got := StepLR(1, c.epoch, c.step, 0.5); got != c.want {
			t.Fatalf("StepLR(epoch %d, step %d) = %v, want %v", c.epoch, c.step, got, c.want)
		}
	}
}

// TestAdamMatchesFormula checks two Adam steps on one value against the
// PyTorch formula.
func TestAdamMatchesFormula(t *testing.T) {
	a := newAdam(1)
	p := []float32{1}
	g := []float32{0.5}
	var m, v float64
	want := 1.0
	for step := 1; step <= 2; step++ {
		a.begin()
		a.step(p, g, 0, 0.01)
		m = 0.9*m + 0.1*0.5
		v = 0.999*v + 0.001*0.25
		want -= 0.01 / (1 - math.Pow(0.9, float64(step))) * m / (math.Sqrt(v)/math.Sqrt(1-math.Pow(0.999, float64(step))) + 1e-8)
	}
	if math.Abs(float64(p[0])-want) > 1e-6 {
		t.Fatalf("Adam: %v, want %v", p[0], want)
	}
	s := &sgd{mom: 0.9, buf: make([]float32, 1)}
	p[0] = 1
	s.step(p, g, 0, 0.1)
	s.step(p, g, 0, 0.1)
	if want := 1 - 0.1*0.5 - 0.1*(0.9*0.5+0.5); math.Abs(float64(p[0])-want) > 1e-6 {
		t.Fatalf("SGD: %v, want %v", p[0], want)
	}
}

// im2col is the reference patch matrix (the trainer's GEMMs read it
// through sgemm.Patches): for every output position of every image, the
// k×k×C input patch (zeros outside the image) as one row of col, in the
// OHWI weight order (ky, kx, c), so that conv = col × Wᵀ.
func im2col(x []float32, in model.Shape, k, stride, pad int, out model.Shape, n int, col []float32) {
	C := in.C
	K := k * k * C
	ri := 0
	for b := 0; b < n; b++ {
		xb := x[b*in.Size() : (b+1)*in.Size()]
		for oy := 0; oy < out.H; oy++ {
			for ox := 0; ox < out.W; ox++ {
				row := col[ri*K : (ri+1)*K]
				ri++
				o := 0
				for ky := 0; ky < k; ky++ {
					iy := oy*stride - pad + ky
					if iy < 0 || iy >= in.H {
						clear(row[o : o+k*C])
						o += k * C
						continue
					}
					xr := xb[iy*in.W*C : (iy+1)*in.W*C]
					ix0 := ox*stride - pad
					if C == 1 {
						for kx := 0; kx < k; kx++ {
							ix := ix0 + kx
							if ix < 0 || ix >= in.W {
								row[o] = 0
							} else {
								row[o] = xr[ix]
							}
							o++
						}
						continue
					}
					for kx := 0; kx < k; kx++ {
						ix := ix0 + kx
						if ix < 0 || ix >= in.W {
							clear(row[o : o+C])
						} else {
							copy(row[o:o+C], xr[ix*C:(ix+1)*C])
						}
						o += C
					}
				}
			}
		}
	}
}
