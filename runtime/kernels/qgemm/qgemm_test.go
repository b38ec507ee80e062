package qgemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"slices"
	"testing"
)

const guard = int32(-0x5a5a5a5a)

// naive is the definition: C[r][n] = Σ_k A[r][k]·W[n][k].
func naive(a []int8, w []int8, rows, n, k int) []int32 {
	c := make([]int32, rows*n)
	for r := 0; r < rows; r++ {
		for o := 0; o < n; o++ {
			var s int32
			for i := 0; i < k; i++ {
				s += int32(a[r*k+i]) * int32(w[o*k+i])
			}
			c[r*n+o] = s
		}
	}
	return c
}

// fill draws values with extremes over-represented.
func fill(r *rand.Rand, v []int8, lo int) {
	for i := range v {
		switch r.IntN(8) {
		case 0:
			v[i] = int8(lo)
		case 1:
			v[i] = 127
		default:
			v[i] = int8(lo + r.IntN(128-lo))
		}
	}
}

func checkKernel(t *testing.T, kn kernel, rows, n, k int, r *rand.Rand) {
	t.Helper()
	a := make([]int8, rows*k)
	w := make([]int8, n*k)
	fill(r, a, -128)
	fill(r, w, -127)
	p, err := packWith(kn, w, n, k)
	if err != nil {
		t.Fatal(err)
	}
	rows4 := (rows + 3) / 4 * 4
	lda := 4*p.KSteps + 4*r.IntN(3)
	ab := make([]byte, rows4*lda+8)
	for i := range ab {
		ab[i] = byte(r.IntN(256)) // junk in padding: must not matter
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < k; j++ {
			ab[i*lda+j] = byte(a[i*k+j]) ^ kn.flip
		}
	}
	ldc := 16*p.NBlk + r.IntN(5)
	const pad = 37
	cb := make([]int32, pad+rows4*ldc+pad)
	for i := range cb {
		cb[i] = guard
	}
	c := cb[pad : pad+rows4*ldc]
	// Only the first 16·NBlk columns of each row may be written.
	p.Gemm(ab, lda, rows4, c, ldc)
	want := naive(a, w, rows, n, k)
	for i := 0; i < pad; i++ {
		if cb[i] != guard || cb[len(cb)-1-i] != guard {
			t.Fatalf("%s rows=%d n=%d k=%d: guard overwritten", kn.name, rows, n, k)
		}
	}
	for i := 0; i < rows4; i++ {
		for j := 16 * p.NBlk; j < ldc; j++ {
			if c[i*ldc+j] != guard {
				t.Fatalf("%s rows=%d n=%d k=%d: wrote column %d beyond 16·NBlk", kn.name, rows, n, k, j)
			}
		}
		if i >= rows {
			continue
		}
		for o := 0; o < 16*p.NBlk; o++ {
			got := c[i*ldc+o]
			if o >= n {
				if got != 0 && kn.flip == 0 {
					t.Fatalf("%s: padding column %d = %d, want 0", kn.name, o, got)
				}
				continue
			}
			got += p.Offset(o, 0)
			if got != want[i*n+o] {
				t.Fatalf("%s rows=%d n=%d k=%d lda=%d ldc=%d: C[%d][%d] = %d, want %d", kn.name, rows, n, k, lda, ldc, i, o, got, want[i*n+o])
			}
		}
	}
}

func allKernels() []kernel {
	ks := append([]kernel(nil), available...)
	// The Go twin of the unsigned (VNNI) layout.
	ks = append(ks, kernel{name: "go-unsigned", flip: 0x80, fn: gemmGoUnsigned})
	return ks
}

func TestKernelsEqualReference(t *testing.T) {
	t.Logf("selected kernel %s; available %v", Kernel(), Kernels())
	r := rand.New(rand.NewPCG(1, 2))
	for _, kn := range allKernels() {
		t.Run(kn.name, func(t *testing.T) {
			for _, s := range [][3]int{{4, 16, 4}, {4, 1, 1}, {1, 10, 128}, {196, 64, 288}, {7, 32, 9}, {8, 33, 3}, {12, 17, 5}, {4, 64, 3136 / 8}, {28, 64, 288}, {24, 128, 40}, {12, 64, 1}, {16, 63, 7}, {64, 128, 392}} {
				checkKernel(t, kn, s[0], s[1], s[2], r)
			}
			for it := 0; it < 60; it++ {
				checkKernel(t, kn, 1+r.IntN(13), 1+r.IntN(70), 1+r.IntN(90), r)
			}
		})
	}
}

