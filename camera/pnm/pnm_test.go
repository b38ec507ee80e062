package pnm

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"
)

func TestRoundTripP5(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 5, 3))
	for i := range g.Pix {
		g.Pix[i] = uint8(i * 17)
	}
	var buf bytes.Buffer
	if err := EncodeGray(&buf, g); err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil || format != "pnm" {
		t.Fatalf("decode: %v %q", err, format)
	}
	if !bytes.Equal(img.(*image.Gray).Pix, g.Pix) {
		t.Fatalf("pixels differ: %v vs %v", img.(*image.Gray).Pix, g.Pix)
	}
}

func TestPlainAndColour(t *testing.T) {
	img, _, err := image.Decode(strings.NewReader("P2\n# comment\n2 2\n# another\n10\n0 5\n10 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.(*image.Gray).Pix; got[0] != 0 || got[1] != 128 || got[2] != 255 || got[3] != 26 {
		t.Fatalf("P2 scaled pixels %v", got)
	}
	img, _, err = image.Decode(strings.NewReader("P6 1 1 255\n\x10\x20\x30"))
	if err != nil {
		t.Fatal(err)
	}
	if p := img.(*image.RGBA).Pix; p[0] != 0x10 || p[1] != 0x20 || p[2] != 0x30 || p[3] != 255 {
		t.Fatalf("P6 pixel %v", p)
	}
	img, _, err = image.Decode(strings.NewReader("P5 1 1 65535\n\x12\x34"))
	if err != nil {
		t.Fatal(err)
	}
	if p := img.(*image.Gray16).Pix; p[0] != 0x12 || p[1] != 0x34 {
		t.Fatalf("16-bit pixel %v", p)
	}
	cfg, _, err := image.DecodeConfig(strings.NewReader("P3 7 9 255\n"))
	if err != nil || cfg.Width != 7 || cfg.Height != 9 {
		t.Fatalf("config %+v %v", cfg, err)
	}
}

func TestBadInput(t *testing.T) {
	for name, in := range map[string]string{
		"empty":         "",
		"magic":         "P7 1 1 255\n\x00",
		"zero size":     "P5 0 5 255\n",
		"huge":          "P5 100000 100000 255\n",
		"maxval 0":      "P5 1 1 0\n\x00",
		"maxval big":    "P5 1 1 70000\n\x00",
		"truncated":     "P5 4 4 255\n\x00\x01",
		"sample > max":  "P2 1 1 10\n11\n",
		"not a number":  "P5 a 1 255\n",
		"no whitespace": "P5 1 1 255",
	} {
		_, err := Decode(strings.NewReader(in))
		if err == nil {
			t.Errorf("%s: decoded without error", name)
			continue
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", name, err)
		}
	}
}
