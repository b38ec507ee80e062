// Package agent is edgecnn's headless on-device recognizer: it pulls
// frames from a camera.Source (latest frame wins), preprocesses them,
// runs a runtime.Engine, smooths the answers, and reports them as JSON
// lines, over HTTP (predict, health, Prometheus metrics, a live preview
// page), on a GPIO LED and to systemd (sd_notify).
package agent

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"

	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
)

// Metadata keys read from the model file.
const (
	MetaNormMean = model.MetaNormMean
	MetaNormStd  = model.MetaNormStd
	MetaLabels   = model.MetaLabels
)

// Prediction is one recognized digit.
type Prediction struct {
	Label      string          `json:"label"`
	Confidence float32         `json:"confidence"` // softmax maximum
	Box        image.Rectangle `json:"-"`
	BoxXYWH    [4]int          `json:"box"`            // x, y, width, height in the frame
	Name       string          `json:"name,omitempty"` // --rois: the region's name
	// Pair: --multi with a judge read this digit and its neighbour whole,
	// as two touching digits that no cut separates; Box is its half of
	// the pair's box and Confidence the judge's probability of the pair.
	Pair bool `json:"pair,omitempty"`
}

// Reasons for "no digit" (Result.Reason).
const (
	ReasonNoInk         = "no ink"         // nothing digit-sized was located
	ReasonNotDigit      = "not a digit"    // the model classified the blob(s) as model.RejectLabel
	ReasonLowConfidence = "low confidence" // the best digit's confidence is below the threshold
	ReasonLength        = "wrong length"   // --digits N: the row does not read as N digits
)

// NoteConfidenceOnly is Result.Rejection for a model without the reject
// class (older model files): non-digits are rejected by confidence only.
const NoteConfidenceOnly = "confidence only (the model has no \"x\" not-a-digit class)"

// Result is the recognition of one image.
type Result struct {
	Text       string       `json:"digits"`     // e.g. "7" or "2024"; "" for no digit
	Confidence float32      `json:"confidence"` // lowest digit confidence; 0 for no digit
	Digits     []Prediction `json:"boxes"`
	// Reason says why Text is "" (ReasonNoInk, ReasonNotDigit,
	// ReasonLowConfidence); empty when a digit was read.
	Reason string `json:"reason,omitempty"`
	// Rejected counts located blobs dropped as not a digit or for a
	// confidence below the threshold.
	Rejected int `json:"rejected,omitempty"`
	// ROIs are the configured digit regions (--rois), for the preview.
	ROIs []RegionBox `json:"rois,omitempty"`
	// Rejection is NoteConfidenceOnly for a model without the reject class.
	Rejection string `json:"rejection,omitempty"`
}

// OK reports whether a digit was recognized.
func (r Result) OK() bool { return r.Text != "" }

// Recognizer runs preprocessing and one engine. It is not safe for
// concurrent use: give each goroutine its own (see Pool).
type Recognizer struct {
	eng     runtime.Engine
	pre     *preprocess.Preprocessor
	labels  []string
	classes int
	minConf float32
	confSrc string // where minConf came from: "flag", "model" or "default"
	probs   bool   // the engine's scores are probabilities (the model ends in SOFTMAX)
	reject  int    // index of the reject class, -1 without
	batch   bool   // engine accepts a dynamic batch
	in, out []float32
	judge   *judge                   // Multi's segmentation judge, nil without
	observe preprocess.CandidateFunc // ObserveCandidates

	cropState // the last frame's crops, for collect (collecthook.go)
	// scoreOut: outputs of split candidates scored for Multi (number.go).
	scoreOut []float32
	regions  []preprocess.Region // --rois (number.go)
	digitsV  []regionDigit
	segCells []preprocess.Digit          // regionSegs' cells
	segLabel [10]int                     // label index per digit, for seven-segment cells (sevenseg.go)
	glyph    [3]*preprocess.Preprocessor // a --multi row read as one glyph, by polarity (glyph.go)
	glyphOut []float32
	// again[pol] reads a frame once more as dark or light ink (readAgain);
	// firstLocated keeps the first reading's answers meanwhile.
	again        [3]*preprocess.Preprocessor
	firstLocated []located
	// rescan: a --multi row read unsure is read again at other working
	// sizes (rescan.go): rescanP by size and by the reading's polarity
	// (automatic, or dark or light ink when read again), the readings and
	// their answers for the collector.
	rescan    bool
	rescanP   [3 * len(rescanSizes)]*preprocess.Preprocessor
	readings  []scan
	rescanLoc [len(rescanSizes) + 1][]located
}