// TestSaturationExtremes: every product at its extreme; sums that a
// saturating kernel (VPMADDUBSW, int16 accumulation) would clip.
func TestSaturationExtremes(t *testing.T) {
	for _, kn := range allKernels() {
		for _, av := range []int8{-128, 127} {
			for _, wv := range []int8{-127, 127} {
				const rows, n, k = 4, 16, 1000
				a := make([]byte, rows*k)
				w := make([]int8, n*k)
				for i := range a {
					a[i] = byte(av) ^ kn.flip
				}
				for i := range w {
					w[i] = wv
				}
				p, err := packWith(kn, w, n, k)
				if err != nil {
					t.Fatal(err)
				}
				c := make([]int32, rows*16)
				p.Gemm(a, k, rows, c, 16)
				want := int32(av) * int32(wv) * k
				for i, v := range c {
					if v+p.Offset(i%16, 0) != want {
						t.Fatalf("%s a=%d w=%d: C[%d] = %d, want %d", kn.name, av, wv, i, v+p.Offset(i%16, 0), want)
					}
				}
			}
		}
	}
}

func TestPackRejects(t *testing.T) {
	if _, err := Pack([]int8{1, -128}, 1, 2); err == nil {
		t.Error("weight −128 accepted")
	}
	if _, err := Pack([]int8{1, 2, 3}, 2, 2); err == nil {
		t.Error("wrong weight count accepted")
	}
}

func TestOffsetWithZeroPoint(t *testing.T) {
	p, _ := Pack([]int8{1, 2, 3, -4}, 1, 4)
	want := int32(-5 * 2)
	if p.Flip() != 0 {
		want -= 128 * 2
	}
	if got := p.Offset(0, 5); got != want {
		t.Errorf("Offset = %d, want %d", got, want)
	}
}

func BenchmarkGemm(b *testing.B) {
	for _, kn := range allKernels() {
		for _, s := range [][3]int{{196, 64, 288}, {784, 32, 9}, {256, 128, 3136}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", kn.name, s[0], s[1], s[2]), func(b *testing.B) {
				w := make([]int8, s[1]*s[2])
				p, _ := packWith(kn, w, s[1], s[2])
				lda := 4 * p.KSteps
				a := make([]byte, s[0]*lda)
				c := make([]int32, s[0]*16*p.NBlk)
				b.SetBytes(int64(s[0] * s[1] * s[2])) // MACs
				for b.Loop() {
					p.Gemm(a, lda, s[0], c, 16*p.NBlk)
				}
			})
		}
	}
}

// TestSelectedKernel proves which kernel runs: when EDGECNN_EXPECT_KERNEL
// is set (make test sets it for each qemu CPU model), the selected kernel
// must be that one; the test also runs a GEMM through the package-level
// Pack (the selected kernel) and checks it.
func TestSelectedKernel(t *testing.T) {
	want := os.Getenv("EDGECNN_EXPECT_KERNEL")
	t.Logf("GOARCH=%s selected=%s available=%v expected=%q output=%s", goruntime.GOARCH, Kernel(), Kernels(), want, OutputKernel())
	if want != "" && Kernel() != want {
		t.Fatalf("selected kernel %q, want %q", Kernel(), want)
	}
	// The output stage's vector kernel goes with the GEMM kernel's CPU
	// (an AVX-512 CPU without VNNI runs the avx2 GEMM and the avx512 output).
	outs := map[string][]string{"avx512vnni": {"avx512"}, "avx2": {"avx2", "avx512"}, "neon-dotprod": {"neon"}, "neon": {"neon"}, "go": {"go-formula"}}[Kernel()]
	if !slices.Contains(outs, OutputKernel()) {
		t.Fatalf("kernel %s with output stage %s, want one of %v", Kernel(), OutputKernel(), outs)
	}
	w := []int8{1, -2, 3, -4, 5, 127, -127}
	p, err := Pack(w, 1, len(w))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kernel() != Kernel() {
		t.Fatalf("Pack used %q, selected %q", p.Kernel(), Kernel())
	}
	a := make([]byte, 4*8)
	for i := range w {
		a[i] = byte(int8(-128+37*i)) ^ Flip()
	}
	c := make([]int32, 4*16)
	p.Gemm(a, 8, 4, c, 16)
	var ref int32
	for i, v := range w {
		ref += int32(v) * int32(int8(-128+37*i))
	}
	if got := c[0] + p.Offset(0, 0); got != ref {
		t.Fatalf("selected kernel: got %d, want %d", got, ref)
	}
	// The single-row (batch-1 fully connected) path of the selected kernel.
	wantGemv := map[string]bool{"avx512vnni": true, "avx2": true, "neon-dotprod": true, "neon": true}[Kernel()]
	if p.HasGemv() != wantGemv {
		t.Fatalf("kernel %s: HasGemv = %v, want %v", Kernel(), p.HasGemv(), wantGemv)
	}
	if wantGemv {
		cv := make([]int32, 16)
		p.Gemv(a[:8], cv)
		if got := cv[0] + p.Offset(0, 0); got != ref {
			t.Fatalf("selected kernel Gemv: got %d, want %d", got, ref)
		}
	}
}

