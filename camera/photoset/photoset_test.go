package photoset

import (
	"bytes"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestRender(t *testing.T) {
	digit := make([]uint8, 784)
	for y := 6; y < 22; y++ { // a vertical bar: a "1"
		digit[y*28+13], digit[y*28+14] = 255, 255
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 5; i++ {
		p := RandomParams(rng, 96, 64)
		b, err := Render(digit, p, rng)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() != 96 || img.Bounds().Dy() != 64 {
			t.Fatalf("photo %d: %v", i, err)
		}
		// Ink is darker than paper somewhere: min well below max.
		lo, hi := uint32(1<<16), uint32(0)
		for y := 0; y < 64; y++ {
			for x := 0; x < 96; x++ {
				r, _, _, _ := img.At(x, y).RGBA()
				lo, hi = min(lo, r), max(hi, r)
			}
		}
		if hi-lo < 1<<13 {
			t.Fatalf("photo %d has no contrast (%d..%d)", i, lo, hi)
		}
	}
}

func TestReadMNISTBad(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not idx"), 0o644)
	if _, err := ReadMNIST(bad, bad, 0); err == nil {
		t.Fatal("bad IDX accepted")
	}
	if _, err := ReadMNIST(filepath.Join(dir, "none"), bad, 0); err == nil {
		t.Fatal("missing file accepted")
	}
}
