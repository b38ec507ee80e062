package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
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
}

// isolated reads every digit of photo i alone (rec: one digit per
// photo, not --multi; a tight true box as --rois misreads more, because
// the paper level is then estimated from a region that is mostly ink).
func (f *numbersFlags) isolated(ctx context.Context, rec *agent.Recognizer, d *photoset.Digits, split photoset.Split, kind photoset.Kind, i, n, w, h int) (string, error) {
	var sb strings.Builder
	for j := 0; j < n; j++ {
		num, err := photoset.NumberSetDigit(d, split, kind, i, j, w, h)
		if err != nil {
			return "", err
		}
		img, err := camera.DecodeJPEG(num.JPEG)
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
	for j, idx := range num.Index {
		a.norm.Pixels(a.x, d.Images[idx])
		if err := a.eng.Run(ctx, a.x, 1, a.y); err != nil {
			return err
		}
		a.rawDigits++
		if best, _ := agent.Confidence(a.y, a.probs); best == int(num.Text[j]-'0') {
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
