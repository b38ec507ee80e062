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

// withNegatives appends (N+9)/10 generated negatives (stream seed) to im
// when m has the reject class.
func withNegatives(m *model.Model, im quantize.Images, digits *mnist.Set, seed uint64, threads int) (quantize.Images, error) {
	if !hasRejectClass(m) || digits == nil || im.N == 0 {
		return im, nil
	}
	pix, lab, err := train.AppendNegatives(nil, nil, (im.N+9)/10, digits, seed, max(1, threads))
	if err != nil {
		return quantize.Images{}, err
	}
	neg, err := quantize.FromPixels(pix, lab, len(lab), m.Norm)
	if err != nil {
		return quantize.Images{}, err
	}
	out := quantize.Images{N: im.N + neg.N, X: append(append([]float32(nil), im.X...), neg.X...),
		Labels: append(append([]int(nil), im.Labels...), neg.Labels...)}
	if len(im.Pixels) == len(im.X) {
		out.Pixels = append(append([]uint8(nil), im.Pixels...), neg.Pixels...)
	}
	return out, nil
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
