package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// NumbersReport is the result of one numbers run (one kind, one split).
type NumbersReport struct {
	Model     string  `json:"model"`
	Judge     string  `json:"judge,omitempty"`  // -judge
	Length    bool    `json:"length,omitempty"` // -length: told each number's length
	Rescan    bool    `json:"rescan,omitempty"` // -rescan
	Kind      string  `json:"kind"`
	Split     string  `json:"split"`
	First     int     `json:"first"` // -first
	Photos    int     `json:"photos"`
	Exact     int     `json:"exact"`
	ExactRate float64 `json:"exact_rate"`
	// ExactCI95 is the 95 % Wilson interval of the exact rate (photo
	// sampling only; retraining the same recipe moves more, see
	// docs/training.md).
	ExactCI95 [2]float64 `json:"exact_ci95"`
	Digits    int        `json:"digits"`
	// DigitsRight counts true digits read in place: len − edit distance
	// between the truth and the answer, at least 0, summed over photos.
	DigitsRight int     `json:"digits_right"`
	DigitRate   float64 `json:"digit_rate"`
	NoDigit     int     `json:"no_digit"`
	MeanMS      float64 `json:"mean_ms"`
	// Misread photos by the number of digits read: fewer than written
	// (digits merged or dropped: under-segmentation), more (a digit cut
	// in two, a speck read: over-segmentation), or as many (a digit
	// misread in place, or a merge and a cut that even out).
	TooFew    int `json:"too_few"`
	TooMany   int `json:"too_many"`
	SameCount int `json:"same_count"`
	// By condition (handwritten): exact rate of photos with it.
	Conditions map[string][2]int `json:"conditions,omitempty"`
	Errors     []string          `json:"errors,omitempty"`
	// Misread lists every misread photo's index (-against pairs them).
	Misread []int `json:"misread"`
}

// editDistance is the Levenshtein distance of two answers (ASCII:
// digits and "?").
func editDistance(a, b string) int { return levenshtein.ComputeDistance(a, b) }

// numbersFlags are the flags of the numbers command.
type numbersFlags struct {
	model, backend, data, size, kind, split, jsonOut, save, against string
	judge, saveAlone                                                string
	n, first, work                                                  int
	cpuProfile                                                      string
	minConf, stroke                                                 float64
	single, oracle, attribute, length, rescan, fill                 bool
}

// parseNumbersFlags parses the numbers command's flags.
func parseNumbersFlags(args []string) numbersFlags {
	var f numbersFlags
	fs := flag.NewFlagSet("numbers", flag.ExitOnError)
	fs.StringVar(&f.model, "model", "", "model file (.tflite, .onnx or .ckpt)")
	fs.StringVar(&f.backend, "backend", "native", "runtime backend")
	fs.StringVar(&f.judge, "judge", "", "segmentation judge model (as --judge; not with -single)")
	fs.IntVar(&f.n, "n", 300, "photos")
	fs.IntVar(&f.first, "first", 0, "first photo index")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the reading here")
	fs.StringVar(&f.data, "data", "data/mnist", "MNIST directory")
	fs.StringVar(&f.size, "size", "640x480", "frame size")
	fs.StringVar(&f.kind, "kind", "hand", "hand, odometer or sevenseg")
	fs.StringVar(&f.split, "split", "tune", "tune or test (test: never used for tuning)")
	fs.Float64Var(&f.minConf, "min-confidence", 0.5, "recognizer minimum confidence")
	fs.StringVar(&f.jsonOut, "json", "", "also write the report here")
	fs.StringVar(&f.against, "against", "", "a -json report of another run on the same photos: print a paired comparison (photos read right by one run only, McNemar's exact test)")
	fs.StringVar(&f.save, "save-wrong", "", "directory to save misread photos")
	fs.IntVar(&f.work, "work", 0, "preprocess WorkSize (0: default)")
	fs.BoolVar(&f.single, "single", false, "read without --multi (light-on-dark: one digit per photo)")
	fs.BoolVar(&f.fill, "fill", false, "crop each photo to the number (photoset.Number.Filled), as a camera set up to fill its frame with the number sees it")
	fs.BoolVar(&f.oracle, "oracle", false, "read each digit in its true box (as --rois): the classifier's ceiling without segmentation errors")
	fs.Float64Var(&f.stroke, "stroke", 0, "preprocess StrokeWidth (0: default)")
	fs.BoolVar(&f.rescan, "rescan", false, "read an unsure row again at other working sizes and vote, as --rescan does (edgecnn's default with --multi)")
	fs.BoolVar(&f.length, "length", false, "tell the recognizer each number's length, as --digits N does (one recognizer per length)")
	fs.BoolVar(&f.attribute, "attribute", false, "also read every digit alone in its photo (photoset.NumberSetDigit) and its MNIST original (the model alone, no photo), and split the misread photos into segmentation and classifier errors")
	fs.StringVar(&f.saveAlone, "save-alone", "", "with -attribute: directory to save a sheet of every digit misread alone in its photo whose MNIST original the model reads right (the original, the model's input, the photo around the digit): what the photo and the preprocessing cost")
	fs.Parse(args)
	return f
}