// TestGemvEqualsReference: the single-row path of every kernel.
func TestGemvEqualsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, kn := range allKernels() {
		for it := 0; it < 80; it++ {
			n, k := 1+r.IntN(150), 1+r.IntN(400)
			if it == 0 {
				n, k = 128, 3136
			}
			a := make([]int8, k)
			w := make([]int8, n*k)
			fill(r, a, -128)
			fill(r, w, -127)
			p, err := packWith(kn, w, n, k)
			if err != nil {
				t.Fatal(err)
			}
			ab := make([]byte, 4*4*p.KSteps)
			for i := range ab {
				ab[i] = byte(r.IntN(256))
			}
			for i, v := range a {
				ab[i] = byte(v) ^ kn.flip
			}
			c := make([]int32, 4*16*p.NBlk+9)
			for i := range c {
				c[i] = guard
			}
			p.Gemv(ab, c[:4*16*p.NBlk])
			want := naive(a, w, 1, n, k)
			for o := 0; o < n; o++ {
				if got := c[o] + p.Offset(o, 0); got != want[o] {
					t.Fatalf("%s gemv n=%d k=%d: C[%d] = %d, want %d", kn.name, n, k, o, got, want[o])
				}
			}
			if p.HasGemv() {
				for i := 16 * p.NBlk; i < len(c); i++ {
					if c[i] != guard {
						t.Fatalf("%s gemv: wrote past row 0 at %d", kn.name, i)
					}
				}
			}
		}
	}
}

// twinOf is the pure-Go kernel computing what kn computes (same A layout).
func twinOf(kn kernel) kernel {
	if kn.flip != 0 {
		return kernel{name: "go-unsigned", flip: kn.flip, fn: gemmGoUnsigned}
	}
	return kernel{name: "go", fn: gemmGoPtr}
}

// TestGemvEqualsTwin: every single-row kernel against its pure-Go twin
// (the generic four-row path, row 0), raw int32 results bit for bit over
// all 16·NBlk columns: odd and even k steps (both tails), 1 to 11 blocks,
// fc1's 3136×128, extremes (−128 inputs, ±127 weights) over-represented;
// the row is the exact 4·KSteps-byte slice and c sits between guards.
func TestGemvEqualsTwin(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kn := range allKernels() {
		if kn.gemv == nil {
			continue
		}
		tw := twinOf(kn)
		for it := 0; it < 120; it++ {
			n, k := 1+r.IntN(170), 1+r.IntN(70)
			switch it {
			case 0:
				n, k = 128, 3136
			case 1:
				n, k = 1, 1
			case 2:
				n, k = 17, 5 // two k steps: one iteration, no tail
			case 3:
				n, k = 33, 9 // three k steps: one iteration and the tail
			}
			a := make([]int8, k)
			w := make([]int8, n*k)
			fill(r, a, -128)
			fill(r, w, -127)
			p, err := packWith(kn, w, n, k)
			if err != nil {
				t.Fatal(err)
			}
			q, err := packWith(tw, w, n, k)
			if err != nil {
				t.Fatal(err)
			}
			ab := make([]byte, 4*4*p.KSteps)
			for i := range ab {
				ab[i] = byte(r.IntN(256)) // junk padding and scratch rows
			}
			for i, v := range a {
				ab[i] = byte(v) ^ kn.flip
			}
			const pad = 13
			cb := make([]int32, pad+16*p.NBlk+pad)
			for i := range cb {
				cb[i] = guard
			}
			p.Gemv(ab[:4*p.KSteps], cb[pad:pad+16*p.NBlk])
			want := make([]int32, 4*16*q.NBlk)
			q.Gemv(ab, want)
			for i := 0; i < pad; i++ {
				if cb[i] != guard || cb[len(cb)-1-i] != guard {
					t.Fatalf("%s gemv n=%d k=%d: guard overwritten", kn.name, n, k)
				}
			}
			for o := 0; o < 16*p.NBlk; o++ {
				if got := cb[pad+o]; got != want[o] {
					t.Fatalf("%s gemv n=%d k=%d: C[%d] = %d, twin %s %d", kn.name, n, k, o, got, tw.name, want[o])
				}
			}
		}
	}
}

// TestGemvSaturationExtremes: one row of every product at its extreme,
// sums an int16 or saturating kernel would clip, odd and even k steps.
func TestGemvSaturationExtremes(t *testing.T) {
	for _, kn := range allKernels() {
		for _, k := range []int{1000, 1001, 3136} {
			for _, av := range []int8{-128, 127} {
				for _, wv := range []int8{-127, 127} {
					const n = 19
					a := make([]byte, 4*k+16)
					w := make([]int8, n*k)
					for i := range a {
						a[i] = byte(av) ^ kn.flip
					}
					for i := range w {
						w[i] = wv
					}
					p, err := packWith(kn, w, n, k)
					if err != nil {
						t.Fatal(err)
					}
					c := make([]int32, 4*16*p.NBlk)
					p.Gemv(a, c)
					want := int32(av) * int32(wv) * int32(k)
					for o := 0; o < n; o++ {
						if got := c[o] + p.Offset(o, 0); got != want {
							t.Fatalf("%s k=%d a=%d w=%d: C[%d] = %d, want %d", kn.name, k, av, wv, o, got, want)
						}
					}
				}
			}
		}
	}
}
