//go:build !board

package main

import (
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// Streams of the negatives added to the quantizer's image sets (distinct
// from each other and from training's).
const (
	negSeedCalib uint64 = 0xca11b
	negSeedVal   uint64 = 0x5a11d
	negSeedTest  uint64 = 0x7e57
)

// hasRejectClass reports whether m is an 11-class model whose last class
// is model.RejectLabel ("not a digit").
func hasRejectClass(m *model.Model) bool {
	return m.Arch.Classes == train.RejectClasses && model.RejectIndex(m.Labels) == train.RejectClasses-1
}

// imagesWithNegatives returns images [from, to) of set for the quantizer;
// for a model with the reject class a tenth as many generated negatives
// (stream seed; digits feed fragments and touching pairs) follow them.
func imagesWithNegatives(m *model.Model, set *mnist.Set, from, to int, digits *mnist.Set, seed uint64, threads int) (quantize.Images, error) {
	per := set.H * set.W
	pix, lab := set.Images[from*per:to*per], set.Labels[from:to]
	if hasRejectClass(m) {
		var err error
		if pix, lab, err = train.AppendNegatives(pix, lab, (to-from+9)/10, digits, seed, max(1, threads)); err != nil {
			return quantize.Images{}, err
		}
	}
	return quantize.FromPixels(pix, lab, len(lab), m.Norm)
}
