// Package qdata assembles the image sets of one quantization run from the
// data sources of `edgecnn quantize` and `edgecnn export --int8`:
// calibration, validation (for --method auto and QAT), test and per-source
// evaluation sets, each followed by generated negatives when the model has
// the reject class ("x", not a digit).
package qdata

import (
	"fmt"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/quantize"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// Streams of the negatives added to the quantizer's image sets (distinct
// from each other and from training's).
const (
	SeedCalib uint64 = 0xca11b
	SeedVal   uint64 = 0x5a11d
	SeedTest  uint64 = 0x7e57
)

// HasRejectClass reports whether m is an 11-class model whose last class
// is model.RejectLabel ("not a digit").
func HasRejectClass(m *model.Model) bool {
	return m.Arch.Classes == train.RejectClasses && model.RejectIndex(m.Labels) == train.RejectClasses-1
}

// withNegatives appends (N+9)/10 generated negatives (stream seed) to im
// when m has the reject class.
func withNegatives(m *model.Model, im quantize.Images, digits *mnist.Set, seed uint64, threads int) (quantize.Images, error) {
	if !HasRejectClass(m) || digits == nil || im.N == 0 {
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

// FromMNIST returns images [from, to) of an MNIST set for the quantizer;
// for a model with the reject class a tenth as many generated negatives
// (stream seed; set's digits feed fragments and touching pairs) follow
// them.
func FromMNIST(m *model.Model, set *mnist.Set, from, to int, seed uint64, threads int) (quantize.Images, error) {
	per := set.H * set.W
	pix, lab := set.Images[from*per:to*per], set.Labels[from:to]
	if HasRejectClass(m) {
		var err error
		if pix, lab, err = train.AppendNegatives(pix, lab, (to-from+9)/10, set, seed, max(1, threads)); err != nil {
			return quantize.Images{}, err
		}
	}
	return quantize.FromPixels(pix, lab, len(lab), m.Norm)
}

// Request names the data of one `edgecnn quantize` run.
type Request struct {
	Model     *model.Model
	ModelPath string         // for error messages
	Sources   []*data.Source // calibration and test data (the first one's test split is the test set)
	Weights   []float64      // --mix (nil: equal)
	Extra     []*data.Source // evaluated only (--eval-data)
	Calib     int            // calibration images (≥ 1)
	Val       int            // validation images (0: none)
	Test      int            // test images of the first source (0: all)
	Threads   int
}

// Sets are the image sets of a Request.
type Sets struct {
	Calib quantize.Images
	Val   quantize.Images // N == 0 without validation images
	Test  quantize.Images
	// Sources has a row per source when there is more than one, a held-out
	// one or an image folder (nil for a lone MNIST source).
	Sources []quantize.SourceImages
}

// Build checks that the data fits the model and assembles the sets.
// Errors carry the "quantize: " prefix of the command.
func Build(r Request) (*Sets, error) {
	m, first := r.Model, r.Sources[0]
	if in := m.Input(); in.H != first.Train.H || in.W != first.Train.W || in.C != 1 {
		return nil, fmt.Errorf("quantize: %s: %w: the checkpoint's architecture takes %v inputs; the data has %dx%dx1 images", r.ModelPath, quantize.ErrImageShape, in, first.Train.H, first.Train.W)
	}
	all := append(append([]*data.Source(nil), r.Sources...), r.Extra...)
	for _, s := range all {
		if cl := s.EvalSet().Classes(); cl > m.Arch.Classes {
			return nil, fmt.Errorf("quantize: %s: %w", s.Info.Path, train.ErrNoClass(m, cl-1))
		}
	}
	calibSet, valSet, err := data.CalibVal(r.Sources, r.Weights, r.Calib, r.Val)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w: %v", quantize.ErrTooFew, err)
	}
	// A model with the reject class is calibrated and measured on
	// generated negatives too (a tenth as many as the digits).
	digits := train.DigitsOf(first.Train)
	images := func(s *data.Set, negSeed uint64) (quantize.Images, error) {
		im, err := quantize.FromSet(s, m.Norm)
		if err != nil || negSeed == 0 {
			return im, err
		}
		return withNegatives(m, im, digits, negSeed, r.Threads)
	}
	var out Sets
	if out.Calib, err = images(calibSet, SeedCalib); err != nil {
		return nil, err
	}
	if r.Val > 0 && valSet != nil {
		if out.Val, err = images(valSet, SeedVal); err != nil {
			return nil, err
		}
	}
	test := first.EvalSet()
	if r.Test > 0 && r.Test < test.N {
		test = test.Subset(firstN(r.Test))
	}
	if out.Test, err = images(test, SeedTest); err != nil {
		return nil, err
	}
	if len(r.Sources) > 1 || len(r.Extra) > 0 || first.Info.Kind != data.KindMNIST {
		for i, s := range all {
			set, note := s.EvalSet(), "test split"
			if i == 0 {
				set = test
			}
			if s.Info.Kind == data.KindFolder {
				note = "all images; also calibration"
				if i >= len(r.Sources) {
					note = "held out"
				}
			}
			im, err := images(set, 0)
			if err != nil {
				return nil, err
			}
			out.Sources = append(out.Sources, quantize.SourceImages{Name: s.Info.Path, Note: note, Images: im})
		}
	}
	return &out, nil
}

// QATImages are the training images of quantization-aware fine-tuning:
// the first source's training images outside the validation slice
// [nCalib, nCalib+nVal) (which measures the PTQ drop), at most limit of
// them (0: all). Fine-tuning needs a single MNIST source.
func QATImages(sources []*data.Source, nCalib, nVal, limit int) (pix []uint8, labels []uint8, index []int, err error) {
	tr := sources[0].Train
	if len(sources) > 1 || sources[0].Info.Kind != data.KindMNIST {
		return nil, nil, nil, fmt.Errorf("quantize: %w: --qat-epochs fine-tunes on one MNIST --data source only", quantize.ErrQATOptions)
	}
	for i := 0; i < tr.N && (limit == 0 || len(index) < limit); i++ {
		if i < nCalib || i >= nCalib+nVal {
			index = append(index, i)
		}
	}
	return tr.Pix, tr.Labels, index, nil
}

func firstN(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
