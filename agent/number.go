package agent

import (
	"context"
	"fmt"
)

// score is the recognizer's preprocess.Scorer (Multi): how confidently
// each candidate piece of a touching group is one digit. A class whose
// label is not a digit (a reject class) scores 0.
func (r *Recognizer) score(in []float32, n int, conf []float32) error {
	sz := len(in) / n
	if cap(r.scoreOut) < n*r.classes {
		r.scoreOut = make([]float32, n*r.classes)
	}
	out := r.scoreOut[:n*r.classes]
	ctx := context.Background()
	if r.batch {
		if err := r.eng.Run(ctx, in, n, out); err != nil {
			return fmt.Errorf("agent: inference: %w", err)
		}
	} else {
		for i := 0; i < n; i++ {
			if err := r.eng.Run(ctx, in[i*sz:(i+1)*sz], 1, out[i*r.classes:(i+1)*r.classes]); err != nil {
				return fmt.Errorf("agent: inference: %w", err)
			}
		}
	}
	for i := range conf {
		best, c := Softmax(out[i*r.classes : (i+1)*r.classes])
		if l := r.labels[best]; len(l) != 1 || l[0] < '0' || l[0] > '9' {
			c = 0
		}
		conf[i] = c
	}
	return nil
}
