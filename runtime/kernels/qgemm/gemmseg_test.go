package qgemm

import (
	"math/rand/v2"
	"testing"
)

// TestGemmSeg compares every kernel's GemmSeg (the assembly segmented
// kernels where present, the Go twin otherwise, and the Go twin of both
// layouts) with the definition: C[r][n] = Σ_k A[r][k]·W[n][k] where A's row
// r is the concatenation of its segments. Row counts 1…20 (every
// remainder of the 6-row kernel), 1…4 segments, odd segment lengths,
// strides with junk between segments, extreme values, guard values
// after every row of C.
func TestGemmSeg(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	kinds := append([]kernel(nil), available...)
	kinds = append(kinds, kernel{name: "go-unsigned-twin", flip: 0x80}, kernel{name: "go-signed-twin"})
	for _, kn := range kinds {
		for it := 0; it < 150; it++ {
			segs := 1 + r.IntN(4)
			segK := 1 + r.IntN(30)
			if it == 0 {
				segs, segK = 3, 24 // the seed CNN's conv2
			}
			k := 4 * segs * segK
			n := 1 + r.IntN(140)
			if it < 3 {
				n = 64
			}
			w := make([]int8, n*k)
			fill(r, w, -127)
			p, err := packWith(kn, w, n, k)
			if err != nil {
				t.Fatal(err)
			}
			if kn.fn == nil { // the twins: unpacked kernel, Go loop
				p.k.seg = nil
			}
			rows := 1 + r.IntN(20)
			lda := 4 * r.IntN(12)
			segStride := 4*segK + r.IntN(9)
			size := (rows-1)*lda + (segs-1)*segStride + 4*segK
			a := make([]byte, size)
			for i := range a {
				switch r.IntN(5) {
				case 0:
					a[i] = 0
				case 1:
					a[i] = 255
				default:
					a[i] = byte(r.IntN(256))
				}
			}
			cols := 16 * p.NBlk
			ldc := cols + r.IntN(20)
			c := make([]int32, rows*ldc+ldc)
			for i := range c {
				c[i] = guard
			}
			p.GemmSeg(a, lda, rows, segs, segStride, c, ldc)
			for row := 0; row < rows; row++ {
				for o := 0; o < ldc; o++ {
					got := c[row*ldc+o]
					if o >= cols {
						if got != guard {
							t.Fatalf("%s: row %d column %d (beyond %d) overwritten", kn.name, row, o, cols)
						}
						continue
					}
					var want int32
					if o < n {
						for s := 0; s < segs; s++ {
							for j := 0; j < 4*segK; j++ {
								b := a[row*lda+s*segStride+j]
								x := int32(int8(b))
								if kn.flip != 0 {
									x = int32(b)
								}
								want += x * int32(w[o*k+s*4*segK+j])
							}
						}
					}
					if got != want {
						t.Fatalf("%s rows=%d segs=%d segK=%d n=%d lda=%d: C[%d][%d] = %d, want %d", kn.name, rows, segs, segK, n, lda, row, o, got, want)
					}
				}
			}
			for _, g := range c[rows*ldc:] {
				if g != guard {
					t.Fatalf("%s: wrote past the last row", kn.name)
				}
			}
		}
	}
}

func TestGemmSegRejects(t *testing.T) {
	p, err := Pack(make([]int8, 64*24), 64, 24) // 6 k steps
	if err != nil {
		t.Fatal(err)
	}
	if p.HasGemmSeg(4) {
		t.Error("6 k steps split into 4 segments")
	}
	for name, f := range map[string]func(){
		"segments":     func() { p.GemmSeg(make([]byte, 100), 4, 1, 4, 8, make([]int32, 64), 64) },
		"short source": func() { p.GemmSeg(make([]byte, 23), 4, 1, 2, 12, make([]int32, 64), 64) },
		"short C":      func() { p.GemmSeg(make([]byte, 100), 4, 2, 2, 12, make([]int32, 100), 64) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: GemmSeg did not panic", name)
				}
			}()
			f()
		}()
	}
}
