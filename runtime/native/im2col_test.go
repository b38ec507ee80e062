package native

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/runtime/kernels"
)

// im2colBytes is the byte-by-byte im2col the word-copy paths must equal on
// the first K bytes of each row.
func im2colBytes(q *qconv, dst []byte, lda int, src []byte, n, oy, ox0, count int) {
	g := &q.g
	for j := 0; j < count; j++ {
		ox := ox0 + j
		for ky := 0; ky < g.KH; ky++ {
			for kx := 0; kx < g.KW; kx++ {
				for c := 0; c < g.C; c++ {
					dst[j*lda+(ky*g.KW+kx)*g.C+c] = src[((n*q.hp+oy*g.SH+ky)*q.wp+ox*g.SW+kx)*g.C+c]
				}
			}
		}
	}
}

// testQconv returns a qconv with just the geometry im2col uses and a
// random padded source of batch images (+8 bytes of slack).
func testQconv(r *rand.Rand, g kernels.ConvGeom, batch int) (*qconv, []byte) {
	q := &qconv{g: g}
	q.hp = max((g.OH-1)*g.SH+g.KH, g.PadT+g.H)
	q.wp = max((g.OW-1)*g.SW+g.KW, g.PadL+g.W)
	src := make([]byte, batch*q.hp*q.wp*g.C+8)
	for i := range src {
		src[i] = byte(r.UintN(256))
	}
	return q, src
}

func TestIm2colRandomGeometry(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for it := 0; it < 500; it++ {
		g := kernels.ConvGeom{H: 1 + r.IntN(9), W: 1 + r.IntN(9), C: 1 + r.IntN(12), KH: 1 + r.IntN(4), KW: 1 + r.IntN(4), SH: 1 + r.IntN(2), SW: 1 + r.IntN(2)}
		if it%5 == 0 {
			g.C = 1
		}
		g.PadT, g.PadL = r.IntN(g.KH), r.IntN(g.KW)
		g.OH = max((g.H+2*g.PadT-g.KH)/g.SH+1, 1)
		g.OW = max((g.W+2*g.PadL-g.KW)/g.SW+1, 1)
		batch := 1 + r.IntN(2)
		q, src := testQconv(r, g, batch)
		k := g.KH * g.KW * g.C
		lda := (k + 3) &^ 3
		if it%3 == 0 {
			lda += 4 * r.IntN(3)
		}
		n, oy := r.IntN(batch), r.IntN(g.OH)
		ox0 := r.IntN(g.OW)
		count := g.OW - ox0
		const guard = 16
		got := make([]byte, count*lda+guard)
		want := make([]byte, count*lda)
		for i := range got {
			got[i] = 0xA5
		}
		q.im2col(got, lda, src, n, oy, ox0, count)
		im2colBytes(q, want, lda, src, n, oy, ox0, count)
		for j := 0; j < count; j++ {
			if !bytes.Equal(got[j*lda:j*lda+k], want[j*lda:j*lda+k]) {
				t.Fatalf("geometry %+v lda %d: row %d = %v, want %v", g, lda, j, got[j*lda:j*lda+k], want[j*lda:j*lda+k])
			}
		}
		for i := count * lda; i < len(got); i++ {
			if got[i] != 0xA5 {
				t.Fatalf("geometry %+v lda %d: byte %d past the rows overwritten", g, lda, i-count*lda)
			}
		}
	}
}

// BenchmarkIm2col times the seed model's two convolutions' im2col for one
// image (all output rows).
func BenchmarkIm2col(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name string
		g    kernels.ConvGeom
	}{
		{"conv1", kernels.ConvGeom{H: 28, W: 28, C: 1, OH: 28, OW: 28, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1}},
		{"conv2", kernels.ConvGeom{H: 14, W: 14, C: 32, OH: 14, OW: 14, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1}},
	} {
		q, src := testQconv(r, c.g, 1)
		lda := (c.g.KH*c.g.KW*c.g.C + 3) &^ 3
		dst := make([]byte, c.g.OW*lda+8)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				for oy := 0; oy < c.g.OH; oy++ {
					q.im2col(dst, lda, src, 0, oy, 0, c.g.OW)
				}
			}
		})
	}
}