// RecognizerConfig configures NewRecognizer.
type RecognizerConfig struct {
	Preprocess preprocess.Config // Width, Height and Norm come from the engine
	// MinConfidence: below it a digit counts as "no digit". 0 picks the
	// model's edgecnn.reject_threshold, or 0.5 when it has none.
	MinConfidence float32
	// Regions, when set, are one digit position each (--rois): each is
	// read as one digit and the text has one character per region.
	Regions []preprocess.Region
	// Judge, when set, is a segmentation judge for Multi (judge.go). The
	// recognizer owns it: Close closes it.
	Judge runtime.Engine
	// Rescan: a Multi row read with a digit less than 0.9 sure, or with a
	// '?', is read again at 1.5 times the working size and, unless that
	// reading agrees, at 2 times, and the readings vote (rescan.go). Not
	// with Regions.
	Rescan bool
}

// DefaultMinConfidence is the threshold for models that record none.
const DefaultMinConfidence = 0.5

// ErrModel is returned (wrapped) when the engine's model cannot be used
// for digit recognition.
var ErrModel = errors.New("unsuitable model")

// NewRecognizer prepares a recognizer for eng. The input size comes from
// the engine (NHWC, one channel) and the normalization and labels from
// its metadata (edgecnn.norm_mean, edgecnn.norm_std, edgecnn.labels,
// edgecnn.reject_threshold); without them the MNIST defaults apply. A
// label model.RejectLabel marks the "not a digit" class.
func NewRecognizer(eng runtime.Engine, cfg RecognizerConfig) (*Recognizer, error) {
	in, out := eng.Input(), eng.Output()
	if len(in.Shape) != 4 || in.Shape[3] != 1 || in.Shape[1] < 4 || in.Shape[2] < 4 {
		return nil, fmt.Errorf("agent: %w: input shape %v (want [N, H, W, 1])", ErrModel, in.Shape)
	}
	classes := out.Shape[len(out.Shape)-1]
	if classes < 2 {
		return nil, fmt.Errorf("agent: %w: output shape %v", ErrModel, out.Shape)
	}
	pc := cfg.Preprocess
	pc.Height, pc.Width = in.Shape[1], in.Shape[2]
	pc.Box = 0
	md := eng.Metadata()
	norm, err := normFromMetadata(md)
	if err != nil {
		return nil, err
	}
	pc.Norm = norm
	labels := make([]string, classes)
	for i := range labels {
		labels[i] = strconv.Itoa(i)
	}
	if s := md[MetaLabels]; s != "" {
		l, err := model.ParseLabels(s, classes)
		if err != nil {
			return nil, fmt.Errorf("agent: %w: labels in metadata: %v", ErrModel, err)
		}
		labels = l
	}
	modelConf, err := model.ParseRejectThreshold(md)
	if err != nil {
		return nil, fmt.Errorf("agent: %w: %v", ErrModel, err)
	}
	pre, err := preprocess.New(pc)
	if err != nil {
		return nil, err
	}
	minConf, src := cfg.MinConfidence, "flag"
	switch {
	case minConf == 0 && modelConf > 0:
		minConf, src = modelConf, "model"
	case minConf == 0:
		minConf, src = DefaultMinConfidence, "default"
	}
	if !(minConf >= 0 && minConf <= 1) {
		return nil, fmt.Errorf("agent: min confidence %v out of range [0, 1]", minConf)
	}
	r := &Recognizer{eng: eng, pre: pre, labels: labels, classes: classes, minConf: minConf, confSrc: src,
		reject: model.RejectIndex(labels), batch: in.Shape[0] == -1, probs: runtime.ScoresAreProbabilities(eng.Metadata())}
	maxD := max(pre.Config().MaxDigits, len(cfg.Regions))
	if len(cfg.Regions) > preprocess.MaxRegions {
		return nil, fmt.Errorf("agent: %d regions (at most %d)", len(cfg.Regions), preprocess.MaxRegions)
	}
	r.regions, r.rescan = cfg.Regions, cfg.Rescan && pc.Multi
	r.segLabel = segLabelIndex(labels)
	r.in = make([]float32, maxD*pc.Height*pc.Width)
	r.out = make([]float32, maxD*classes)
	if cfg.Judge != nil {
		if r.judge, err = newJudge(cfg.Judge, pc.Height, pc.Width, labels); err != nil {
			return nil, &judgeError{err}
		}
	}
	r.setScorers(pre)
	return r, nil
}

