// Package judge draws the training data of the segmentation judge: the
// second model that --multi asks whether a segment candidate holds one
// whole digit (agent.RecognizerConfig.Judge, docs/training.md "The
// segmentation judge").
//
// It generates whole-number photos from MNIST *training* digits
// (photoset.RenderTouching: most of them with every digit touching its
// neighbours), reads each with the recognizer and --multi, and labels
// every candidate the segmenter renders by its box against the true
// digit boxes:
//
//   - one digit: IoU ≥ 0.8 with that digit's box and no other digit's
//     centre inside: the digit ("0".."9");
//   - two neighbouring digits: both centres inside, each box ≥ 85 %
//     covered and no third centre inside: the pair ("00".."99");
//   - three or more digits, or a fragment (≥ 90 % inside one digit's
//     box, IoU < 0.55, not a narrow stick that is a fair "1"): "x";
//   - anything else is ambiguous and left out.
//
// The candidates are written as 28×28 grayscale PNGs in the image-folder
// layout the trainer reads (OUT/<label>/*.png), without duplicates.
package judge

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	_ "github.com/edgecnn/edgecnn/runtime/native" // the engine Write reads with
	"github.com/edgecnn/edgecnn/train/data"
	"github.com/edgecnn/edgecnn/train/mnist"
)

// Options are what `edgecnn judgeset` writes (the tags declare its flags;
// package cliflags).
type Options struct {
	Data     string  `flag:"data" default:"data/mnist" usage:"MNIST directory (its training images are drawn)"`
	Model    string  `flag:"model" required:"true" usage:"the model whose --multi candidates are labelled (.tflite, .onnx or .ckpt)"`
	Out      string  `flag:"out" required:"true" usage:"image folder to write (must not exist; written as OUT.partial and renamed when done)"`
	N        int     `flag:"n" default:"9000" usage:"number photos to read"`
	First    int     `flag:"first" usage:"index of the first photo (photo i is the same for every --n: split a large set into folders the trainer takes, at most 200,000 images each)"`
	Odometer float64 `flag:"odometer" default:"0.1" usage:"share of odometer photos (light digits on a dark window); the rest are handwritten"`
	SevenSeg float64 `flag:"sevenseg" usage:"share of seven-segment display photos (besides --odometer's); the rest are handwritten"`
	Touching float64 `flag:"touching" default:"0.7" usage:"share of handwritten numbers whose digits all touch"`
	Digits   int     `flag:"digits" default:"58000" usage:"draw MNIST training images [0, digits) (the last 2,000 are the reject threshold's validation images)"`
	Seed     uint64  `flag:"seed" default:"1" usage:"random seed"`
	Threads  int     `flag:"threads" default:"2" usage:"photos read in parallel"`
}

// Stats counts what Write wrote.
type Stats struct {
	Photos     int `json:"photos"`
	Digits     int `json:"digits"`     // candidates labelled one digit
	Pairs      int `json:"pairs"`      // labelled a pair
	Rejects    int `json:"rejects"`    // labelled "x"
	Ambiguous  int `json:"ambiguous"`  // left out
	Duplicates int `json:"duplicates"` // left out: the same image again
}

// Photo size of the generated numbers.
const photoW, photoH = 640, 480