// photos resolves -kind and -split.
func (f *numbersFlags) photos() (photoset.Kind, photoset.Split, error) {
	kind, err := kindOf(f.kind)
	if err != nil {
		return 0, photoset.Split{}, fmt.Errorf("numbers: %w", err)
	}
	switch f.split {
	case "tune":
		return kind, photoset.TuneSplit, nil
	case "test":
		return kind, photoset.TestSplit, nil
	}
	return 0, photoset.Split{}, fmt.Errorf("numbers: -split %q: want tune or test", f.split)
}

// kindOf is the number photo kind named name.
func kindOf(name string) (photoset.Kind, error) {
	k, ok := photoset.Kinds[name]
	if !ok {
		return 0, fmt.Errorf("-kind %q: want hand, odometer or sevenseg", name)
	}
	return k, nil
}

// numbers reads generated whole-number photos with --multi and reports
// the exact and per-digit rates.
func numbers(args []string) error {
	f := parseNumbersFlags(args)
	if f.model == "" {
		return errors.New("numbers: -model is required")
	}
	if f.saveAlone != "" && !f.attribute {
		return errors.New("numbers: -save-alone saves what -attribute finds: add -attribute")
	}
	if f.fill && (f.oracle || f.save != "" || f.attribute) {
		return errors.New("numbers: -fill crops the photos: not with -oracle, -save-wrong or -attribute")
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	kind, split, err := f.photos()
	if err != nil {
		return err
	}
	w, h, err := camera.ParseSize(f.size)
	if err != nil {
		return err
	}
	d, err := mnist(f.data, 0)
	if err != nil {
		return err
	}
	if f.judge != "" && f.single {
		return errors.New("numbers: -judge judges --multi: drop -single")
	}
	if f.length && f.single {
		return errors.New("numbers: -length tells --multi the number's length: drop -single")
	}
	recs := recognizers{f: &f, byLen: map[int]*agent.Recognizer{}}
	defer recs.close()
	var other *NumbersReport
	if f.against != "" {
		r, err := readReport(f.against)
		if err != nil {
			return err
		}
		other = &r
	}
	rep := NumbersReport{Model: f.model, Judge: f.judge, Length: f.length, Rescan: f.rescan, Kind: f.kind, Split: split.Name, First: f.first, Photos: f.n, Conditions: map[string][2]int{}}
	ctx := context.Background()
	var total time.Duration
	at := attribution{seg: map[string]int{}, cls: map[string]int{}}
	var single *agent.Recognizer // -attribute: one digit per photo
	if f.attribute {
		if single, err = openRecognizer(f.backend, f.model, 1, preprocess.Config{WorkSize: f.work, StrokeWidth: float32(f.stroke)}, float32(f.minConf)); err != nil {
			return err
		}
		defer single.Engine().Close()
		if err := at.useEngine(single.Engine()); err != nil {
			return err
		}
	}
	for i := f.first; i < f.first+f.n; i++ {
		num, err := photoset.NumberSet(d, split, kind, i, w, h)
		if err != nil {
			return err
		}
		rec, err := recs.get(len(num.Text))
		if err != nil {
			return err
		}
		got, took, err := f.read(ctx, rec, num)
		if err != nil {
			return err
		}
		total += took
		if f.attribute {
			if err := f.attributePhoto(ctx, &at, single, d, split, kind, i, num, got, w, h); err != nil {
				return err
			}
		}
		if base := f.score(&rep, i, num, got); base != "" {
			img, err := camera.DecodeJPEG(num.JPEG)
			if err != nil {
				return err
			}
			if err := saveSheet(base+".png", img, rec.Preprocessor(), num.Boxes); err != nil {
				return err
			}
		}
	}
	rep.ExactRate = float64(rep.Exact) / float64(f.n)
	rep.ExactCI95 = wilson(rep.Exact, f.n)
	rep.DigitRate = float64(rep.DigitsRight) / float64(max(1, rep.Digits))
	rep.MeanMS = ms(total) / float64(f.n)
	f.print(rep, w, h)
	if f.attribute {
		at.print()
	}
	if other != nil {
		p, err := compareRuns(rep, *other)
		if err != nil {
			return err
		}
		fmt.Printf("against %s: photos read right only here %d, only there %d, by neither %d; McNemar exact p = %.3g\n", f.against, p.OnlyHere, p.OnlyThere, p.BothWrong, p.P)
	}
	if f.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		return atomicfile.WriteFile(f.jsonOut, append(b, '\n'), 0o644)
	}
	return nil
}

