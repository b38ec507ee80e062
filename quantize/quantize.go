// Package quantize turns a float edgecnn model into TFLite's full-integer
// int8 graph and explains, layer by layer, what that cost.
//
// The pipeline:
//
//  1. Graph preparation: model.FloatGraph folds BatchNorm into the preceding
//     convolution and fuses ReLU into conv/dense ops; the quantizer works on
//     that float graph, so the float and int8 graphs have the same ops.
//  2. Calibration: the float graph runs on N calibration images in the native
//     engine; an observer per activation tensor records the exact range and a
//     4096-bin histogram. The clipping range comes from one of the methods
//     minmax, percentile, entropy (KL divergence, TensorRT / ONNX Runtime
//     style, 2048 |x| bins) or mse; Auto builds all four int8 graphs and keeps
//     the one whose int8 outputs agree best with float on a validation slice
//     that calibration never saw.
//  3. TFLite's int8 scheme: convolution weights symmetric int8 per output
//     channel (zero point 0, [-127, 127], scale max|w|/127), dense weights per
//     tensor (the TFLite 2.9 FULLY_CONNECTED kernel takes one scale; see
//     Options.PerChannelDense), activations asymmetric int8 per tensor, bias
//     int32 at scale s_in·s_w[c], MAX_POOL_2D and RESHAPE sharing their input's
//     parameters, I/O int8, uint8 or float.
//  4. One integer arithmetic: every int8 number in the report (accuracy,
//     agreement, SQNR) comes from running the int8 graph in the native
//     engine, whose kernels use runtime/qmath; this package never simulates
//     int8 arithmetic itself.
//
// Quantize is the library entry point (used by `edgecnn quantize` and
// `edgecnn export --int8`); QuantizeQAT adds quantization-aware fine-tuning
// (train.FakeQuant) when the PTQ drop exceeds a threshold; Report renders as text, JSON, Markdown or a
// self-contained HTML page.
package quantize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/qmath"
	"github.com/edgecnn/edgecnn/train"
	"github.com/edgecnn/edgecnn/train/data"
)

// Errors returned (wrapped) for bad input.
var (
	ErrNoImages   = errors.New("no calibration images")
	ErrTooFew     = errors.New("too few images")
	ErrImageShape = errors.New("image set does not match the model input")
)

// Images is a set of images in the model's input layout: N images NHWC,
// already normalized as in training. Labels (0..classes-1) are needed for
// accuracy; Pixels (0..255, one byte per value, optional) are used for the
// report's thumbnails.
type Images struct {
	N      int
	X      []float32
	Labels []int
	Pixels []uint8
}

// FromPixels builds normalized Images from n raw 8-bit images (h×w×c bytes
// each, 0..255) and optional labels, normalizing p/255 with norm.
func FromPixels(pix []uint8, labels []uint8, n int, norm model.Normalization) (Images, error) {
	if n < 0 || (n > 0 && len(pix)%n != 0) {
		return Images{}, fmt.Errorf("quantize: %d pixel bytes do not split into %d images", len(pix), n)
	}
	if labels != nil && len(labels) < n {
		return Images{}, fmt.Errorf("quantize: %d labels for %d images", len(labels), n)
	}
	if !(norm.Std > 0) {
		return Images{}, fmt.Errorf("quantize: normalization std %v must be positive", norm.Std)
	}
	im := Images{N: n, X: make([]float32, len(pix)), Pixels: pix}
	for i, p := range pix {
		im.X[i] = (float32(p)/255 - norm.Mean) / norm.Std
	}
	if labels != nil {
		im.Labels = make([]int, n)
		for i := range im.Labels {
			im.Labels[i] = int(labels[i])
		}
	}
	return im, nil
}

// FromSet builds Images from a data set: 8-bit images as FromPixels
// normalizes them, photos' float ink as camera/preprocess does
// (data.Set.Input), so the int8 accuracy of a photo folder is what the
// board computes for those photos.
func FromSet(s *data.Set, norm model.Normalization) (Images, error) {
	if !(norm.Std > 0) {
		return Images{}, fmt.Errorf("quantize: normalization std %v must be positive", norm.Std)
	}
	size := s.Size()
	im := Images{N: s.N, X: make([]float32, s.N*size), Pixels: s.Pixels8(), Labels: make([]int, s.N)}
	for i := 0; i < s.N; i++ {
		dst := im.X[i*size : (i+1)*size]
		if pix, _ := s.Image(i); pix != nil {
			for j, p := range pix {
				dst[j] = (float32(p)/255 - norm.Mean) / norm.Std
			}
		} else {
			s.Input(i, norm, dst)
		}
		im.Labels[i] = int(s.Labels[i])
	}
	return im, nil
}

// Slice returns images [from, to) sharing memory with im.
func (im Images) Slice(from, to int) Images {
	if im.N == 0 {
		return im
	}
	per := len(im.X) / im.N
	s := Images{N: to - from, X: im.X[from*per : to*per]}
	if im.Labels != nil {
		s.Labels = im.Labels[from:to]
	}
	if im.Pixels != nil && len(im.Pixels) == len(im.X) {
		s.Pixels = im.Pixels[from*per : to*per]
	}
	return s
}

