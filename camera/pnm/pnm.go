// Package pnm decodes and encodes the Netpbm gray and colour formats PGM
// (P2 plain, P5 raw) and PPM (P3 plain, P6 raw), 8 or 16 bits per sample.
// Importing it registers the decoder with the image package, so
// image.Decode and image.DecodeConfig understand these files.
//
// Decoded PGM images are *image.Gray (maxval ≤ 255) or *image.Gray16;
// PPM images are *image.RGBA (maxval ≤ 255) or *image.RGBA64. Samples are
// rescaled to the full range when maxval is not 255 or 65535.
package pnm

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
)

// MaxPixels bounds the image size the decoder accepts (64 Mpixel), so a
// hostile header cannot make it allocate gigabytes.
const MaxPixels = 64 << 20

// ErrFormat is returned (wrapped) for malformed files.
var ErrFormat = errors.New("pnm: invalid format")

func init() {
	for _, m := range []string{"P2", "P3", "P5", "P6"} {
		image.RegisterFormat("pnm", m, Decode, DecodeConfig)
	}
}

type header struct {
	magic  byte // '2', '3', '5', '6'
	w, h   int
	maxval int
}

func (h header) channels() int {
	if h.magic == '3' || h.magic == '6' {
		return 3
	}
	return 1
}

func readHeader(br *bufio.Reader) (header, error) {
	var h header
	var m [2]byte
	if _, err := io.ReadFull(br, m[:]); err != nil {
		return h, fmt.Errorf("%w: reading magic: %v", ErrFormat, err)
	}
	if m[0] != 'P' || (m[1] != '2' && m[1] != '3' && m[1] != '5' && m[1] != '6') {
		return h, fmt.Errorf("%w: magic %q is not P2, P3, P5 or P6", ErrFormat, m[:])
	}
	h.magic = m[1]
	var err error
	if h.w, err = readUint(br); err != nil {
		return h, fmt.Errorf("%w: width: %v", ErrFormat, err)
	}
	if h.h, err = readUint(br); err != nil {
		return h, fmt.Errorf("%w: height: %v", ErrFormat, err)
	}
	if h.maxval, err = readUint(br); err != nil {
		return h, fmt.Errorf("%w: maxval: %v", ErrFormat, err)
	}
	switch {
	case h.w <= 0 || h.h <= 0:
		return h, fmt.Errorf("%w: zero size %dx%d", ErrFormat, h.w, h.h)
	case h.maxval <= 0 || h.maxval > 65535:
		return h, fmt.Errorf("%w: maxval %d out of range [1, 65535]", ErrFormat, h.maxval)
	case h.w > MaxPixels || h.h > MaxPixels || h.w*h.h > MaxPixels:
		return h, fmt.Errorf("%w: %dx%d exceeds %d pixels", ErrFormat, h.w, h.h, MaxPixels)
	}
	// Exactly one whitespace byte separates the header from raster data.
	c, err := br.ReadByte()
	if err != nil {
		return h, fmt.Errorf("%w: header end: %v", ErrFormat, err)
	}
	if !isSpace(c) {
		return h, fmt.Errorf("%w: no whitespace after maxval", ErrFormat)
	}
	return h, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// readUint reads a decimal number, skipping whitespace and # comments.
func readUint(br *bufio.Reader) (int, error) {
	var c byte
	var err error
	for {
		if c, err = br.ReadByte(); err != nil {
			return 0, err
		}
		if c == '#' {
			if _, err = br.ReadString('\n'); err != nil {
				return 0, err
			}
			continue
		}
		if !isSpace(c) {
			break
		}
	}
	if c < '0' || c > '9' {
		return 0, fmt.Errorf("unexpected byte %q", c)
	}
	n := 0
	for {
		n = n*10 + int(c-'0')
		if n > 1<<30 {
			return 0, errors.New("number too large")
		}
		if c, err = br.ReadByte(); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return 0, err
		}
		if c < '0' || c > '9' {
			return n, br.UnreadByte()
		}
	}
}

