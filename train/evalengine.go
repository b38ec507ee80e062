package train

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/train/data"
)

// EvaluateEngine evaluates a deployable model opened through a runtime
// backend on test, on the same tally as EvaluateSet: inputs are normalized
// with the model's metadata, batches of 256 when the batch is dynamic,
// scores read as logits unless the metadata says probabilities, and the
// reject class taken from the model's labels.
func EvaluateEngine(ctx context.Context, e runtime.Engine, test *data.Set) (*Evaluation, error) {
	in, out := e.Input(), e.Output()
	size := 1
	for _, d := range in.Shape[1:] {
		size *= d
	}
	classes := out.Shape[len(out.Shape)-1]
	if tc := test.Classes(); tc > classes {
		return nil, fmt.Errorf("%w: the data has images labelled %q but the model has %d classes; fine-tune it on this data first (edgecnn train --init)", ErrUnknownLabel, classLabel(tc-1), classes)
	}
	if size != test.H*test.W || classes < 2 {
		return nil, fmt.Errorf("%w: model input %v / output %v does not fit %dx%d images", model.ErrShape, in.Shape, out.Shape, test.H, test.W)
	}
	norm, err := model.NormFromMetadata(e.Metadata())
	if err != nil {
		return nil, err
	}
	batch := 1
	if in.Shape[0] < 0 { // dynamic batch
		batch = 256
	}
	x := make([]float32, batch*size)
	y := make([]float32, batch*classes)
	logits := !runtime.ScoresAreProbabilities(e.Metadata())
	ev := NewEvaluation(classes)
	if l := e.Metadata()[model.MetaLabels]; l != "" {
		labels, err := model.ParseLabels(l, classes)
		if err != nil {
			return nil, err
		}
		ev.SetRejectClass(model.RejectIndex(labels))
	}
	for b := 0; b < test.N; b += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(batch, test.N-b)
		for i := b; i < b+n; i++ {
			dst := x[(i-b)*size : (i-b+1)*size]
			if pix, _ := test.Image(i); pix != nil {
				norm.Pixels(dst, pix)
				continue
			}
			test.Input(i, norm, dst) // photos: preprocess's arithmetic
		}
		if err := e.Run(ctx, x[:n*size], n, y[:n*classes]); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Backend(), err)
		}
		if err := ev.Add(y[:n*classes], test.Labels[b:b+n], logits); err != nil {
			return nil, err
		}
	}
	ev.Finish()
	return ev, nil
}

// classLabel names class c (data.ClassLabels: 0..9, x).
func classLabel(c int) string {
	if c < len(data.ClassLabels) {
		return data.ClassLabels[c]
	}
	return fmt.Sprint(c)
}

// WriteText writes ev as `edgecnn eval` prints it: accuracy and loss of
// the model at path, the reject rate, accuracy per class and the
// confusion matrix.
func (ev *Evaluation) WriteText(w io.Writer, path string) {
	fmt.Fprintf(w, "%s: accuracy %.2f%% (%d/%d), loss %.4f\n", path, ev.Accuracy, ev.Correct, ev.N, ev.Loss)
	rej := ev.RejectClass()
	name := func(c int) string {
		if c == rej {
			return model.RejectLabel
		}
		return strconv.Itoa(c)
	}
	if rej >= 0 {
		fmt.Fprintf(w, "answered %q (not a digit): %d of %d digits (%.2f%%), counted as wrong\n", model.RejectLabel, ev.Rejected, ev.N, ev.RejectRate)
	}
	fmt.Fprintf(w, "\nclass  accuracy\n")
	for c, a := range ev.PerClass {
		if c == rej {
			continue // no test image is a non-digit
		}
		fmt.Fprintf(w, "%5s  %7.2f%%\n", name(c), a)
	}
	fmt.Fprintf(w, "\nconfusion matrix (rows: true class, columns: predicted)\n      ")
	for c := range ev.Confusion {
		fmt.Fprintf(w, "%6s", name(c))
	}
	fmt.Fprintln(w)
	for r, row := range ev.Confusion {
		if r == rej {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%6s", name(r))
		for _, v := range row {
			fmt.Fprintf(&b, "%6d", v)
		}
		fmt.Fprintln(w, b.String())
	}
}
