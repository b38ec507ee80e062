package agent

import (
	"testing"

	"github.com/edgecnn/edgecnn/camera/preprocess"
)

func TestSegAnswer(t *testing.T) {
	labels := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "x"}
	r := &Recognizer{labels: labels, segLabel: segLabelIndex(labels)}
	for _, tc := range []struct {
		name      string
		seg       preprocess.SegDigit
		best      int
		conf      float32
		wantBest  int
		wantConf  float32
		wantSpeck bool
	}{
		{"no segment reading", preprocess.SegDigit{}, 5, 0.9, 5, 0.9, false},
		{"clear reading overrides", preprocess.SegDigit{Valid: true, Digit: 6, Confidence: 1}, 5, 0.99, 6, 1, false},
		{"overrides the reject class", preprocess.SegDigit{Valid: true, Digit: 0, Confidence: 0.9}, 10, 0.8, 0, 0.9, false},
		{"unclear reading leaves the model", preprocess.SegDigit{Valid: true, Digit: 6, Confidence: 0.6}, 5, 0.7, 5, 0.7, false},
		{"agreement keeps the higher confidence", preprocess.SegDigit{Valid: true, Digit: 5, Confidence: 0.6}, 5, 0.4, 5, 0.6, false},
		{"speck", preprocess.SegDigit{Valid: true, Digit: -1}, 1, 0.9, 1, 0.9, true},
	} {
		best, conf, speck := r.segAnswer(tc.seg, tc.best, tc.conf)
		if best != tc.wantBest || conf != tc.wantConf || speck != tc.wantSpeck {
			t.Errorf("%s: got %d %v %v, want %d %v %v", tc.name, best, conf, speck, tc.wantBest, tc.wantConf, tc.wantSpeck)
		}
	}
	if idx := segLabelIndex([]string{"a", "1"}); idx[1] != 1 || idx[0] != -1 {
		t.Errorf("label index %v", idx)
	}
}
