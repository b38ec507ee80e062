package photoset

import (
	"bytes"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestLCDSetDeterministic: the same seed writes the same photos, another
// seed other photos; the digits take turns in DIR/<digit>/.
func TestLCDSetDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, run := range []struct {
		dir  string
		seed uint64
	}{{a, 1}, {b, 1}, {c, 2}} {
		if err := LCDSet(run.dir, 20, run.seed, 96, 72); err != nil {
			t.Fatal(err)
		}
	}
	for d := 0; d < 10; d++ {
		files, _ := filepath.Glob(filepath.Join(a, string(rune('0'+d)), "*.jpg"))
		if len(files) != 2 {
			t.Fatalf("digit %d: %d photos, want 2", d, len(files))
		}
	}
	pa, _ := os.ReadFile(filepath.Join(a, "7", "lcd-1-0017.jpg"))
	pb, _ := os.ReadFile(filepath.Join(b, "7", "lcd-1-0017.jpg"))
	pc, _ := os.ReadFile(filepath.Join(c, "7", "lcd-2-0017.jpg"))
	if len(pa) == 0 || !bytes.Equal(pa, pb) || bytes.Equal(pa, pc) {
		t.Fatalf("same seed equal %v, other seed differs %v", bytes.Equal(pa, pb), !bytes.Equal(pa, pc))
	}
	img, err := jpeg.Decode(bytes.NewReader(pa))
	if err != nil || img.Bounds().Dx() != 96 || img.Bounds().Dy() != 72 {
		t.Fatalf("photo: %v %v", err, img.Bounds())
	}
}

// TestLCDSegments: lit segments are dark on the panel; an 8 has more ink
// than a 1.
func TestLCDSegments(t *testing.T) {
	ink := func(d int) float64 {
		p := LCDParams{Digit: d, DigitH: 60, Aspect: 0.5, Thick: 0.12, Gap: 0.01, Panel: 200, Gradient: 1,
			SegReflect: 0.1, Ghost: 1, Tint: [3]float64{1, 1, 1}, JPEGQuality: 95, Width: 100, Height: 100}
		b, err := RenderLCD(p, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for y := 0; y < 100; y++ {
			for x := 0; x < 100; x++ {
				if r, _, _, _ := img.At(x, y).RGBA(); r>>8 < 100 { // segment pixels
					s++
				}
			}
		}
		return s
	}
	one, eight := ink(1), ink(8)
	if !(one > 100) || !(eight > 2.5*one) {
		t.Fatalf("ink of 1: %.0f, of 8: %.0f; want 8 ≫ 1 > 0", one, eight)
	}
	if _, err := RenderLCD(LCDParams{Digit: 10, Width: 50, Height: 50}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Fatal("digit 10 rendered")
	}
	if err := LCDSet(t.TempDir(), 0, 1, 50, 50); err == nil {
		t.Fatal("0 photos accepted")
	}
}
