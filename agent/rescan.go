package agent

import (
	"context"
	"image"
	"math"
	"strings"

	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// Rescanning a --multi row (RecognizerConfig.Rescan, --rescan). The row's
// segmentation depends on the working image's grid: at another working
// size the cut paths and the pieces of touching or broken digits fall
// elsewhere, and a merge or a bad cut at one size is often none at
// another. So a row read with a digit less than rescanBelow sure, or
// with a '?' in place, is read again at rescanSizes times the working
// size, and the readings vote (voteScans): at 1.5 times, and at 2 times
// unless that reading agrees with the first (two alike decide the vote).
// A row read surely, or read as no digit, is answered at once: most
// frames cost one reading.

// rescanBelow: a reading whose least sure digit is below it is read
// again. Chosen on the tuning split of the handwritten numbers
// (cambench numbers -split tune, model and judge): 0.8 / 0.9 / 0.95 /
// 0.99 read 921 / 925 / 923 / 924 of 1,000 exactly (908 without
// rescanning), reading again 15 / 21 / 31 / 52 % of them.
const rescanBelow = 0.9

// rescanSizes are the working sizes of the readings again, in order, as
// fractions of Config.WorkSize (160 → 240 and 320: a 640-pixel frame is
// downscaled 3 and 2 times instead of 4).
var rescanSizes = [2][2]int{{3, 2}, {2, 1}}

// scan is one reading of a frame and the state it leaves for the
// collector (cropState).
type scan struct {
	res     Result
	last    *preprocess.Result
	located []located
}

// wantRescan reports whether a --multi reading res should be read again
// (r.rescan is only set for Multi; Recognize reads --rois before).
func (r *Recognizer) wantRescan(res Result) bool {
	return r.rescan && res.Text != "" && (res.Confidence < rescanBelow || strings.Contains(res.Text, "?"))
}

// rescanRead reads img again at the rescanSizes, until two readings
// agree, with the configuration of the preprocessor that read first
// (r.pre, or r.again[pol] when pol is not automatic) and returns the
// voted answer; the collector's crops are the chosen reading's.
func (r *Recognizer) rescanRead(ctx context.Context, img image.Image, first Result, pol preprocess.Polarity) (Result, error) {
	rs := append(r.readings[:0], scan{first, r.last, append(r.rescanLoc[0][:0], r.located...)})
	for k := range rescanSizes {
		p, err := r.rescanPre(k, pol)
		if err != nil {
			return Result{}, err
		}
		res, _, err := r.read(ctx, img, p)
		if err != nil {
			return Result{}, err
		}
		rs = append(rs, scan{res, r.last, append(r.rescanLoc[k+1][:0], r.located...)})
		if _, ok := agreement(rs); ok {
			break // two readings alike decide the vote: no third is read
		}
	}
	for k := range rs {
		r.rescanLoc[k] = rs[k].located // keep the grown buffers
	}
	r.readings = rs
	best := rs[voteScans(rs)]
	r.last, r.located = best.last, append(r.located[:0], best.located...)
	return best.res, nil
}

// rescanPre returns (making it once) the preprocessor of rescan size k
// for a reading of polarity pol (automatic: r.pre's; else r.again[pol]'s):
// that reading's configuration at another working size.
func (r *Recognizer) rescanPre(k int, pol preprocess.Polarity) (*preprocess.Preprocessor, error) {
	i := len(r.again)*k + int(pol)
	if p := r.rescanP[i]; p != nil {
		return p, nil
	}
	base := r.pre
	if pol != preprocess.PolarityAuto {
		base = r.again[pol]
	}
	c := base.Config()
	c.WorkSize = min(c.WorkSize*rescanSizes[k][0]/rescanSizes[k][1], preprocess.MaxWorkSize)
	p, err := preprocess.New(c)
	if err != nil {
		return nil, err
	}
	r.setScorers(p)
	r.rescanP[i] = p
	return p, nil
}

// agreement returns the earlier of the first two readings (in order of
// the later one) that read alike with no '?': it decides voteScans
// whatever the readings after them say.
func agreement(rs []scan) (int, bool) {
	for j := 1; j < len(rs); j++ {
		for i := 0; i < j; i++ {
			if whole(rs[i].res) && rs[i].res.Text == rs[j].res.Text {
				return i, true
			}
		}
	}
	return 0, false
}

// voteScans picks the answer among readings: the text that two of them read
// alike with no '?' (the earlier reading of the two), else the most
// probable reading — one with no '?' before one with, then the highest
// sum of log confidence of its digits; the earlier wins a tie.
func voteScans(rs []scan) int {
	if i, ok := agreement(rs); ok {
		return i
	}
	best := 0
	for i := 1; i < len(rs); i++ {
		a, b := rs[i].res, rs[best].res
		if wa, wb := whole(a), whole(b); wa != wb {
			if wa {
				best = i
			}
			continue
		}
		if logConfidence(a) > logConfidence(b) {
			best = i
		}
	}
	return best
}

// whole reports a reading of digits with no '?' in place.
func whole(res Result) bool {
	return res.Text != "" && !strings.Contains(res.Text, "?")
}

// logConfidence is the sum of the log confidences of res's digits.
func logConfidence(res Result) float64 {
	var s float64
	for _, d := range res.Digits {
		s += math.Log(max(float64(d.Confidence), 1e-6))
	}
	return s
}
