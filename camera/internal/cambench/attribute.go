package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// attribution splits the misread photos of a numbers run by cause: a
// photo whose digits, each drawn alone in the same photo
// (photoset.NumberSetDigit) and read as one digit, all come out right
// is a segmentation error; otherwise the classifier misreads at least
// one digit even without neighbours.
type attribution struct {
	photos, isoExact, isoDigits, isoRight int
	// the same digits' MNIST originals (28×28, no photo) read by the
	// model alone (eng, its normalization and score kind; x, y: buffers)
	rawExact, rawDigits, rawRight int
	eng                           runtime.Engine
	norm                          model.Normalization
	probs                         bool
	x, y                          []float32
	seg, cls                      map[string]int // by condition ("all" too)
	isoWrong                      []string
	rawOK                         []bool // the last photo's originals: read right
}

// isolated reads every digit of photo i alone (rec: one digit per
// photo, not --multi; a tight true box as --rois misreads more, because
// the paper level is then estimated from a region that is mostly ink).
func (f *numbersFlags) isolated(ctx context.Context, rec *agent.Recognizer, d *photoset.Digits, split photoset.Split, kind photoset.Kind, i, n, w, h int) (string, error) {
	var sb strings.Builder
	for j := 0; j < n; j++ {
		_, img, err := aloneDigit(d, split, kind, i, j, w, h)
		if err != nil {
			return "", err
		}
		res, err := rec.Recognize(ctx, img)
		if err != nil {
			return "", err
		}
		t := res.Text
		if t == "" {
			t = "?"
		}
		sb.WriteString(t)
	}
	return sb.String(), nil
}

// aloneDigit draws digit j of photo i alone in the same photo
// (photoset.NumberSetDigit) and decodes it.
func aloneDigit(d *photoset.Digits, split photoset.Split, kind photoset.Kind, i, j, w, h int) (photoset.Number, image.Image, error) {
	one, err := photoset.NumberSetDigit(d, split, kind, i, j, w, h)
	if err != nil {
		return photoset.Number{}, nil, err
	}
	img, err := camera.DecodeJPEG(one.JPEG)
	return one, img, err
}

// useEngine sets the engine that original reads with.
func (a *attribution) useEngine(eng runtime.Engine) error {
	norm, err := model.NormFromMetadata(eng.Metadata())
	if err != nil {
		return err
	}
	shape := eng.Output().Shape
	a.eng, a.norm, a.probs = eng, norm, runtime.ScoresAreProbabilities(eng.Metadata())
	a.x, a.y = make([]float32, 28*28), make([]float32, shape[len(shape)-1])
	return nil
}

// original reads the MNIST originals of the digits of num (num.Index)
// with the model alone (useEngine), as edgecnn eval does: what the
// classifier makes of the same digits before any photo or segmentation
// touches them.
func (a *attribution) original(ctx context.Context, d *photoset.Digits, num photoset.Number) error {
	if len(num.Index) != len(num.Text) {
		return fmt.Errorf("attribute: photo %q has %d MNIST indices", num.Text, len(num.Index))
	}
	exact := true
	a.rawOK = a.rawOK[:0]
	for j, idx := range num.Index {
		a.norm.Pixels(a.x, d.Images[idx])
		if err := a.eng.Run(ctx, a.x, 1, a.y); err != nil {
			return err
		}
		a.rawDigits++
		best, _ := agent.Confidence(a.y, a.probs)
		ok := best == int(num.Text[j]-'0')
		a.rawOK = append(a.rawOK, ok)
		if ok {
			a.rawRight++
		} else {
			exact = false
		}
	}
	if exact {
		a.rawExact++
	}
	return nil
}

// add counts photo num, read as got with neighbours and as iso alone.
func (a *attribution) add(num photoset.Number, got, iso string) {
	a.photos++
	a.isoDigits += len(num.Text)
	a.isoRight += max(0, len(num.Text)-editDistance(num.Text, iso))
	if iso == num.Text {
		a.isoExact++
	} else if len(a.isoWrong) < 60 {
		a.isoWrong = append(a.isoWrong, num.Text+"→"+iso)
	}
	if got == num.Text {
		return
	}
	m := a.cls
	if iso == num.Text {
		m = a.seg
	}
	m["all"]++
	for c, on := range map[string]bool{"touching": num.Touching, "broken": num.Broken, "unequal": num.Unequal, "edge": num.Edge} {
		if on {
			m[c]++
		}
	}
}