func (im Images) check(what string, per, classes int) error {
	if im.N <= 0 {
		return fmt.Errorf("quantize: %s: %w", what, ErrNoImages)
	}
	if len(im.X) != im.N*per {
		return fmt.Errorf("quantize: %s: %w: %d values for %d images of %d", what, ErrImageShape, len(im.X), im.N, per)
	}
	if im.Labels != nil {
		if len(im.Labels) != im.N {
			return fmt.Errorf("quantize: %s: %d labels for %d images", what, len(im.Labels), im.N)
		}
		for i, l := range im.Labels {
			if l < 0 || l >= classes {
				return fmt.Errorf("quantize: %s: label %d of image %d is not a class 0..%d", what, l, i, classes-1)
			}
		}
	}
	for i, v := range im.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("quantize: %s: value %d is %v", what, i, v)
		}
	}
	return nil
}

// SourceImages names one data source's evaluation images.
type SourceImages struct {
	Name   string
	Note   string
	Images Images
}

// Options configure Quantize. The zero value quantizes with minmax,
// double rounding and int8 I/O.
type Options struct {
	Method     Method  // calibration method; "" means MinMax
	Percentile float64 // for Percentile (and Auto); 0 means 99.99
	Rounding   qmath.Rounding
	IO         IO // "" means IOInt8
	// PerChannelDense quantizes FULLY_CONNECTED weights per output channel
	// too. TFLite's spec and its 2.9 kernel use one scale for them, so the
	// default is per tensor.
	PerChannelDense bool
	// MinCalib is the number of calibration images the caller asked for:
	// fewer is an error (ErrTooFew). 0 accepts any non-empty set.
	MinCalib int
	// Val is the validation slice for Auto (disjoint from the calibration
	// images). When empty, Auto uses the last fifth of the calibration
	// images for validation and calibrates on the rest.
	Val Images
	// Test, when non-empty, is evaluated in float and int8 for the report
	// (accuracy, agreement, per-class delta, disagreeing images).
	Test Images
	// Sources, when set, are evaluated one by one (float and int8) for
	// the report's per-source table (Report.Sources).
	Sources []SourceImages
	// Sample is how many images the per-layer SQNR / cosine comparison
	// uses (0: 256).
	Sample int
	// Threads for the native engine (0: its default).
	Threads int
	// Batch is the inference batch size (0: 256).
	Batch int
	// Now stamps the report (nil: time.Now).
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Method == "" {
		o.Method = MinMax
	}
	if o.Percentile == 0 {
		o.Percentile = 99.99
	}
	if o.IO == "" {
		o.IO = IOInt8
	}
	if o.Sample <= 0 {
		o.Sample = 256
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Quantize calibrates m on calib and returns its int8 graph and the report.
// See the package documentation for the scheme. The graph's metadata
// records the rounding rule (MetaRounding), method and calibration count.
func Quantize(ctx context.Context, m *model.Model, calib Images, opts Options) (*model.Graph, *Report, error) {
	return quantizeModel(ctx, m, calib, opts, nil)
}

// quantizeModel is Quantize with optional fixed activation ranges by float
// tensor name (quantization-aware training's ranges), which replace the
// calibrated ones.
func quantizeModel(ctx context.Context, m *model.Model, calib Images, opts Options, fixed map[string]Range) (*model.Graph, *Report, error) {
	if m == nil {
		return nil, nil, errors.New("quantize: nil model")
	}
	if err := m.CheckFinite(); err != nil {
		return nil, nil, fmt.Errorf("quantize: %w", err)
	}
	fg, err := model.FloatGraph(m)
	if err != nil {
		return nil, nil, fmt.Errorf("quantize: %w", err)
	}
	info, err := describe(fg)
	if err != nil {
		return nil, nil, err
	}
	info.fixed = fixed
	// Float outputs (validation and test top-1) come from the trainer's
	// batched float path, the one `edgecnn eval` reports; the float
	// intermediate tensors for calibration come from the native engine.
	info.floatOutputs = func(ctx context.Context, im Images) ([]float32, error) {
		out := make([]float32, im.N*m.Arch.Classes)
		if err := train.Predict(ctx, m, im.X, im.N, max(opts.Threads, 1), out); err != nil {
			return nil, fmt.Errorf("quantize: float inference: %w", err)
		}
		return out, nil
	}
	g, rep, err := quantizeGraph(ctx, fg, calib, opts, info)
	if err != nil {
		return nil, nil, err
	}
	if len(rep.Model.Labels) == 0 {
		rep.Model.Labels = m.Labels
	}
	return g, rep, nil
}

// graphInfo is what Quantize knows about the model beyond its graph.
type graphInfo struct {
	params, macs int
	classes      int
	inputRange   *Range // the full input domain, e.g. pixels 0..1 normalized
	// floatOutputs computes the float model's outputs; nil: the native
	// engine runs the float graph.
	floatOutputs func(ctx context.Context, im Images) ([]float32, error)
	// fixed, when set, gives activation ranges by float tensor name that
	// replace the calibrated ones (see QuantizeQAT).
	fixed map[string]Range
}
