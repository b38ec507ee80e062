package agent

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// A segmentation judge (RecognizerConfig.Judge, --judge) is a second model
// of the same input size whose classes are the digits "0".."9", the reject
// class "x" and the pairs "00".."99" (two touching digits in one box),
// trained on the segmenter's own candidates (train/judge, make
// model-judge). It does two things in a --multi reading:
//
//   - it judges the segmentation: every candidate's score gains log
//     p(one digit), the sum of its digit classes, so a box holding two
//     digits, or a piece of one, loses to the partition that reads whole
//     digits;
//   - it votes on each digit read: the answer's probabilities are the
//     mean of the model's and the judge's (over the model's classes,
//     renormalized), since the judge has seen digits as the segmenter
//     cuts them.
type judge struct {
	eng     runtime.Engine
	classes int
	single  []bool    // class i is one digit
	pair    [][2]int8 // class i is the pair of these digits, {−1, −1} for none
	probs   bool
	batch   bool
	out     []float32
	// of[k] is the judge's class of the model's class k, −1 for none.
	of []int
	pm []float64 // vote's scratch: the model's and the judge's probabilities
	pj []float64
}

// judgeError is NewRecognizer's error for an unfit judge (not model).
type judgeError struct{ error }

func (e *judgeError) Unwrap() error { return e.error }

// judgeVote is the judge's weight in the vote on each digit (chosen on
// the tuning photos: 0.3, 0.5 and 0.7 read 874, 881 and 872 of 1,000
// handwritten numbers exactly).
const judgeVote = 0.5

// newJudge checks eng as a judge for a recognizer whose input is h×w and
// whose model's class labels are modelLabels.
func newJudge(eng runtime.Engine, h, w int, modelLabels []string) (*judge, error) {
	in, out := eng.Input(), eng.Output()
	if len(in.Shape) != 4 || in.Shape[1] != h || in.Shape[2] != w || in.Shape[3] != 1 {
		return nil, fmt.Errorf("agent: judge: %w: input shape %v (want [N, %d, %d, 1], as the model)", ErrModel, in.Shape, h, w)
	}
	classes := out.Shape[len(out.Shape)-1]
	s := eng.Metadata()[MetaLabels]
	if s == "" {
		return nil, fmt.Errorf("agent: judge: %w: no %s metadata (a judge names its classes)", ErrModel, MetaLabels)
	}
	labels, err := model.ParseLabels(s, classes)
	if err != nil {
		return nil, fmt.Errorf("agent: judge: %w: %v", ErrModel, err)
	}
	j := &judge{eng: eng, classes: classes, single: make([]bool, classes), pair: make([][2]int8, classes),
		probs: runtime.ScoresAreProbabilities(eng.Metadata()), batch: in.Shape[0] == -1}
	singles, pairs := 0, 0
	for i, l := range labels {
		j.pair[i] = [2]int8{-1, -1}
		if _, err := strconv.Atoi(l); err != nil {
			continue
		}
		switch len(l) {
		case 1:
			j.single[i] = true
			singles++
		case 2:
			j.pair[i] = [2]int8{int8(l[0] - '0'), int8(l[1] - '0')}
			pairs++
		}
	}
	if singles != 10 || pairs == 0 {
		return nil, fmt.Errorf("agent: judge: %w: labels %q: want the digits 0..9 and two-digit pairs", ErrModel, s)
	}
	j.of = make([]int, len(modelLabels))
	for k, l := range modelLabels {
		j.of[k] = slices.Index(labels, l)
	}
	j.pm, j.pj = make([]float64, len(modelLabels)), make([]float64, classes)
	return j, nil
}

// run runs the judge on n inputs; its outputs are in j.out.
func (j *judge) run(ctx context.Context, in []float32, n int) ([]float32, error) {
	if cap(j.out) < n*j.classes {
		j.out = make([]float32, n*j.classes)
	}
	out := j.out[:n*j.classes]
	if err := runBatched(ctx, j.eng, j.batch, in, n, out, j.classes); err != nil {
		return nil, fmt.Errorf("agent: judge: %w", err)
	}
	return out, nil
}

// score is the recognizer's preprocess.Judge: per input, p(one whole
// digit), the sum of the digit classes, and the most probable pair.
func (j *judge) score(in []float32, n int, res []preprocess.JudgeScore) error {
	out, err := j.run(context.Background(), in, n)
	if err != nil {
		return err
	}
	for i := range res {
		p := j.pj
		probabilities(out[i*j.classes:(i+1)*j.classes], j.probs, p)
		var zs float64
		r := preprocess.JudgeScore{First: -1, Second: -1}
		for k, v := range p {
			switch {
			case j.single[k]:
				zs += v
			case j.pair[k][0] >= 0 && float32(v) > r.Pair:
				r.Pair, r.First, r.Second = float32(v), j.pair[k][0], j.pair[k][1]
			}
		}
		r.One = float32(zs)
		res[i] = r
	}
	return nil
}

// vote mixes the judge's answer into the model's answers for n inputs
// (out: the model's scores, classes each, probabilities when probs, else
// logits; rewritten in the same form): per class, the mean of the model's
// probability and the judge's, renormalized over the model's classes.
func (j *judge) vote(ctx context.Context, in []float32, n int, out []float32, classes int, probs bool) error {
	jo, err := j.run(ctx, in, n)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		s := out[i*classes : (i+1)*classes]
		probabilities(s, probs, j.pm)
		probabilities(jo[i*j.classes:(i+1)*j.classes], j.probs, j.pj)
		var z float64
		for _, c := range j.of {
			if c >= 0 {
				z += j.pj[c]
			}
		}
		for k, c := range j.of {
			v := (1 - judgeVote) * j.pm[k]
			if c >= 0 && z > 0 {
				v += judgeVote * j.pj[c] / z
			}
			if probs {
				s[k] = float32(v)
			} else {
				s[k] = float32(math.Log(max(v, 1e-30)))
			}
		}
	}
	return nil
}

// probabilities writes the probabilities of one output to p: the output
// itself, normalized, when probs, else its softmax.
func probabilities(s []float32, probs bool, p []float64) {
	m := float32(math.Inf(-1))
	for _, v := range s {
		m = max(m, v)
	}
	var z float64
	for k, v := range s {
		if probs {
			p[k] = float64(max(v, 0))
		} else {
			p[k] = math.Exp(float64(v - m))
		}
		z += p[k]
	}
	for k := range p {
		if z > 0 {
			p[k] /= z
		} else {
			p[k] = 0
		}
	}
}

// ObserveCandidates sets (or, with nil, clears) a function that sees every
// segment candidate the --multi reading renders, at the width a judge
// allows (preprocess.SetCandidateFunc): the judge's training data is
// drawn with it (train/judge).
func (r *Recognizer) ObserveCandidates(f preprocess.CandidateFunc) {
	r.pre.SetCandidateFunc(f)
	r.observe = f
	for _, p := range r.again {
		if p != nil {
			p.SetCandidateFunc(f)
		}
	}
}
