package pnm

import (
	"bytes"
	"testing"
)

// FuzzDecode: arbitrary bytes never panic, and an image that decodes has
// the size its header (DecodeConfig) announced, within MaxPixels.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("P5\n2 2\n255\n\x00\x40\x80\xff"))
	f.Add([]byte("P6 1 1 255 \x01\x02\x03"))
	f.Add([]byte("P5\n# comment\n3 1\n65535\n\x00\x01\x00\x02\x00\x03"))
	f.Add([]byte("P2\n2 1\n15\n3 15\n"))
	f.Add([]byte("P5 100000 100000 255\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, cerr := DecodeConfig(bytes.NewReader(data))
		img, err := Decode(bytes.NewReader(data))
		if err != nil {
			return
		}
		if cerr != nil {
			t.Fatalf("Decode accepted what DecodeConfig refused: %v", cerr)
		}
		b := img.Bounds()
		if b.Dx() != cfg.Width || b.Dy() != cfg.Height || b.Dx()*b.Dy() > MaxPixels {
			t.Fatalf("decoded %v, header %dx%d", b, cfg.Width, cfg.Height)
		}
	})
}
