package train

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// predictBatch is the number of images per inference step.
const predictBatch = 256

// Predict runs m (inference mode: BatchNorm running statistics, no
// dropout) on n normalized NHWC images and writes n×Classes logits to out,
// using threads goroutines. It checks ctx between batches.
func Predict(ctx context.Context, m *model.Model, images []float32, n, threads int, out []float32) error {
	in, C := m.Input().Size(), m.Arch.Classes
	if n < 0 || len(images) < n*in {
		return fmt.Errorf("train: predict: %w: %d values for %d images of %v", model.ErrShape, len(images), n, m.Input())
	}
	if len(out) < n*C {
		return fmt.Errorf("train: predict: output holds %d values, need %d", len(out), n*C)
	}
	net, err := NewNet(m, min(predictBatch, max(n, 1)), threads)
	if err != nil {
		return err
	}
	defer net.Close()
	for b := 0; b < n; b += predictBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := min(n, b+predictBatch)
		net.ForwardBatch(images[b*in:e*in], e-b, out[b*C:e*C])
	}
	return nil
}

// Normalize converts uint8 pixels (any number of images) to the model's
// normalized float input.
func Normalize(m *model.Model, pixels []uint8, dst []float32) {
	mean, inv := m.Norm.Mean, 1/m.Norm.Std
	for i, p := range pixels {
		dst[i] = (float32(p)*(1.0/255) - mean) * inv
	}
}

// Evaluation is the accuracy of a model on a labelled set.
type Evaluation struct {
	N         int       `json:"images"`
	Correct   int       `json:"correct"`
	Accuracy  float64   `json:"accuracy"`           // percent
	PerClass  []float64 `json:"per_class_accuracy"` // percent, per true class
	Confusion [][]int   `json:"confusion"`          // [true][predicted]
	Loss      float64   `json:"loss"`               // mean cross-entropy
	// Rejected counts images answered with the reject class ("x", not a
	// digit; such an answer on a digit counts as wrong) and RejectRate is
	// their percentage; both only for a model with that class.
	Rejected   int     `json:"rejected,omitempty"`
	RejectRate float64 `json:"reject_rate,omitempty"`
	reject1    int     // reject class index + 1 (0: none, the zero value)
}

// SetRejectClass marks class c as the reject class (-1: none).
func (ev *Evaluation) SetRejectClass(c int) { ev.reject1 = max(c, -1) + 1 }

// RejectClass returns the reject class index, -1 when there is none.
func (ev *Evaluation) RejectClass() int { return ev.reject1 - 1 }

// Evaluate runs m on every image of set and tallies accuracy, per-class
// accuracy, the confusion matrix and the mean loss.
func Evaluate(ctx context.Context, m *model.Model, set *mnist.Set, threads int) (*Evaluation, error) {
	return EvaluateSet(ctx, m, data.FromMNIST(set), threads)
}

// EvaluateSet is Evaluate on a data.Set (8-bit images and photos' float
// ink alike, normalized by data.Set.Input). A label the model has no
// class for is an error naming it.
func EvaluateSet(ctx context.Context, m *model.Model, set *data.Set, threads int) (*Evaluation, error) {
	if set.H*set.W != m.Input().Size() {
		return nil, fmt.Errorf("train: evaluate: %w: data is %dx%d, model wants %v", model.ErrShape, set.H, set.W, m.Input())
	}
	C := m.Arch.Classes
	in := m.Input().Size()
	logits := make([]float32, predictBatch*C)
	x := make([]float32, predictBatch*in)
	net, err := NewNet(m, predictBatch, threads)
	if err != nil {
		return nil, err
	}
	defer net.Close()
	if c := set.Classes(); c > C {
		return nil, fmt.Errorf("train: %w", ErrNoClass(m, c-1))
	}
	ev := NewEvaluation(C)
	ev.SetRejectClass(model.RejectIndex(m.Labels))
	for b := 0; b < set.N; b += predictBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := min(set.N, b+predictBatch)
		for i := b; i < e; i++ {
			set.Input(i, m.Norm, x[(i-b)*in:(i-b+1)*in])
		}
		net.ForwardBatch(x, e-b, logits)
		if err := ev.Add(logits[:(e-b)*C], set.Labels[b:e], true); err != nil {
			return nil, fmt.Errorf("train: evaluate: images %d..%d: %w", b, e-1, err)
		}
	}
	ev.Finish()
	return ev, nil
}

// NewEvaluation starts an empty tally for a classes-way classifier; feed it
// with Add and close it with Finish. Other engines (edgecnn eval on .tflite
// and .onnx files) use it so every report counts the same way.
func NewEvaluation(classes int) *Evaluation {
	ev := &Evaluation{PerClass: make([]float64, classes), Confusion: make([][]int, classes)}
	for i := range ev.Confusion {
		ev.Confusion[i] = make([]int, classes)
	}
	return ev
}

// Add tallies a batch: scores holds len(labels)×classes values. With
// logits true the scores are logits and the mean cross-entropy is
// accumulated too (skip it for probability outputs).
func (ev *Evaluation) Add(scores []float32, labels []uint8, logits bool) error {
	C := len(ev.Confusion)
	if len(scores) != len(labels)*C {
		return fmt.Errorf("%w: %d scores for %d labels of %d classes", model.ErrShape, len(scores), len(labels), C)
	}
	for k, lab := range labels {
		if int(lab) >= C {
			return fmt.Errorf("label %d of image %d out of range for %d classes", lab, k, C)
		}
		arg := argmax(scores[k*C : (k+1)*C])
		ev.Confusion[lab][arg]++
		if arg == int(lab) {
			ev.Correct++
		}
		if arg == ev.reject1-1 {
			ev.Rejected++
		}
	}
	ev.N += len(labels)
	if logits {
		l, _ := softmaxXent(scores, labels, C, 0, nil)
		ev.Loss += l
	}
	return nil
}

// Finish turns the tallies into percentages and the mean loss.
func (ev *Evaluation) Finish() {
	if ev.N > 0 {
		ev.Accuracy = 100 * float64(ev.Correct) / float64(ev.N)
		ev.RejectRate = 100 * float64(ev.Rejected) / float64(ev.N)
		ev.Loss /= float64(ev.N)
	}
	for c := range ev.PerClass {
		tot := 0
		for _, v := range ev.Confusion[c] {
			tot += v
		}
		if tot > 0 {
			ev.PerClass[c] = 100 * float64(ev.Confusion[c][c]) / float64(tot)
		}
	}
}

func argmax(z []float32) int {
	arg := 0
	for c, v := range z {
		if v > z[arg] {
			arg = c
		}
	}
	return arg
}

// ErrUnknownLabel is returned (wrapped) for data with a label the model
// has no class for.
var ErrUnknownLabel = errors.New("label unknown to the model")

// ErrNoClass is the error for data with a label (class index c) the model
// has no output for, e.g. "x" (not a digit) for a 10-class model.
func ErrNoClass(m *model.Model, c int) error {
	label := fmt.Sprint(c)
	if c < len(data.ClassLabels) {
		label = data.ClassLabels[c]
	}
	return fmt.Errorf("%w: the data has images labelled %q but the model has %d classes (%s); fine-tune it on this data first (edgecnn train --init)",
		ErrUnknownLabel, label, m.Arch.Classes, strings.Join(m.Labels, ","))
}