// DecodeConfig returns the size and colour model without reading the raster.
func DecodeConfig(r io.Reader) (image.Config, error) {
	h, err := readHeader(bufio.NewReader(r))
	if err != nil {
		return image.Config{}, err
	}
	cm := color.GrayModel
	switch {
	case h.channels() == 1 && h.maxval > 255:
		cm = color.Gray16Model
	case h.channels() == 3 && h.maxval <= 255:
		cm = color.RGBAModel
	case h.channels() == 3:
		cm = color.RGBA64Model
	}
	return image.Config{ColorModel: cm, Width: h.w, Height: h.h}, nil
}

// Decode reads a PGM or PPM image.
func Decode(r io.Reader) (image.Image, error) {
	br := bufio.NewReader(r)
	h, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	n := h.w * h.h * h.channels()
	samples := make([]uint16, n)
	if h.magic == '2' || h.magic == '3' {
		for i := range samples {
			v, err := readUint(br)
			if err != nil {
				return nil, fmt.Errorf("%w: sample %d of %d: %v", ErrFormat, i, n, err)
			}
			if v > h.maxval {
				return nil, fmt.Errorf("%w: sample %d exceeds maxval %d", ErrFormat, v, h.maxval)
			}
			samples[i] = uint16(v)
		}
	} else {
		bps := 1
		if h.maxval > 255 {
			bps = 2
		}
		raw := make([]byte, n*bps)
		if _, err := io.ReadFull(br, raw); err != nil {
			return nil, fmt.Errorf("%w: raster truncated (%dx%d): %v", ErrFormat, h.w, h.h, err)
		}
		for i := range samples {
			v := uint16(raw[i])
			if bps == 2 {
				v = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
			}
			if int(v) > h.maxval {
				return nil, fmt.Errorf("%w: sample %d exceeds maxval %d", ErrFormat, v, h.maxval)
			}
			samples[i] = v
		}
	}
	rect := image.Rect(0, 0, h.w, h.h)
	if h.maxval <= 255 {
		scale := func(v uint16) uint8 { return uint8((int(v)*255 + h.maxval/2) / h.maxval) }
		if h.channels() == 1 {
			img := image.NewGray(rect)
			for i, v := range samples {
				img.Pix[i] = scale(v)
			}
			return img, nil
		}
		img := image.NewRGBA(rect)
		for i := 0; i < h.w*h.h; i++ {
			img.Pix[4*i] = scale(samples[3*i])
			img.Pix[4*i+1] = scale(samples[3*i+1])
			img.Pix[4*i+2] = scale(samples[3*i+2])
			img.Pix[4*i+3] = 255
		}
		return img, nil
	}
	scale := func(v uint16) uint16 { return uint16((int(v)*65535 + h.maxval/2) / h.maxval) }
	if h.channels() == 1 {
		img := image.NewGray16(rect)
		for i, v := range samples {
			s := scale(v)
			img.Pix[2*i], img.Pix[2*i+1] = byte(s>>8), byte(s)
		}
		return img, nil
	}
	img := image.NewRGBA64(rect)
	for i := 0; i < h.w*h.h; i++ {
		for c := 0; c < 3; c++ {
			s := scale(samples[3*i+c])
			img.Pix[8*i+2*c], img.Pix[8*i+2*c+1] = byte(s>>8), byte(s)
		}
		img.Pix[8*i+6], img.Pix[8*i+7] = 0xff, 0xff
	}
	return img, nil
}

// EncodeGray writes img as a raw 8-bit PGM (P5).
func EncodeGray(w io.Writer, img *image.Gray) error {
	b := img.Bounds()
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "P5\n%d %d\n255\n", b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		i := img.PixOffset(b.Min.X, y)
		if _, err := bw.Write(img.Pix[i : i+b.Dx()]); err != nil {
			return err
		}
	}
	return bw.Flush()
}