// recognizers are the judged --multi recognizers of a numbers run: one,
// or with -length one per number length (Config.Digits).
type recognizers struct {
	f     *numbersFlags
	byLen map[int]*agent.Recognizer
}

// get returns the recognizer for numbers of the given length.
func (rs recognizers) get(digits int) (*agent.Recognizer, error) {
	f := rs.f
	if !f.length {
		digits = 0
	}
	if r := rs.byLen[digits]; r != nil {
		return r, nil
	}
	pc := preprocess.Config{Multi: !f.single, Digits: digits, WorkSize: f.work, StrokeWidth: float32(f.stroke)}
	r, err := openJudged(f.backend, f.model, f.judge, 1, agent.RecognizerConfig{Preprocess: pc, MinConfidence: float32(f.minConf), Rescan: f.rescan})
	if err != nil {
		return nil, err
	}
	rs.byLen[digits] = r
	return r, nil
}

// close closes every recognizer opened.
func (rs recognizers) close() {
	for _, r := range rs.byLen {
		r.Close()
	}
}

// read recognizes one photo (in its true digit boxes with -oracle) and
// returns the text read and the time the recognizer took.
func (f *numbersFlags) read(ctx context.Context, rec *agent.Recognizer, num photoset.Number) (string, time.Duration, error) {
	img, err := camera.DecodeJPEG(num.JPEG)
	if err != nil {
		return "", 0, err
	}
	if f.fill {
		if img, err = num.FilledImage(img); err != nil {
			return "", 0, fmt.Errorf("numbers: -fill: %w", err)
		}
	}
	if f.oracle {
		var rs []preprocess.Region
		for _, b := range num.Boxes {
			b = b.Inset(-3).Intersect(img.Bounds())
			rs = append(rs, preprocess.Region{X: b.Min.X, Y: b.Min.Y, W: b.Dx(), H: b.Dy()})
		}
		if err := rec.SetRegions(rs); err != nil {
			return "", 0, err
		}
	}
	t0 := time.Now()
	res, err := rec.Recognize(ctx, img)
	if err != nil {
		return "", 0, err
	}
	return res.Text, time.Since(t0), nil
}