// setScorers gives a Multi preprocessor the classifier as its scorer
// (touching digits: the classifier judges the cuts) and the judge.
func (r *Recognizer) setScorers(p *preprocess.Preprocessor) {
	if !p.Config().Multi {
		return
	}
	p.SetScorer(r.score)
	p.SetCandidateFunc(r.observe)
	if r.judge != nil {
		p.SetJudge(r.judge.score)
	}
}

// Close closes the recognizer's engines (the model's and the judge's).
func (r *Recognizer) Close() error {
	err := r.eng.Close()
	if r.judge != nil {
		if jerr := r.judge.eng.Close(); err == nil {
			err = jerr
		}
	}
	return err
}

func normFromMetadata(md map[string]string) (model.Normalization, error) {
	n, err := model.NormFromMetadata(md)
	if err != nil {
		return n, fmt.Errorf("agent: %w: %v", ErrModel, err)
	}
	return n, nil
}

// Rejection describes how the recognizer answers "no digit".
type Rejection struct {
	Class     bool    `json:"class"`     // the model has the reject class
	Threshold float32 `json:"threshold"` // minimum confidence of a digit
	Source    string  `json:"source"`    // threshold from "flag", "model" metadata or "default"
}

// Rejection reports the reject class and threshold in use.
func (r *Recognizer) Rejection() Rejection {
	return Rejection{Class: r.reject >= 0, Threshold: r.minConf, Source: r.confSrc}
}

// Note is "" for a model with the reject class, NoteConfidenceOnly else.
func (r *Recognizer) Note() string {
	if r.reject >= 0 {
		return ""
	}
	return NoteConfidenceOnly
}

// Engine returns the recognizer's engine.
func (r *Recognizer) Engine() runtime.Engine { return r.eng }

// Preprocessor returns the recognizer's preprocessor (for its Config).
func (r *Recognizer) Preprocessor() *preprocess.Preprocessor { return r.pre }

// Recognize locates and classifies the digit(s) in img. With automatic
// polarity, a frame read as light ink in which no digit is found is read
// once more as dark ink, and with Multi a mostly dark frame read as dark
// ink in which no number is found once more as light ink (readAgain).
// With Rescan, an unsure --multi reading is read again at other working
// sizes (rescanRead), with the polarity of the reading it answers.
func (r *Recognizer) Recognize(ctx context.Context, img image.Image) (Result, error) {
	if len(r.regions) > 0 {
		return r.recognizeRegions(ctx, img)
	}
	res, dark, err := r.read(ctx, img, r.pre)
	if err != nil {
		return res, err
	}
	pol := preprocess.PolarityAuto // the polarity of the reading answered
	if c := r.pre.Config(); !res.OK() && c.Polarity == preprocess.PolarityAuto {
		again := preprocess.PolarityDark
		if dark {
			again = preprocess.PolarityLight
		}
		if !dark || c.Multi && r.last != nil && r.last.MostlyDark {
			used := false
			if res, used, err = r.readAgain(ctx, img, res, again); err != nil {
				return res, err
			}
			if used {
				pol = again
			}
		}
	}
	if r.wantRescan(res) {
		return r.rescanRead(ctx, img, res, pol)
	}
	return res, nil
}

