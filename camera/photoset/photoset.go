// Package photoset renders realistic "photographed digit" test images: a
// handwritten digit (the strokes of an MNIST test image, sharpened into pen
// ink) on paper, seen by a camera: perspective and rotation, uneven
// lighting and a vignette, a soft shadow, paper texture, faint ruled lines,
// lens blur, sensor noise and JPEG compression. It is used to measure how
// well the camera preprocessing carries the model from MNIST to photos.
package photoset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Digits is a set of 28×28 gray digit images (white ink on black, MNIST
// layout) with labels.
type Digits struct {
	Images [][]uint8 // 784 bytes each
	Labels []uint8
}

// ReadMNISTTest reads at most max (0: all) of the MNIST test images and
// labels in dir (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz):
// the digits every photo set draws from.
func ReadMNISTTest(dir string, max int) (*Digits, error) {
	return ReadMNIST(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"), max)
}

// ReadMNIST reads an IDX image file and its label file (gzipped or not),
// at most max images (0: all).
func ReadMNIST(imagesPath, labelsPath string, max int) (*Digits, error) {
	ib, err := readMaybeGzip(imagesPath)
	if err != nil {
		return nil, err
	}
	lb, err := readMaybeGzip(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(ib) < 16 || binary.BigEndian.Uint32(ib) != 0x803 {
		return nil, fmt.Errorf("photoset: %s is not an IDX image file", imagesPath)
	}
	if len(lb) < 8 || binary.BigEndian.Uint32(lb) != 0x801 {
		return nil, fmt.Errorf("photoset: %s is not an IDX label file", labelsPath)
	}
	n := int(binary.BigEndian.Uint32(ib[4:]))
	r, c := int(binary.BigEndian.Uint32(ib[8:])), int(binary.BigEndian.Uint32(ib[12:]))
	if r != 28 || c != 28 || len(ib) != 16+n*784 || int(binary.BigEndian.Uint32(lb[4:])) != n || len(lb) != 8+n {
		return nil, fmt.Errorf("photoset: %s / %s: inconsistent sizes", imagesPath, labelsPath)
	}
	if max > 0 && max < n {
		n = max
	}
	d := &Digits{Labels: append([]uint8(nil), lb[8:8+n]...)}
	for i := 0; i < n; i++ {
		d.Images = append(d.Images, ib[16+i*784:16+(i+1)*784])
	}
	return d, nil
}

func readMaybeGzip(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("photoset: %w", err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("photoset: %s: %w", path, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("photoset: %s: %w", path, err)
		}
	}
	return b, nil
}

// Params are the random conditions of one photo (exposed for reports).
type Params struct {
	DigitH        float64 // digit height in pixels
	Angle         float64 // rotation, radians
	Tilt          float64 // perspective strength
	Paper         float64 // paper brightness at the brightest point
	Gradient      float64 // brightness ratio darkest/brightest
	InkReflect    float64 // ink reflectance (0 black)
	Shadow        bool
	Ruled         bool
	Blur          int
	Noise         float64
	JPEGQuality   int
	Width, Height int
}

// RandomParams draws photo conditions for a w×h frame.
func RandomParams(rng *rand.Rand, w, h int) Params {
	m := float64(min(w, h))
	return Params{
		DigitH:      m * (0.25 + 0.5*rng.Float64()),
		Angle:       (rng.Float64()*2 - 1) * 12 * math.Pi / 180,
		Tilt:        (rng.Float64()*2 - 1) * 0.25,
		Paper:       150 + 100*rng.Float64(),
		Gradient:    0.55 + 0.4*rng.Float64(),
		InkReflect:  0.08 + 0.3*rng.Float64(),
		Shadow:      rng.Float64() < 0.3,
		Ruled:       rng.Float64() < 0.2,
		Blur:        rng.IntN(3),
		Noise:       2 + 6*rng.Float64(),
		JPEGQuality: 40 + rng.IntN(51),
		Width:       w, Height: h,
	}
}

// Render draws digit (28×28, MNIST layout) as a photo with conditions p,
// JPEG-encodes it and returns the JPEG bytes.
func Render(digit []uint8, p Params, rng *rand.Rand) ([]byte, error) {
	w, h := p.Width, p.Height
	// Ink: the MNIST strokes occupy about 20 of the 28 pixels; map a
	// digit box of height DigitH, centred somewhere in the frame, through
	// rotation and a mild perspective back to MNIST coordinates.
	s := p.DigitH / 20 // frame pixels per MNIST pixel
	margin := p.DigitH * 0.75
	cx := margin + (float64(w)-2*margin)*rng.Float64()
	cy := margin + (float64(h)-2*margin)*rng.Float64()
	if float64(w) < 2*margin {
		cx = float64(w) / 2
	}
	if float64(h) < 2*margin {
		cy = float64(h) / 2
	}
	sin, cos := math.Sin(-p.Angle), math.Cos(-p.Angle)
	gx, gy := math.Cos(rng.Float64()*2*math.Pi), math.Sin(rng.Float64()*2*math.Pi)
	diag := math.Hypot(float64(w), float64(h))
	// Shadow: a half plane darker by 35%, with a soft edge.
	sa := rng.Float64() * 2 * math.Pi
	sx, sy := math.Cos(sa), math.Sin(sa)
	sOff := (rng.Float64()*0.6 - 0.3) * diag
	// Paper texture: a few low-frequency sinusoids.
	var tex [4][3]float64
	for i := range tex {
		tex[i] = [3]float64{rng.Float64() * 0.05, rng.Float64() * 0.05, rng.Float64() * 2 * math.Pi}
	}
	ruleGap := p.DigitH * (0.45 + 0.3*rng.Float64())
	ruleOff := rng.Float64() * ruleGap
	tint := [3]float64{1, 0.97 + 0.03*rng.Float64(), 0.9 + 0.1*rng.Float64()} // warm paper
	inkTint := [3]float64{1, 1, 1}
	if rng.Float64() < 0.5 { // blue ballpoint
		inkTint = [3]float64{0.6, 0.7, 1.6}
	}
	lum := make([]float64, w*h)
	inkA := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)+0.5-cx, float64(y)+0.5-cy
			// perspective: scale varies along the tilt direction
			k := 1 + p.Tilt*fy/math.Max(p.DigitH, 1)
			fx, fy = fx*k, fy*k
			rx, ry := fx*cos-fy*sin, fx*sin+fy*cos
			mx, my := rx/s+14, ry/s+14
			v := bilinear(digit, mx-0.5, my-0.5) / 255
			// Pen ink is crisp: sharpen MNIST's soft edges.
			v = smoothstep(0.25, 0.6, v)
			inkA[y*w+x] = v
			t := (float64(x)*gx + float64(y)*gy) / diag
			light := p.Paper * (1 - (1-p.Gradient)*(t*0.5+0.5))
			// vignette
			dx, dy := (float64(x)-float64(w)/2)/float64(w), (float64(y)-float64(h)/2)/float64(h)
			light *= 1 - 0.35*(dx*dx+dy*dy)
			if p.Shadow {
				d := float64(x)*sx + float64(y)*sy - sOff - (float64(w)*sx+float64(h)*sy)/2
				light *= 1 - 0.35*smoothstep(-diag*0.03, diag*0.03, d)
			}
			tx := 1.0
			for _, q := range tex {
				tx += 0.015 * math.Sin(q[0]*float64(x)+q[1]*float64(y)+q[2])
			}
			light *= tx
			lum[y*w+x] = light
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		ruled := 0.0
		if p.Ruled {
			d := math.Mod(float64(y)-ruleOff, ruleGap)
			if d < 0 {
				d += ruleGap
			}
			if d < 1.2 {
				ruled = 0.25
			}
		}
		for x := 0; x < w; x++ {
			i := y*w + x
			a := inkA[i]
			for c := 0; c < 3; c++ {
				refl := tint[c]
				if ruled > 0 && c < 2 { // light blue lines
					refl *= 1 - ruled
				}
				ir := math.Min(1, p.InkReflect*inkTint[c])
				refl = refl*(1-a) + ir*a
				v := lum[i] * refl
				img.Pix[4*i+c] = clamp8(v)
			}
			img.Pix[4*i+3] = 255
		}
	}
	if p.Blur > 0 {
		boxBlur(img, p.Blur)
	}
	if p.Noise > 0 {
		for i := 0; i < w*h; i++ {
			n := p.Noise * (rng.NormFloat64())
			for c := 0; c < 3; c++ {
				img.Pix[4*i+c] = clamp8(float64(img.Pix[4*i+c]) + n + 0.5*p.Noise*rng.NormFloat64())
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: p.JPEGQuality}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func clamp8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

func smoothstep(a, b, x float64) float64 {
	t := math.Max(0, math.Min(1, (x-a)/(b-a)))
	return t * t * (3 - 2*t)
}

func bilinear(d []uint8, x, y float64) float64 {
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	ax, ay := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= 28 || y >= 28 {
			return 0
		}
		return float64(d[y*28+x])
	}
	return (at(x0, y0)*(1-ax)+at(x0+1, y0)*ax)*(1-ay) + (at(x0, y0+1)*(1-ax)+at(x0+1, y0+1)*ax)*ay
}

// boxBlur blurs the RGB channels with a (2r+1)² box, a cheap lens blur.
func boxBlur(img *image.RGBA, r int) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	tmp := make([]float64, w*h)
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float64
				n := 0
				for dx := -r; dx <= r; dx++ {
					if xx := x + dx; xx >= 0 && xx < w {
						s += float64(img.Pix[4*(y*w+xx)+c])
						n++
					}
				}
				tmp[y*w+x] = s / float64(n)
			}
		}
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var s float64
				n := 0
				for dy := -r; dy <= r; dy++ {
					if yy := y + dy; yy >= 0 && yy < h {
						s += tmp[yy*w+x]
						n++
					}
				}
				img.Pix[4*(y*w+x)+c] = clamp8(s / float64(n))
			}
		}
	}
}

var _ = color.Gray{}