// score adds photo i, read as got, to the report and, when it is
// misread and -save-wrong is set, saves it and returns the saved path
// without its extension.
func (f *numbersFlags) score(rep *NumbersReport, i int, num photoset.Number, got string) string {
	want := num.Text
	if f.single {
		want = want[:1]
	}
	ok := got == want
	if ok {
		rep.Exact++
	}
	if got == "" {
		rep.NoDigit++
	}
	rep.Digits += len(want)
	rep.DigitsRight += max(0, len(want)-editDistance(want, got))
	for c, on := range map[string]bool{"touching": num.Touching, "broken": num.Broken, "unequal": num.Unequal, "edge": num.Edge} {
		if on {
			v := rep.Conditions[c]
			v[1]++
			if ok {
				v[0]++
			}
			rep.Conditions[c] = v
		}
	}
	if !ok {
		switch {
		case len(got) < len(want):
			rep.TooFew++
		case len(got) > len(want):
			rep.TooMany++
		default:
			rep.SameCount++
		}
		rep.Misread = append(rep.Misread, i)
		if len(rep.Errors) < 400 {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%d:%s→%s", i, want, got))
		}
		if f.save != "" {
			os.MkdirAll(f.save, 0o755)
			base := filepath.Join(f.save, fmt.Sprintf("%s-%s-%04d-want%s-got%s", f.kind, rep.Split, i, want, got))
			os.WriteFile(base+".jpg", num.JPEG, 0o644)
			return base
		}
	}
	return ""
}

// print writes the one-line summary of a run.
func (f *numbersFlags) print(rep NumbersReport, w, h int) {
	var conds []string
	for c, v := range rep.Conditions {
		conds = append(conds, fmt.Sprintf("%s %d/%d", c, v[0], v[1]))
	}
	sort.Strings(conds)
	mode := "--multi"
	if f.single {
		mode = "single"
	}
	if f.oracle {
		mode = "true boxes as --rois"
	}
	if f.fill {
		mode += ", filling the frame"
	}
	if f.judge != "" {
		mode += " --judge"
	}
	if f.rescan {
		mode += " --rescan"
	}
	if f.length {
		mode += " --digits N"
	}
	fmt.Printf("numbers %s/%s (%s): exact %d/%d = %.1f%% (95%% CI %.1f–%.1f), per digit %d/%d = %.2f%%, no digit %d, %.3f ms/photo (%dx%d) %v\n",
		f.kind, rep.Split, mode, rep.Exact, f.n, 100*rep.ExactRate, 100*rep.ExactCI95[0], 100*rep.ExactCI95[1], rep.DigitsRight, rep.Digits, 100*rep.DigitRate, rep.NoDigit, rep.MeanMS, w, h, conds)
	if miss := f.n - rep.Exact; miss > 0 {
		fmt.Printf("misread %d: %d with too few digits, %d with too many, %d with as many as written\n", miss, rep.TooFew, rep.TooMany, rep.SameCount)
	}
}

// saveSheet writes a debugging sheet of a misread photo: the frame with
// the located digit boxes (red) and the true boxes (green), and below it
// the model inputs (ink 0..1) of the located digits, 3× enlarged.
func saveSheet(path string, img image.Image, pre *preprocess.Preprocessor, truth []image.Rectangle) error {
	pr, err := pre.Process(img)
	if err != nil {
		return err
	}
	b := img.Bounds()
	const z = 3
	cw, chh := pre.Config().Width, pre.Config().Height
	out := image.NewRGBA(image.Rect(0, 0, max(b.Dx(), len(pr.Digits)*(cw*z+4)), b.Dy()+chh*z+4))
	draw.Draw(out, b, img, b.Min, draw.Src)
	rect := func(r image.Rectangle, c color.RGBA) {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.Set(x, r.Min.Y, c)
			out.Set(x, r.Max.Y-1, c)
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			out.Set(r.Min.X, y, c)
			out.Set(r.Max.X-1, y, c)
		}
	}
	for _, t := range truth {
		rect(t.Inset(-2), color.RGBA{0, 200, 0, 255})
	}
	for i, d := range pr.Digits {
		rect(d.Box, color.RGBA{255, 0, 0, 255})
		for y := 0; y < chh*z; y++ {
			for x := 0; x < cw*z; x++ {
				v := uint8(255 * d.Ink[(y/z)*cw+x/z])
				out.Set(i*(cw*z+4)+x, b.Dy()+4+y, color.RGBA{v, v, v, 255})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
