package camera

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// exifJPEG returns img encoded as a JPEG with an APP1 EXIF block carrying
// orientation o, in the given byte order ("II" or "MM").
func exifJPEG(t testing.TB, img image.Image, o int, order string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if order == "MM" {
		bo = binary.BigEndian
	}
	tiff := make([]byte, 8+2+12*2+4)
	copy(tiff, order)
	bo.PutUint16(tiff[2:], 42)
	bo.PutUint32(tiff[4:], 8)
	bo.PutUint16(tiff[8:], 2)
	e := tiff[10:]
	bo.PutUint16(e[0:], 0x010F) // Make (ASCII), skipped by the reader
	bo.PutUint16(e[2:], 2)
	bo.PutUint32(e[4:], 1)
	e = tiff[22:]
	bo.PutUint16(e[0:], 0x0112)
	bo.PutUint16(e[2:], 3)
	bo.PutUint32(e[4:], 1)
	bo.PutUint16(e[8:], uint16(o))
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	j := buf.Bytes()
	out := append([]byte{}, j[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// asymmetric is a 4×2 image whose corners differ, to tell rotations apart.
func asymmetric() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			v := uint8(0)
			if x < 20 && y < 10 {
				v = 255 // top-left quadrant white
			}
			g.SetGray(x, y, color.Gray{v})
		}
	}
	return g
}

func TestEXIFOrientation(t *testing.T) {
	src := asymmetric()
	// Where the white top-left quadrant of the stored image appears after
	// turning it upright, per orientation (as a point inside it).
	want := map[int]struct {
		w, h int
		x, y int
	}{
		1: {40, 20, 5, 5}, 2: {40, 20, 35, 5}, 3: {40, 20, 35, 15}, 4: {40, 20, 5, 15},
		5: {20, 40, 5, 5}, 6: {20, 40, 15, 5}, 7: {20, 40, 15, 35}, 8: {20, 40, 5, 35},
	}
	for _, order := range []string{"II", "MM"} {
		for o := 1; o <= 8; o++ {
			data := exifJPEG(t, src, o, order)
			if got := JPEGOrientation(data); got != o {
				t.Fatalf("%s orientation %d: read %d", order, o, got)
			}
			img, err := Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			w := want[o]
			if img.Bounds().Dx() != w.w || img.Bounds().Dy() != w.h {
				t.Fatalf("orientation %d: %v, want %dx%d", o, img.Bounds(), w.w, w.h)
			}
			if r, _, _, _ := img.At(w.x, w.y).RGBA(); r < 0x8000 {
				t.Errorf("%s orientation %d: (%d,%d) is dark, want the white corner there", order, o, w.x, w.y)
			}
		}
	}
}

// A phone photo stored sideways with orientation 6 reads like the upright one.
func TestDecodeFilePortraitPhoto(t *testing.T) {
	photos, _ := filepath.Glob(filepath.Join("testdata", "photos", "*.jpg"))
	if len(photos) == 0 {
		t.Fatal("no sample photos in testdata/photos")
	}
	up, err := DecodeFile(photos[0])
	if err != nil {
		t.Fatal(err)
	}
	// Store it rotated 90° counter-clockwise, as a sensor would, tagged 6.
	sideways := Orient(up, 8)
	path := filepath.Join(t.TempDir(), "portrait.jpg")
	if err := os.WriteFile(path, exifJPEG(t, sideways, 6, "MM"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != up.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), up.Bounds())
	}
	var diff, n float64
	b := up.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			a := color.GrayModel.Convert(up.At(x, y)).(color.Gray).Y
			c := color.GrayModel.Convert(got.At(x, y)).(color.Gray).Y
			d := float64(a) - float64(c)
			diff += d * d
			n++
		}
	}
	if rms := diff / n; rms > 100 { // JPEG re-encoding noise only
		t.Errorf("mean squared difference %.1f: the photo was not turned upright", rms)
	}
}

func TestDecodeReaderLimit(t *testing.T) {
	data := exifJPEG(t, asymmetric(), 1, "II")
	if _, err := DecodeReader(bytes.NewReader(data), int64(len(data)-1)); err == nil {
		t.Error("over the byte limit: no error")
	}
	if _, err := DecodeReader(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Error(err)
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	f.Add(exifJPEG(f, asymmetric(), 6, "II"))
	f.Add(exifJPEG(f, asymmetric(), 3, "MM"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := JPEGOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
