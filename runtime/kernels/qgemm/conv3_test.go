package qgemm

import (
	"math/rand/v2"
	"testing"
)

// conv3Naive is the definition from the unpacked weights w ([n][3][3]):
// the maximum over the 2×2 window of the 3×3 convolution, 0 for the
// padding channels n ≥ N.
func conv3Naive(src []byte, wp, count int, w []int8, n, cols int, unsigned bool) []int32 {
	out := make([]int32, count*cols)
	for i := 0; i < count; i++ {
		for o := 0; o < n; o++ {
			var m int32
			for d := 0; d < 4; d++ {
				dy, dx := d/2, d%2
				var acc int32
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						b := src[(dy+ky)*wp+2*i+dx+kx]
						x := int32(int8(b))
						if unsigned {
							x = int32(b)
						}
						acc += x * int32(w[o*9+ky*3+kx])
					}
				}
				if d == 0 || acc > m {
					m = acc
				}
			}
			out[i*cols+o] = m
		}
	}
	return out
}

// TestConv3Pool2 compares every kernel (assembly and the Go twin) with the
// definition: random and extreme inputs and weights, odd channel counts
// (padded to 32), odd widths, row strides with junk beyond the windows,
// and guard values around the output rows.
func TestConv3Pool2(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kn := range available {
		for it := 0; it < 200; it++ {
			n := 1 + r.IntN(70)
			if it < 4 {
				n = 32
			}
			count := 1 + r.IntN(20)
			wp := 2*count + 2 + r.IntN(5)
			w := make([]int8, n*9)
			fill(r, w, -127)
			p, err := packConv3(kn, w, n)
			if err != nil {
				t.Fatal(err)
			}
			if p.NBlk%2 != 0 || p.N != n || p.K != 12 {
				t.Fatalf("packed %d channels: NBlk %d, N %d, K %d", n, p.NBlk, p.N, p.K)
			}
			src := make([]byte, 4*wp+8)
			for i := range src {
				switch r.IntN(6) {
				case 0:
					src[i] = 0
				case 1:
					src[i] = 255
				case 2:
					src[i] = 0x80
				default:
					src[i] = byte(r.IntN(256))
				}
			}
			cols := 16 * p.NBlk
			ldc := cols + 16*r.IntN(2) + r.IntN(3)
			c := make([]int32, count*ldc+ldc)
			for i := range c {
				c[i] = guard
			}
			if kn.conv3 != nil {
				kn.conv3(&src[0], wp, &p.w8[0], p.NBlk, count, &c[0], ldc)
			} else {
				conv3Go(src, wp, p.w8, p.NBlk, count, c, ldc, kn.flip != 0)
			}
			want := conv3Naive(src, wp, count, w, n, cols, kn.flip != 0)
			for i := 0; i < count; i++ {
				for o := 0; o < ldc; o++ {
					got := c[i*ldc+o]
					if o >= cols {
						if got != guard {
							t.Fatalf("%s: pixel %d column %d (beyond %d) overwritten", kn.name, i, o, cols)
						}
						continue
					}
					if got != want[i*cols+o] {
						t.Fatalf("%s n=%d count=%d wp=%d: pixel %d channel %d = %d, want %d", kn.name, n, count, wp, i, o, got, want[i*cols+o])
					}
				}
			}
			for _, g := range c[count*ldc:] {
				if g != guard {
					t.Fatalf("%s: wrote past the last pixel", kn.name)
				}
			}
		}
	}
}

func TestConv3Pool2Rejects(t *testing.T) {
	if _, err := PackConv3(make([]int8, 17), 2); err == nil {
		t.Error("PackConv3 accepted 17 weights for 2 filters")
	}
	w := make([]int8, 18)
	w[3] = -128
	if _, err := PackConv3(w, 2); err == nil {
		t.Error("PackConv3 accepted a weight of −128")
	}
	p, err := PackConv3(make([]int8, 18), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Conv3Pool2 with a short source did not panic")
		}
	}()
	p.Conv3Pool2(make([]byte, 10), 6, 2, make([]int32, 64), 32)
}
