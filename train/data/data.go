// Package data is the trainer's one interface over its data sources: the
// MNIST IDX files and image folders in torchvision's ImageFolder layout
// (DIR/<label>/*.{png,jpg,jpeg,gif,pgm,ppm}). Photos of any size go
// through camera/preprocess exactly as `edgecnn predict` sends them to
// the model (one code path, so training and serving cannot drift); 28×28
// grayscale images are taken as they are. Sources are mixed per batch
// with weights (Sampler), and every source has a digest (SHA-256 over its
// sorted file list and the files' contents) that checkpoints record.
package data

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// RejectLabel is the folder name (and model label) of "not a digit".
const RejectLabel = "x"

// ClassLabels are the labels of the class indices, in order: the digits
// "0".."9" are classes 0..9, RejectLabel is class 10 and the two-digit
// pairs "00".."99" (two touching digits in one box: the classes of a
// segmentation judge, train/judge) are classes 11..110. A folder's label
// names map to class indices through this table.
var ClassLabels = classLabels()

func classLabels() []string {
	l := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", RejectLabel}
	for p := 0; p < 100; p++ {
		l = append(l, fmt.Sprintf("%02d", p))
	}
	return l
}

// ClassIndex returns the class index of a label folder name.
func ClassIndex(label string) (int, bool) {
	for i, l := range ClassLabels {
		if l == label {
			return i, true
		}
	}
	return 0, false
}

// Kinds of sources.
const (
	KindMNIST  = "mnist"
	KindFolder = "folder"
)

// Errors returned (wrapped) for bad sources.
var (
	ErrLabel     = errors.New("not a label folder")
	ErrEmpty     = errors.New("no images")
	ErrDuplicate = errors.New("duplicate image")
	ErrImage     = errors.New("unreadable image")
	ErrClasses   = errors.New("too few classes")
)

// Set is N labelled images of H×W pixels in one of two storages: images
// 0..N8-1 are 8-bit (Pix, H·W bytes each, 0 background … 255 ink: MNIST
// and 28×28 grayscale files), images N8..N-1 are float ink 0..1 (Ink, H·W
// values each) exactly as camera/preprocess renders a photo.
type Set struct {
	N, H, W int
	N8      int
	Pix     []uint8
	Ink     []float32
	Labels  []uint8  // class indices (ClassLabels)
	Names   []string // optional: the file of each image (folders)
}

// FromMNIST wraps an MNIST split (no copy).
func FromMNIST(s *mnist.Set) *Set {
	return &Set{N: s.N, H: s.H, W: s.W, N8: s.N, Pix: s.Images, Labels: s.Labels}
}

// Size is H×W.
func (s *Set) Size() int { return s.H * s.W }

// Image returns image i: its 8-bit pixels or its float ink (one is nil).
func (s *Set) Image(i int) ([]uint8, []float32) {
	n := s.Size()
	if i < s.N8 {
		return s.Pix[i*n : (i+1)*n], nil
	}
	i -= s.N8
	return nil, s.Ink[i*n : (i+1)*n]
}

// Input writes image i normalized with norm into dst (H·W values): the
// same arithmetic as the trainer's input for 8-bit pixels
// ((p/255 − mean)/std as p·(1/255) then ·(1/std)) and as
// camera/preprocess for float ink ((ink − mean)·(1/std)), so a photo's
// tensor is bit-identical to what `edgecnn predict` feeds the model.
func (s *Set) Input(i int, norm model.Normalization, dst []float32) {
	mean, inv := norm.Mean, 1/norm.Std
	pix, ink := s.Image(i)
	if pix != nil {
		for j, p := range pix {
			dst[j] = (float32(p)*(1.0/255) - mean) * inv
		}
		return
	}
	for j, v := range ink {
		dst[j] = (v - mean) * inv
	}
}

// Inputs normalizes every image into one NHWC slice.
func (s *Set) Inputs(norm model.Normalization) []float32 {
	n := s.Size()
	x := make([]float32, s.N*n)
	for i := 0; i < s.N; i++ {
		s.Input(i, norm, x[i*n:(i+1)*n])
	}
	return x
}

// Pixels8 returns every image as 8-bit pixels (float ink rounded), e.g.
// for report thumbnails.
func (s *Set) Pixels8() []uint8 {
	if s.N8 == s.N {
		return s.Pix[:s.N*s.Size()]
	}
	out := make([]uint8, 0, s.N*s.Size())
	out = append(out, s.Pix[:s.N8*s.Size()]...)
	for _, v := range s.Ink {
		out = append(out, uint8(min(max(v, 0), 1)*255+0.5))
	}
	return out
}

// Subset returns the images idx (in that order) as a new Set (copies).
func (s *Set) Subset(idx []int) *Set {
	n := s.Size()
	out := &Set{H: s.H, W: s.W}
	for _, i := range idx {
		if i < s.N8 {
			out.N8++
		}
	}
	out.N = len(idx)
	out.Pix = make([]uint8, 0, out.N8*n)
	out.Ink = make([]float32, 0, (out.N-out.N8)*n)
	out.Labels = make([]uint8, 0, out.N)
	// 8-bit images first, then float ones; labels and names follow.
	for pass := 0; pass < 2; pass++ {
		for _, i := range idx {
			pix, ink := s.Image(i)
			if (pass == 0) != (pix != nil) {
				continue
			}
			if pix != nil {
				out.Pix = append(out.Pix, pix...)
			} else {
				out.Ink = append(out.Ink, ink...)
			}
			out.Labels = append(out.Labels, s.Labels[i])
			if s.Names != nil {
				out.Names = append(out.Names, s.Names[i])
			}
		}
	}
	return out
}