func (a *attribution) print() {
	fmt.Printf("the digits' MNIST originals, no photo: exact %d/%d = %.1f%%, per digit %d/%d = %.2f%%\n",
		a.rawExact, a.photos, 100*float64(a.rawExact)/float64(max(1, a.photos)), a.rawRight, a.rawDigits, 100*float64(a.rawRight)/float64(max(1, a.rawDigits)))
	fmt.Printf("digits alone in the photo: exact %d/%d = %.1f%%, per digit %d/%d = %.2f%%\n",
		a.isoExact, a.photos, 100*float64(a.isoExact)/float64(max(1, a.photos)), a.isoRight, a.isoDigits, 100*float64(a.isoRight)/float64(max(1, a.isoDigits)))
	fmt.Println("alone, misread:", strings.Join(a.isoWrong, " "))
	for _, x := range []struct {
		name string
		m    map[string]int
	}{{"segmentation (every digit right alone)", a.seg}, {"classifier (a digit wrong even alone)", a.cls}} {
		var cs []string
		for c, v := range x.m {
			if c != "all" {
				cs = append(cs, fmt.Sprintf("%s %d", c, v))
			}
		}
		sort.Strings(cs)
		fmt.Printf("misread photos, %s: %d %v\n", x.name, x.m["all"], cs)
	}
}

// attributePhoto adds photo i, read as got, to the attribution a: its
// digits read alone by rec and their MNIST originals; with -save-alone
// it saves the sheets of the digits the photo alone costs.
func (f *numbersFlags) attributePhoto(ctx context.Context, a *attribution, rec *agent.Recognizer, d *photoset.Digits, split photoset.Split, kind photoset.Kind, i int, num photoset.Number, got string, w, h int) error {
	iso, err := f.isolated(ctx, rec, d, split, kind, i, len(num.Text), w, h)
	if err != nil {
		return err
	}
	if err := a.original(ctx, d, num); err != nil {
		return err
	}
	a.add(num, got, iso)
	if f.saveAlone == "" {
		return nil
	}
	return f.saveAloneSheets(rec, d, split, kind, i, num, iso, a.rawOK, w, h)
}

// saveAloneSheets saves, for -save-alone, a sheet of every digit of photo
// i (read alone as iso, one character a digit) that is misread alone
// although its MNIST original reads right (rawOK): the digit drawn alone
// again and preprocessed again by rec's preprocessor (its automatic
// polarity; the model's input of rec's first reading).
func (f *numbersFlags) saveAloneSheets(rec *agent.Recognizer, d *photoset.Digits, split photoset.Split, kind photoset.Kind, i int, num photoset.Number, iso string, rawOK []bool, w, h int) error {
	if len(iso) != len(num.Text) || len(rawOK) != len(num.Text) {
		return nil
	}
	for j := range num.Text {
		if iso[j] == num.Text[j] || !rawOK[j] {
			continue
		}
		one, img, err := aloneDigit(d, split, kind, i, j, w, h)
		if err != nil {
			return err
		}
		pre := rec.Preprocessor()
		pr, err := pre.Process(img)
		if err != nil {
			return err
		}
		var ink []float32
		if len(pr.Digits) > 0 {
			ink = pr.Digits[0].Ink
		}
		if err := os.MkdirAll(f.saveAlone, 0o755); err != nil {
			return err
		}
		path := filepath.Join(f.saveAlone, fmt.Sprintf("%s-%s-%04d-%d-want%c-got%c.png", f.kind, split.Name, i, j, num.Text[j], iso[j]))
		if err := aloneSheet(path, d.Images[num.Index[j]], ink, pre.Config().Width, pre.Config().Height, img, one.Boxes[0]); err != nil {
			return err
		}
	}
	return nil
}

// aloneSheet writes three panels side by side, each 28·aloneZoom pixels
// square: the 28×28 MNIST original orig, the model's input ink (cw×ch,
// 0..1; blank when nil) and the photo img around box (a square a third
// larger than its longer side, centred on it).
func aloneSheet(path string, orig []uint8, ink []float32, cw, ch int, img image.Image, box image.Rectangle) error {
	const side = 28 * aloneZoom
	out := image.NewGray(image.Rect(0, 0, 3*side+2*aloneGap, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			out.SetGray(x, y, color.Gray{orig[(y/aloneZoom)*28+x/aloneZoom]})
			if ink != nil {
				v := ink[(y*ch/side)*cw+x*cw/side]
				out.SetGray(side+aloneGap+x, y, color.Gray{uint8(255 * max(0, min(1, v)))})
			}
		}
	}
	n := max(1, box.Dx(), box.Dy()) * 4 / 3
	x0, y0 := (box.Min.X+box.Max.X-n)/2, (box.Min.Y+box.Max.Y-n)/2
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			p := image.Pt(x0+x*n/side, y0+y*n/side)
			out.Set(2*(side+aloneGap)+x, y, color.GrayModel.Convert(img.At(p.X, p.Y)))
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// aloneSheet's zoom of a 28-pixel panel and the gap between panels.
const (
	aloneZoom = 6
	aloneGap  = 10
)