// read recognizes img with preprocessor pre (r.pre, or r.again's) and says
// whether the ink was read as dark.
func (r *Recognizer) read(ctx context.Context, img image.Image, pre *preprocess.Preprocessor) (Result, bool, error) {
	pr, err := pre.Process(img)
	r.last, r.located = nil, r.located[:0]
	if err != nil {
		return Result{}, false, err
	}
	r.last = pr
	res := Result{Rejection: r.Note()}
	n := len(pr.Digits)
	if n == 0 {
		res.Reason = ReasonNoInk
		return res, pr.DarkInk, nil
	}
	sz := len(pr.Digits[0].Input)
	for i, d := range pr.Digits {
		copy(r.in[i*sz:], d.Input)
	}
	if err := r.run(ctx, r.in[:n*sz], n, r.out[:n*r.classes]); err != nil {
		return Result{}, false, err
	}
	if r.judge != nil { // --multi with a judge: it votes on each digit (judge.go)
		if err := r.judge.vote(ctx, r.in[:n*sz], n, r.out[:n*r.classes], r.classes, r.probs); err != nil {
			return Result{}, false, err
		}
	}
	r.answer(pr.Digits, r.out[:n*r.classes], &res)
	if err := r.glyphRow(ctx, img, pr.Digits, &res, pre.Config().Polarity); err != nil {
		return Result{}, false, err
	}
	return res, pr.DarkInk, nil
}

// readAgain reads img once more with polarity pol (dark or light ink)
// after the automatic polarity read it the other way and found no digit
// (first).
//
//   - As dark ink, after light: the automatic rule calls a mostly dark
//     frame light ink when light strokes stand out as much as dark ones;
//     a lone dark digit on a lit patch of paper in a large shadow passes
//     it, because the insides of its loops are light shapes as narrow as
//     strokes.
//   - As light ink, after dark (a --multi row of a mostly dark frame): a
//     light number that fills the frame, an odometer window's inside,
//     leaves dark gaps between its digits that the paper filters call
//     dark strokes, and the pieces of that "ink" read as no digit. The
//     light reading answers only when it reads a number (at least
//     againLightDigits digits): a dim page of ruled or blank paper read
//     as light ink can show one digit-like light shape.
//
// The second answer is kept when it holds a digit (used: true); otherwise
// first stays the answer (and the crops are first's).
func (r *Recognizer) readAgain(ctx context.Context, img image.Image, first Result, pol preprocess.Polarity) (res Result, used bool, err error) {
	p := r.again[pol]
	if p == nil {
		c := r.pre.Config()
		c.Polarity = pol
		if p, err = preprocess.New(c); err != nil {
			return Result{}, false, err
		}
		r.setScorers(p)
		r.again[pol] = p
	}
	last := r.last
	r.firstLocated = append(r.firstLocated[:0], r.located...)
	if res, _, err = r.read(ctx, img, p); err != nil || res.OK() && (pol != preprocess.PolarityLight || len(res.Digits) >= againLightDigits) {
		return res, err == nil, err
	}
	r.last, r.located = last, append(r.located[:0], r.firstLocated...)
	return first, false, nil
}

// againLightDigits is the fewest digits a --multi reading as light ink
// after dark must read to answer (readAgain). Chosen on the tuning
// photos: answering any digit read, 3 of the 3,000 tuning non-digits
// read with --multi (dim ruled paper) were answered as a digit (and 4 of
// them read alone, which is why the single reading is not read again
// this way); at two, none, and the odometers and seven-segment numbers
// filling the frame gain as much.
const againLightDigits = 2