// Write generates o.N photos and writes their labelled candidates.
func Write(ctx context.Context, o Options) (Stats, error) {
	var st Stats
	switch {
	case o.N <= 0:
		return st, fmt.Errorf("judge: --n %d: want at least 1", o.N)
	case !(o.Odometer >= 0 && o.SevenSeg >= 0 && o.Odometer+o.SevenSeg <= 1), !(o.Touching >= 0 && o.Touching <= 1):
		return st, fmt.Errorf("judge: --odometer %v, --sevenseg %v, --touching %v: want shares in [0, 1] (odometers and displays together at most 1)", o.Odometer, o.SevenSeg, o.Touching)
	case o.First < 0:
		return st, fmt.Errorf("judge: --first %d: want at least 0", o.First)
	case o.Threads <= 0:
		return st, fmt.Errorf("judge: --threads %d: want at least 1", o.Threads)
	}
	if _, err := os.Stat(o.Out); err == nil {
		return st, fmt.Errorf("judge: %s exists: choose a new folder", o.Out)
	}
	d, err := photoset.ReadMNIST(filepath.Join(o.Data, mnist.TrainImages+".gz"), filepath.Join(o.Data, mnist.TrainLabels+".gz"), 0)
	if err != nil {
		return st, fmt.Errorf("judge: %w", err)
	}
	if o.Digits <= 0 || o.Digits > len(d.Images) {
		return st, fmt.Errorf("judge: --digits %d: want 1..%d", o.Digits, len(d.Images))
	}
	tmp := o.Out + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return st, fmt.Errorf("judge: %w", err)
	}
	w := &writer{dir: tmp, seen: map[[32]byte]bool{}}
	newRec, err := agent.NewRecognizerFactory(agent.RecognizerSettings{Model: o.Model, Multi: true, Judge: agent.NoJudge, Polarity: "auto", Threshold: "otsu",
		Engine: agent.EngineSettings{Backend: "native", Threads: 1}})
	if err != nil {
		return st, fmt.Errorf("judge: %w", err)
	}
	recs := make([]*agent.Recognizer, 0, o.Threads)
	defer func() {
		for _, r := range recs {
			r.Close()
		}
	}()
	for range o.Threads {
		rec, err := newRec()
		if err != nil {
			return st, fmt.Errorf("judge: %w", err)
		}
		recs = append(recs, rec)
	}
	var wg sync.WaitGroup
	for t, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := o.First + t; i < o.First+o.N && w.failed() == nil && ctx.Err() == nil; i += o.Threads {
				if err := w.photo(ctx, rec, d, o, i); err != nil {
					w.fail(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := cmp.Or(w.failed(), ctx.Err()); err != nil {
		return w.st, err
	}
	if err := os.Rename(tmp, o.Out); err != nil {
		return w.st, fmt.Errorf("judge: %w", err)
	}
	w.st.Photos = o.N
	return w.st, nil
}

// writer writes labelled candidates, once each.
type writer struct {
	dir  string
	mu   sync.Mutex
	seen map[[32]byte]bool
	st   Stats
	err  error
}

// photo draws photo i, reads it and writes its labelled candidates.
func (w *writer) photo(ctx context.Context, rec *agent.Recognizer, d *photoset.Digits, o Options, i int) error {
	rng := rand.New(rand.NewPCG(o.Seed, uint64(i)))
	k := photoset.Handwritten
	switch u := rng.Float64(); {
	case u < o.Odometer:
		k = photoset.Odometer
	case u < o.Odometer+o.SevenSeg:
		k = photoset.SevenSegment
	}
	pick := func() int { return rng.IntN(o.Digits) }
	num, err := photoset.RenderTouching(d, k, pick, photoW, photoH, rng, o.Touching)
	if err != nil {
		return fmt.Errorf("judge: photo %d: %w", i, err)
	}
	img, err := camera.DecodeJPEG(num.JPEG)
	if err != nil {
		return fmt.Errorf("judge: photo %d: %w", i, err)
	}
	n := 0
	rec.ObserveCandidates(func(box image.Rectangle, ink []float32) {
		label, ok := Label(box, num.Boxes, num.Text)
		w.add(label, ok, ink, fmt.Sprintf("p%06d-%03d", i, n))
		n++
	})
	defer rec.ObserveCandidates(nil)
	if _, err := rec.Recognize(ctx, img); err != nil {
		return fmt.Errorf("judge: photo %d: %w", i, err)
	}
	return nil
}

// fail records the first error; the workers stop at it.
func (w *writer) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// failed returns the first error.
func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// add writes one candidate (ok: labelled) as dir/label/name.png.
func (w *writer) add(label string, ok bool, ink []float32, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	if !ok {
		w.st.Ambiguous++
		return
	}
	g := image.NewGray(image.Rect(0, 0, 28, 28))
	if len(ink) != len(g.Pix) {
		w.err = fmt.Errorf("judge: candidate of %d values, want %d (a 28×28 model)", len(ink), len(g.Pix))
		return
	}
	for j, v := range ink {
		g.Pix[j] = uint8(min(255, max(0, v*255+0.5)))
	}
	h := sha256.Sum256(g.Pix)
	if w.seen[h] {
		w.st.Duplicates++
		return
	}
	w.seen[h] = true
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		w.err = fmt.Errorf("judge: %w", err)
		return
	}
	dir := filepath.Join(w.dir, label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		w.err = fmt.Errorf("judge: %w", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf.Bytes(), 0o644); err != nil {
		w.err = fmt.Errorf("judge: %w", err)
		return
	}
	switch len(label) {
	case 2:
		w.st.Pairs++
	default:
		if label == data.RejectLabel {
			w.st.Rejects++
		} else {
			w.st.Digits++
		}
	}
}

// Label names a candidate box by the true digit boxes and text of its
// photo (the rules in the package comment); ok is false when the box is
// ambiguous.
func Label(c image.Rectangle, boxes []image.Rectangle, text string) (label string, ok bool) {
	if len(boxes) != len(text) || c.Empty() {
		return "", false
	}
	var inside []int // digits whose centre lies in c
	for k, b := range boxes {
		if ctr := image.Pt((b.Min.X+b.Max.X)/2, (b.Min.Y+b.Max.Y)/2); ctr.In(c) {
			inside = append(inside, k)
		}
	}
	covered := func(k int) float64 { return frac(c.Intersect(boxes[k]), boxes[k]) }
	switch {
	case len(inside) == 1 && iou(c, boxes[inside[0]]) >= 0.8:
		return text[inside[0] : inside[0]+1], true
	case len(inside) == 2 && inside[1] == inside[0]+1 && covered(inside[0]) >= 0.85 && covered(inside[1]) >= 0.85:
		return text[inside[0] : inside[0]+2], true
	case len(inside) >= 3:
		return data.RejectLabel, true
	}
	for _, b := range boxes {
		if frac(c.Intersect(b), c) >= 0.9 && iou(c, b) < 0.55 {
			if c.Dx()*100 < c.Dy()*35 { // a narrow stick: a fair "1" as well as a fragment
				return "", false
			}
			return data.RejectLabel, true
		}
	}
	return "", false
}

func area(r image.Rectangle) float64 {
	if r.Empty() {
		return 0
	}
	return float64(r.Dx()) * float64(r.Dy())
}

// frac is area(a) / area(of).
func frac(a, of image.Rectangle) float64 {
	if area(of) == 0 {
		return 0
	}
	return area(a) / area(of)
}

func iou(a, b image.Rectangle) float64 {
	i := area(a.Intersect(b))
	u := area(a) + area(b) - i
	if u == 0 {
		return 0
	}
	return i / u
}
