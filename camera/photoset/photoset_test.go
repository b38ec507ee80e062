package photoset

import (
	"bytes"
	"image"
	"image/color"
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

func TestNumberSet(t *testing.T) {
	d := &Digits{}
	for i := 0; i < 10000; i++ { // synthetic "digits": a bar whose length encodes the label
		img := make([]uint8, 784)
		for y := 4; y < 24; y++ {
			for x := 10; x < 12+i%10; x++ {
				img[y*28+x] = 255
			}
		}
		d.Images = append(d.Images, img)
		d.Labels = append(d.Labels, uint8(i%10))
	}
	for _, k := range []Kind{Handwritten, Odometer, SevenSegment} {
		a, err := NumberSet(d, TuneSplit, k, 3, 160, 120)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := NumberSet(d, TuneSplit, k, 3, 160, 120)
		c, _ := NumberSet(d, TestSplit, k, 3, 160, 120)
		if !bytes.Equal(a.JPEG, b.JPEG) || a.Text != b.Text {
			t.Errorf("%v: the same photo twice differs", k)
		}
		if bytes.Equal(a.JPEG, c.JPEG) {
			t.Errorf("%v: tuning and test photo are the same", k)
		}
		if len(a.Text) < 3 || len(a.Text) > 6 || len(a.Boxes) != len(a.Text) {
			t.Errorf("%v: text %q, %d boxes", k, a.Text, len(a.Boxes))
		}
		for _, bx := range a.Boxes {
			if bx.Empty() || !bx.In(image.Rect(0, 0, 160, 120)) {
				t.Errorf("%v: digit box %v", k, bx)
			}
		}
		if k != SevenSegment {
			if len(a.Index) != len(a.Text) {
				t.Errorf("%v: %d MNIST indices for %q", k, len(a.Index), a.Text)
			}
			for j, idx := range a.Index {
				if idx < TuneSplit.First || idx >= TuneSplit.End || int(d.Labels[idx])+'0' != int(a.Text[j]) {
					t.Errorf("%v: digit %d of %q is MNIST image %d (label %d, split [%d, %d))", k, j, a.Text, idx, d.Labels[idx], TuneSplit.First, TuneSplit.End)
				}
			}
		}
		if _, err := jpeg.Decode(bytes.NewReader(a.JPEG)); err != nil {
			t.Errorf("%v: %v", k, err)
		}
	}
	if _, err := NumberSet(&Digits{Images: d.Images[:10], Labels: d.Labels[:10]}, TestSplit, Handwritten, 0, 160, 120); err == nil {
		t.Error("a split beyond the digits given accepted")
	}
	if TuneSplit.End > TestSplit.First || TestSplit.End > 9000 {
		t.Error("tuning and test splits overlap each other or the committed sample photos")
	}
}

func TestNumberSetDigit(t *testing.T) {
	d := &Digits{}
	for i := 0; i < 10000; i++ {
		img := make([]uint8, 784)
		for y := 4; y < 24; y++ {
			for x := 10; x < 12+i%10; x++ {
				img[y*28+x] = 255
			}
		}
		d.Images = append(d.Images, img)
		d.Labels = append(d.Labels, uint8(i%10))
	}
	for _, k := range []Kind{Handwritten, Odometer} {
		full, err := NumberSet(d, TuneSplit, k, 5, 320, 240)
		if err != nil {
			t.Fatal(err)
		}
		fullImg, err := jpeg.Decode(bytes.NewReader(full.JPEG))
		if err != nil {
			t.Fatal(err)
		}
		for j := range full.Text {
			one, err := NumberSetDigit(d, TuneSplit, k, 5, j, 320, 240)
			if err != nil {
				t.Fatal(err)
			}
			if one.Text != full.Text[j:j+1] || len(one.Boxes) != 1 || one.Boxes[0] != full.Boxes[j] || len(one.Index) != 1 || one.Index[0] != full.Index[j] {
				t.Errorf("%v digit %d: %q %v, want %q %v", k, j, one.Text, one.Boxes, full.Text[j:j+1], full.Boxes[j])
			}
			if bytes.Equal(one.JPEG, full.JPEG) {
				t.Errorf("%v digit %d: the photo still holds its neighbours", k, j)
			}
			img, err := jpeg.Decode(bytes.NewReader(one.JPEG))
			if err != nil {
				t.Fatal(err)
			}
			// No ink where the other digits were (outside this digit's box).
			for o, bx := range full.Boxes {
				if o == j || bx.Overlaps(full.Boxes[j].Inset(-2)) {
					continue
				}
				if !inkAround(fullImg, bx) {
					t.Fatalf("%v: no ink found in digit %d of the full photo (the check below could not fail)", k, o)
				}
				if inkAround(img, bx) {
					t.Errorf("%v digit %d: ink left of digit %d at %v", k, j, o, bx)
				}
			}
		}
		if _, err := NumberSetDigit(d, TuneSplit, k, 5, len(full.Text), 320, 240); err == nil {
			t.Errorf("%v: digit %d of a %d-digit number accepted", k, len(full.Text), len(full.Text))
		}
	}
	if _, err := NumberSetDigit(d, TuneSplit, SevenSegment, 0, 0, 320, 240); err == nil {
		t.Error("a seven-segment single digit accepted")
	}
}

// inkAround reports whether box bx of img spans more than 60 grey
// levels (the ink of a digit drawn there, not just paper and noise).
func inkAround(img image.Image, bx image.Rectangle) bool {
	var lo, hi uint8 = 255, 0
	for y := bx.Min.Y; y < bx.Max.Y; y++ {
		for x := bx.Min.X; x < bx.Max.X; x++ {
			r, _, _, _ := img.At(x, y).RGBA()
			v := uint8(r >> 8)
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return int(hi)-int(lo) > 60
}

// TestFilled: the frame of a number filling it holds every digit's
// columns and all but the top 2 rows of the tallest, stays within the
// photo, and is the number's box with the documented margins.
func TestFilled(t *testing.T) {
	n := Number{Boxes: []image.Rectangle{image.Rect(100, 50, 140, 130), image.Rect(138, 60, 180, 140)}}
	if got, want := n.Filled(image.Rect(0, 0, 640, 480)), image.Rect(98, 52, 182, 149); got != want {
		t.Errorf("Filled: %v, want %v", got, want)
	}
	n.Boxes = append(n.Boxes, image.Rect(600, 400, 640, 480))
	if got, want := n.Filled(image.Rect(0, 0, 640, 480)), image.Rect(87, 52, 640, 480); got != want {
		t.Errorf("Filled at the photo's corner: %v, want %v", got, want)
	}
	if got := (Number{}).Filled(image.Rect(0, 0, 640, 480)); !got.Empty() {
		t.Errorf("Filled of no digit: %v, want empty", got)
	}
	img := image.NewGray(image.Rect(0, 0, 640, 480))
	if crop, err := n.FilledImage(img); err != nil || crop.Bounds() != n.Filled(img.Bounds()) {
		t.Errorf("FilledImage: %v, %v; want %v", crop, err, n.Filled(img.Bounds()))
	}
	if _, err := n.FilledImage(image.NewUniform(color.Black)); err == nil {
		t.Error("FilledImage of an image without SubImage: no error")
	}
}