// answer fills res with the text, digits and confidence of the pieces
// (one output of r.classes scores each in out). A piece read as the
// reject class or below the minimum confidence is left out, or, in a
// --multi row, kept as '?' so that a number keeps its places. In a row
// that reads as a number (numberRow) the reject class wins a piece only
// when it is sure (rowRejectX, as in a configured region:
// regionConfidence); a row with more pieces answered "not a digit" than
// digits read is no number, and so is one of another length than
// Config.Digits (when set).
func (r *Recognizer) answer(digits []preprocess.Digit, out []float32, res *Result) {
	multi := r.pre.Config().Multi
	relax := multi && r.numberRow(out, len(digits))
	var sb strings.Builder
	res.Confidence = 1
	notDigits, places := 0, 0
	for i, d := range digits {
		scores := out[i*r.classes : (i+1)*r.classes]
		best, conf := Confidence(scores, r.probs)
		if relax {
			best, conf = r.regionConfidence(scores, rowRejectX)
		}
		best, conf, speck := r.segAnswer(d.Seg, best, conf)
		if speck {
			continue
		}
		if d.Pair.Valid && r.segLabel[d.Pair.Digit] >= 0 { // half of a pair the judge read whole
			best, conf = r.segLabel[d.Pair.Digit], d.Pair.Confidence
		}
		r.located = append(r.located, located{r.labels[best], conf})
		if best == r.reject || conf < r.minConf {
			res.Rejected++
			if best == r.reject {
				notDigits++
			}
			if multi {
				sb.WriteByte('?') // a number keeps its places (number.go)
				places++
			}
			continue
		}
		b := d.Box
		res.Digits = append(res.Digits, Prediction{Label: r.labels[best], Confidence: conf, Box: b,
			BoxXYWH: [4]int{b.Min.X, b.Min.Y, b.Dx(), b.Dy()}, Pair: d.Pair.Valid})
		sb.WriteString(r.labels[best])
		places++
		res.Confidence = min(res.Confidence, conf)
	}
	res.Text = sb.String()
	if multi && notDigits > len(res.Digits) {
		res.Digits = res.Digits[:0]
	}
	// --digits N: a number of another length is no reading of the meter.
	n := r.pre.Config().Digits
	wrongLength := multi && n > 0 && len(res.Digits) > 0 && places != n
	if wrongLength {
		res.Digits = res.Digits[:0]
	}
	if len(res.Digits) == 0 {
		res.Text, res.Confidence = "", 0
		res.Reason = ReasonLowConfidence
		if notDigits > 0 {
			res.Reason = ReasonNotDigit
		}
		if wrongLength {
			res.Reason = ReasonLength
		}
	}
}

// run runs the engine on n inputs, batched when the engine allows it:
// every reading of the recognizer goes through it.
func (r *Recognizer) run(ctx context.Context, in []float32, n int, out []float32) error {
	if err := runBatched(ctx, r.eng, r.batch, in, n, out, r.classes); err != nil {
		return fmt.Errorf("agent: inference: %w", err)
	}
	return nil
}

// runBatched runs eng on n inputs of in, in one batch when the engine
// allows it (batch), else one at a time; out has classes scores per input.
func runBatched(ctx context.Context, eng runtime.Engine, batch bool, in []float32, n int, out []float32, classes int) error {
	if batch {
		return eng.Run(ctx, in, n, out)
	}
	sz := len(in) / n
	for i := 0; i < n; i++ {
		if err := eng.Run(ctx, in[i*sz:(i+1)*sz], 1, out[i*classes:(i+1)*classes]); err != nil {
			return err
		}
	}
	return nil
}

// Softmax returns the arg max of logits and its softmax probability.
func Softmax(scores []float32) (int, float32) { return Confidence(scores, false) }

// Confidence returns the arg max of scores and its probability: scores
// are probabilities when the model ends in SOFTMAX (probs, decided once
// from its metadata: runtime.ScoresAreProbabilities), else logits.
func Confidence(scores []float32, probs bool) (int, float32) {
	best := 0
	for i, v := range scores {
		if v > scores[best] {
			best = i
		}
	}
	if probs {
		return best, scores[best]
	}
	m := float64(scores[best])
	var z float64
	for _, v := range scores {
		z += math.Exp(float64(v) - m)
	}
	if !(z > 0) || math.IsInf(z, 0) {
		return best, 0
	}
	return best, float32(1 / z)
}
