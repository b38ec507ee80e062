package photoset

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/edgecnn/edgecnn/train/negatives"
)

// RejectSplit names a generated photo set. Tuning may be looked at while
// choosing recipes and thresholds; Test never is: its seeds and digits
// are disjoint from Tuning's, and only benchmarks read it.
type RejectSplit int

// Splits.
const (
	Tuning RejectSplit = iota
	Test
)

func (s RejectSplit) String() string {
	switch s {
	case Tuning:
		return "tuning"
	case Test:
		return "test"
	}
	return fmt.Sprintf("RejectSplit(%d)", int(s))
}

// ParseRejectSplit reads "tuning" or "test".
func ParseRejectSplit(s string) (RejectSplit, error) {
	switch s {
	case "tuning":
		return Tuning, nil
	case "test":
		return Test, nil
	}
	return 0, fmt.Errorf("photoset: split %q: want tuning or test", s)
}

// seed is the split's random stream (distinct from every stream the
// trainer and quantizer draw negatives from).
func (s RejectSplit) seed() uint64 { return 0x9f3a7c0000000000 + uint64(s)*0x1000003 + 17 }

// firstDigit is where the split's MNIST test digits start: Tuning takes
// indices from 0, Test from 5000 (the committed sample photos use 9000+).
func (s RejectSplit) firstDigit() int { return 5000 * int(s) }

// Sample is one generated photo with its expected answer.
type Sample struct {
	JPEG []byte
	Want string // the digit, or "" when the photo holds no digit
	Kind string // "digit" or "restyled digit", or the non-digit kind (letter, symbol, shape, scribble, blank, ruled)
}

// nonDigitKinds and their shares (percent) in NonDigits.
var nonDigitKinds = []struct {
	name  string
	share int
}{{"letter", 30}, {"symbol", 15}, {"shape", 20}, {"scribble", 15}, {"blank", 10}, {"ruled", 10}}

// NonDigits renders n w×h photos without a digit: letter-like glyphs,
// symbols, shapes and smileys, scribbles (drawn by train/negatives, with
// this split's seeds, never the trainer's), and blank or ruled paper,
// through the same camera model as the digit photos.
func NonDigits(split RejectSplit, n, w, h int) ([]Sample, error) {
	gen, err := negatives.New(nil, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Sample, 0, n)
	img := make([]uint8, 28*28)
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(split.seed(), uint64(i)))
		pick := rng.IntN(100)
		kind := nonDigitKinds[len(nonDigitKinds)-1].name
		for _, k := range nonDigitKinds {
			if pick < k.share {
				kind = k.name
				break
			}
			pick -= k.share
		}
		clear(img)
		p := RandomParams(rng, w, h)
		switch kind {
		case "letter":
			gen.RenderKind(negatives.Letter, rng, img)
		case "symbol":
			gen.RenderKind(negatives.Symbol, rng, img)
		case "shape":
			gen.RenderKind(negatives.Shape, rng, img)
		case "scribble":
			gen.RenderKind(negatives.Scribble, rng, img)
		case "blank":
			p.Ruled = false
		case "ruled":
			p.Ruled = true
			p.Shadow = rng.IntN(2) == 0
		}
		b, err := Render(img, p, rng)
		if err != nil {
			return nil, err
		}
		out = append(out, Sample{JPEG: b, Kind: kind})
	}
	return out, nil
}

// SingleDigits renders n w×h photos of one MNIST test digit each (d:
// the MNIST test split), from the split's own range of digits. Every
// second photo is "restyled" to look less like MNIST's writers: slanted,
// narrowed or widened, written with a thicker marker or a thinner pen.
func SingleDigits(d *Digits, split RejectSplit, n, w, h int) ([]Sample, error) {
	if len(d.Images) == 0 {
		return nil, fmt.Errorf("photoset: no digits")
	}
	if n > 5000 {
		return nil, fmt.Errorf("photoset: %d single-digit photos: a split has 5000 digits", n)
	}
	out := make([]Sample, 0, n)
	img := make([]uint8, 28*28)
	for i := 0; i < n; i++ {
		rng := rand.New(rand.NewPCG(split.seed()^0xd161, uint64(i)))
		k := (split.firstDigit() + i) % len(d.Images)
		src, kind := d.Images[k], "digit"
		if i%2 == 1 {
			restyle(src, img, rng)
			src, kind = img, "restyled digit"
		}
		b, err := Render(src, RandomParams(rng, w, h), rng)
		if err != nil {
			return nil, err
		}
		out = append(out, Sample{JPEG: b, Want: fmt.Sprint(d.Labels[k]), Kind: kind})
	}
	return out, nil
}

// restyle writes a slanted, narrowed or widened copy of the 28×28 digit
// src, with thicker or thinner strokes, into dst.
func restyle(src, dst []uint8, rng *rand.Rand) {
	shear := (rng.Float64()*2 - 1) * 0.35
	aspect := 0.7 + 0.5*rng.Float64()
	var m, cx, cy float64
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			v := float64(src[y*28+x])
			m += v
			cx += v * float64(x)
			cy += v * float64(y)
		}
	}
	if m == 0 {
		copy(dst, src)
		return
	}
	cx, cy = cx/m, cy/m
	tmp := make([]float64, 28*28)
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			dy := float64(y) - cy
			dx := (float64(x)-cx-shear*dy)/aspect + cx
			tmp[y*28+x] = bilinear(src, dx, float64(y))
		}
	}
	switch rng.IntN(3) {
	case 0: // thick marker: 3×3 max
		out := make([]float64, len(tmp))
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				v := tmp[y*28+x]
				for j := max(0, y-1); j <= min(27, y+1); j++ {
					for i := max(0, x-1); i <= min(27, x+1); i++ {
						v = math.Max(v, tmp[j*28+i])
					}
				}
				out[y*28+x] = v
			}
		}
		tmp = out
	case 1: // thin pen: lower the ink, keep the stroke cores
		for i, v := range tmp {
			tmp[i] = math.Max(0, (v-110)*255/145)
		}
	}
	for i, v := range tmp {
		dst[i] = uint8(math.Max(0, math.Min(255, v+0.5)))
	}
}
