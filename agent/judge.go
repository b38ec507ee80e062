package agent

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// A segmentation judge (RecognizerConfig.Judge, --judge) is a second model
// of the same input size whose classes are the digits "0".."9", the reject
// class "x" and the pairs "00".."99" (two touching digits in one box),
// trained on the segmenter's own candidates (train/judge, make
// model-judge). --multi adds log p(one digit) — the sum of its digit
// classes — to every candidate's score, so a box holding two digits, or a
// piece of one, loses to the partition that reads whole digits.
type judge struct {
	eng     runtime.Engine
	classes int
	single  []bool // class i is one digit
	probs   bool
	batch   bool
	out     []float32
}

// newJudge checks eng as a judge for a recognizer whose input is h×w.
func newJudge(eng runtime.Engine, h, w int) (*judge, error) {
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
	j := &judge{eng: eng, classes: classes, single: make([]bool, classes), probs: runtime.ScoresAreProbabilities(eng.Metadata()),
		batch: in.Shape[0] == -1}
	singles, pairs := 0, 0
	for i, l := range labels {
		if _, err := strconv.Atoi(l); err != nil {
			continue
		}
		switch len(l) {
		case 1:
			j.single[i] = true
			singles++
		case 2:
			pairs++
		}
	}
	if singles != 10 || pairs == 0 {
		return nil, fmt.Errorf("agent: judge: %w: labels %q: want the digits 0..9 and two-digit pairs", ErrModel, s)
	}
	return j, nil
}

// one is the recognizer's preprocess.Judge: p(one whole digit) per input.
func (j *judge) one(in []float32, n int, one []float32) error {
	if cap(j.out) < n*j.classes {
		j.out = make([]float32, n*j.classes)
	}
	out := j.out[:n*j.classes]
	if err := runBatched(context.Background(), j.eng, j.batch, in, n, out, j.classes); err != nil {
		return fmt.Errorf("agent: judge: %w", err)
	}
	for i := range one {
		s := out[i*j.classes : (i+1)*j.classes]
		m := float32(math.Inf(-1))
		for _, v := range s {
			m = max(m, v)
		}
		var z, zs float64
		for k, v := range s {
			e := float64(v)
			if !j.probs {
				e = math.Exp(float64(v - m))
			}
			z += e
			if j.single[k] {
				zs += e
			}
		}
		one[i] = 0
		if z > 0 {
			one[i] = float32(zs / z)
		}
	}
	return nil
}

// ObserveCandidates sets (or, with nil, clears) a function that sees every
// segment candidate the --multi reading renders, at the width a judge
// allows (preprocess.SetCandidateFunc): the judge's training data is
// drawn with it (train/judge).
func (r *Recognizer) ObserveCandidates(f preprocess.CandidateFunc) {
	r.pre.SetCandidateFunc(f)
	r.observe = f
	if r.dark != nil {
		r.dark.SetCandidateFunc(f)
	}
}