// Concat joins sets of the same image size into one (copies).
func Concat(sets ...*Set) (*Set, error) {
	if len(sets) == 1 {
		return sets[0], nil
	}
	out := &Set{}
	for k, s := range sets {
		if k == 0 {
			out.H, out.W = s.H, s.W
		} else if s.H != out.H || s.W != out.W {
			return nil, fmt.Errorf("data: image size %dx%d and %dx%d cannot be mixed", out.H, out.W, s.H, s.W)
		}
		out.N += s.N
		out.N8 += s.N8
	}
	n := out.H * out.W
	out.Pix = make([]uint8, 0, out.N8*n)
	out.Ink = make([]float32, 0, (out.N-out.N8)*n)
	var names bool
	for _, s := range sets {
		out.Pix = append(out.Pix, s.Pix[:s.N8*n]...)
		names = names || s.Names != nil
	}
	for _, s := range sets {
		out.Ink = append(out.Ink, s.Ink[:(s.N-s.N8)*n]...)
	}
	// Labels in storage order: all 8-bit images, then all float ones.
	for pass := 0; pass < 2; pass++ {
		for _, s := range sets {
			lo, hi := 0, s.N8
			if pass == 1 {
				lo, hi = s.N8, s.N
			}
			out.Labels = append(out.Labels, s.Labels[lo:hi]...)
			if names {
				for i := lo; i < hi; i++ {
					name := ""
					if s.Names != nil {
						name = s.Names[i]
					}
					out.Names = append(out.Names, name)
				}
			}
		}
	}
	return out, nil
}

// Offsets returns, for Concat(sets...), where image i of set k lands.
func Offsets(sets ...*Set) func(k, i int) int {
	var n8, nf []int
	t8, tf := 0, 0
	for _, s := range sets {
		n8, nf = append(n8, t8), append(nf, tf)
		t8 += s.N8
		tf += s.N - s.N8
	}
	return func(k, i int) int {
		if len(sets) == 1 {
			return i
		}
		if i < sets[k].N8 {
			return n8[k] + i
		}
		return t8 + nf[k] + i - sets[k].N8
	}
}

// Classes is 1 + the largest class index of the set's labels (0 if empty).
func (s *Set) Classes() int {
	c := 0
	for _, l := range s.Labels[:s.N] {
		c = max(c, int(l)+1)
	}
	return c
}

// LabelCounts counts images per label name.
func (s *Set) LabelCounts() map[string]int {
	m := map[string]int{}
	for _, l := range s.Labels[:s.N] {
		name := strconv.Itoa(int(l))
		if int(l) < len(ClassLabels) {
			name = ClassLabels[l]
		}
		m[name]++
	}
	return m
}

// Source is one data source: its training images, its test images
// (MNIST's t10k; nil for folders) and what a checkpoint records of it.
type Source struct {
	Info  model.DataSource
	Train *Set
	Test  *Set
	// Summary is the folder's loading summary (zero for MNIST).
	Summary Summary
}

// EvalSet is the set to evaluate a source on: its test split, or for a
// folder all its images.
func (s *Source) EvalSet() *Set {
	if s.Test != nil {
		return s.Test
	}
	return s.Train
}

// Limit keeps the first n training images (n ≤ 0: all). Folders keep an
// even spread over their (class-sorted) images so every class stays.
func (s *Source) Limit(n int) {
	if n <= 0 || n >= s.Train.N {
		return
	}
	if s.Info.Kind == KindMNIST {
		t := s.Train
		s.Train = &Set{N: n, H: t.H, W: t.W, N8: min(n, t.N8), Pix: t.Pix[:min(n, t.N8)*t.Size()], Labels: t.Labels[:n], Ink: t.Ink}
	} else {
		s.Train = s.Train.Subset(spread(s.Train.N, n))
	}
	s.Info.Images = s.Train.N
	s.Info.Labels = s.Train.LabelCounts()
}

// SplitVal holds out n training images for validation and returns them:
// MNIST's last n (as the trainer always did), a folder's evenly spaced
// ones (every class is represented). The source keeps the rest.
func (s *Source) SplitVal(n int) (*Set, error) {
	t := s.Train
	if n <= 0 {
		return nil, nil
	}
	if n >= t.N {
		return nil, fmt.Errorf("data: %s: validation split %d leaves no training images (%d)", s.Info.Path, n, t.N)
	}
	if s.Info.Kind == KindMNIST && t.N8 == t.N {
		k, size := t.N-n, t.Size()
		val := &Set{N: n, H: t.H, W: t.W, N8: n, Pix: t.Pix[k*size : t.N*size], Labels: t.Labels[k:t.N]}
		s.Train = &Set{N: k, H: t.H, W: t.W, N8: k, Pix: t.Pix[:k*size], Labels: t.Labels[:k]}
		s.Info.Images = k
		return val, nil
	}
	vi := spread(t.N, n)
	in := make([]bool, t.N)
	for _, i := range vi {
		in[i] = true
	}
	var rest []int
	for i := 0; i < t.N; i++ {
		if !in[i] {
			rest = append(rest, i)
		}
	}
	val := t.Subset(vi)
	s.Train = t.Subset(rest)
	s.Info.Images = s.Train.N
	s.Info.Labels = s.Train.LabelCounts()
	return val, nil
}

// spread picks k of n indices, evenly spaced.
func spread(n, k int) []int {
	idx := make([]int, k)
	for j := range idx {
		idx[j] = (2*j + 1) * n / (2 * k)
	}
	return idx
}
