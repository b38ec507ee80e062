// Command rejectbench measures how the recognizer answers generated
// photos of non-digits (letters, symbols, shapes and smileys, scribbles,
// blank and ruled paper: the answer should be "no digit") and of single
// digits (the answer should be the digit), for one or more models with
// the recognizer's default settings (the model's reject threshold, else
// 0.5). It is run by `make bench-reject` on the Test split, which no
// recipe or threshold was ever chosen on.
//
//	rejectbench -data data/mnist -split test -model old=old.int8.tflite -model new=new.int8.tflite
//
// With -multi every photo is read as --multi reads a row of digits: a
// letter or a scribble must still answer "no digit", not its pieces.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/internal/atomicfile"
	"github.com/edgecnn/edgecnn/runtime"
	_ "github.com/edgecnn/edgecnn/runtime/native" // registers "native"
)

type models []string

func (m *models) String() string     { return strings.Join(*m, ",") }
func (m *models) Set(s string) error { *m = append(*m, s); return nil }

// Report is one model's result.
type Report struct {
	Name      string  `json:"name"`
	Model     string  `json:"model"`
	Rejection string  `json:"rejection"` // "class" or "confidence only"
	Threshold float32 `json:"min_confidence"`
	// non-digit photos
	NonDigits      int            `json:"non_digit_photos"`
	NoDigit        int            `json:"answered_no_digit"`
	NoDigitPct     float64        `json:"no_digit_pct"`
	NoDigitPerKind map[string]int `json:"no_digit_per_kind"`
	PhotosPerKind  map[string]int `json:"photos_per_kind"`
	Reasons        map[string]int `json:"reasons"`
	// single-digit photos
	Digits        int     `json:"digit_photos"`
	Correct       int     `json:"correct"`
	Wrong         int     `json:"wrong"`
	DigitRejected int     `json:"answered_no_digit_on_digits"`
	DigitPct      float64 `json:"digit_accuracy_pct"`
	// per digit kind ("digit", "restyled digit"): photos and correct answers
	DigitsPerKind  map[string]int `json:"digit_photos_per_kind"`
	CorrectPerKind map[string]int `json:"correct_per_kind"`
}

// options are the command's flags.
type options struct {
	data, split, size, jsonOut string
	nNon, nDig                 int
	target, today              float64
	sweep, multi, rescan       bool
	judge                      string
}

func main() {
	var ms models
	var o options
	flag.StringVar(&o.data, "data", "data/mnist", "MNIST directory (the test split feeds the digit photos)")
	flag.StringVar(&o.split, "split", "test", "photo split: tuning or test")
	flag.IntVar(&o.nNon, "nondigits", 1000, "non-digit photos")
	flag.IntVar(&o.nDig, "digits", 1000, "single-digit photos")
	flag.StringVar(&o.size, "size", "320x240", "frame size")
	flag.StringVar(&o.jsonOut, "json", "", "also write the reports here")
	flag.Float64Var(&o.target, "target", 95, "non-digit target (percent answered \"no digit\"), checked for the last model")
	flag.Float64Var(&o.today, "today", 0, "single-digit accuracy (percent) recorded before, on the same split: the last model should read better")
	flag.BoolVar(&o.sweep, "sweep", false, "also print how each model would do at other confidence thresholds (tuning split only)")
	flag.StringVar(&o.judge, "judge", "", "with -multi: the segmentation judge model (as --judge)")
	flag.BoolVar(&o.rescan, "rescan", false, "with -multi: read an unsure row again at other working sizes and vote, as --rescan does (edgecnn's default with --multi)")
	flag.BoolVar(&o.multi, "multi", false, "read every photo as --multi does (a row of digits): a non-digit photo must still answer \"no digit\"")
	flag.Var(&ms, "model", "NAME=FILE (repeat; .tflite, .onnx or .ckpt, native engine)")
	flag.Parse()
	if err := run(ms, o); err != nil {
		fmt.Fprintln(os.Stderr, "rejectbench:", err)
		os.Exit(1)
	}
}

func run(ms models, o options) error {
	if len(ms) == 0 {
		return errors.New("no -model given")
	}
	data, size, jsonOut, target, sweep := o.data, o.size, o.jsonOut, o.target, o.sweep
	pc := preprocess.Config{Multi: o.multi}
	rs := recSetup{pc: pc, judge: o.judge, rescan: o.rescan}
	split, err := photoset.ParseRejectSplit(o.split)
	if err != nil {
		return err
	}
	if sweep && split != photoset.Tuning {
		return errors.New("-sweep is for the tuning split only: thresholds are never chosen on the test photos")
	}
	w, h, err := camera.ParseSize(size)
	if err != nil {
		return err
	}
	d, err := photoset.ReadMNISTTest(data, 0)
	if err != nil {
		return err
	}
	non, err := photoset.NonDigits(split, o.nNon, w, h)
	if err != nil {
		return err
	}
	dig, err := photoset.SingleDigits(d, split, o.nDig, w, h)
	if err != nil {
		return err
	}
	mode := ""
	if pc.Multi {
		mode = ", read as --multi"
	}
	fmt.Printf("rejectbench: %s split, %d non-digit and %d single-digit photos of %s, native engine, default thresholds%s\n", split, len(non), len(dig), size, mode)
	var reps []Report
	for _, spec := range ms {
		name, path, ok := strings.Cut(spec, "=")
		if !ok {
			name, path = filepath.Base(spec), spec
		}
		rep, err := measure(name, path, non, dig, 0, rs)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		reps = append(reps, rep)
		if sweep {
			if err := sweepThresholds(name, path, non, dig, rs); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	fmt.Printf("\n%-8s %-16s %9s  %18s  %22s  %s\n", "model", "rejection", "min conf", "non-digits → none", "single digits correct", "digits → none / wrong")
	for _, r := range reps {
		fmt.Printf("%-8s %-16s %9.2f  %10d (%5.2f%%)  %14d (%5.2f%%)  %d / %d\n", r.Name, r.Rejection, r.Threshold,
			r.NoDigit, r.NoDigitPct, r.Correct, r.DigitPct, r.DigitRejected, r.Wrong)
	}
	fmt.Println("\nnon-digits answered \"no digit\", per kind:")
	var kinds []string
	for k := range reps[0].PhotosPerKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, r := range reps {
		fmt.Printf("  %-8s", r.Name)
		for _, k := range kinds {
			fmt.Printf("  %s %d/%d", k, r.NoDigitPerKind[k], r.PhotosPerKind[k])
		}
		fmt.Println()
	}
	fmt.Println("single digits correct, per kind:")
	for _, r := range reps {
		fmt.Printf("  %-8s", r.Name)
		for _, k := range []string{"digit", "restyled digit"} {
			fmt.Printf("  %s %d/%d", k, r.CorrectPerKind[k], r.DigitsPerKind[k])
		}
		fmt.Println()
	}
	last := reps[len(reps)-1]
	if pc.Multi {
		fmt.Printf("\nwith --multi: non-digits → \"no digit\" %.2f%%, single digits %.2f%% (the targets are for the default single-digit reading)\n", last.NoDigitPct, last.DigitPct)
	} else {
		fmt.Printf("\ntarget: non-digits → \"no digit\" ≥ %.0f%%: %.2f%% (%s)\n", target, last.NoDigitPct, verdict(last.NoDigitPct >= target))
	}
	if o.today > 0 {
		fmt.Printf("target: single digits better than recorded before (%.2f%%): %.2f%% (%s)\n", o.today, last.DigitPct, verdict(last.DigitPct > o.today))
	}
	if len(reps) > 1 {
		first := reps[0]
		fmt.Printf("single digits against %s on the same code (%.2f%%): %.2f%% (%s)\n", first.Name, first.DigitPct, last.DigitPct, verdict(last.DigitPct > first.DigitPct))
	}
	if jsonOut != "" {
		b, _ := json.MarshalIndent(reps, "", "  ")
		if err := atomicfile.WriteFile(jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// sweepThresholds recognizes every photo once with an almost-zero
// minimum confidence and prints, per threshold, the share of non-digits
// answered "no digit" and of single digits read right: a digit answer
// below the threshold would have been "no digit".
func sweepThresholds(name, path string, non, dig []photoset.Sample, rs recSetup) error {
	_, res, err := recognizeAll(path, append(append([]photoset.Sample(nil), non...), dig...), 1e-6, rs)
	if err != nil {
		return err
	}
	fmt.Printf("%s, by threshold:  min conf  non-digits → none  single digits correct\n", name)
	for _, t := range []float32{0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99} {
		none, right := 0, 0
		for i, r := range res {
			answered := r.Text != "" && r.Confidence >= t
			if i < len(non) && !answered {
				none++
			}
			if i >= len(non) && answered && r.Text == dig[i-len(non)].Want {
				right++
			}
		}
		fmt.Printf("%s  %26.2f  %17.2f%%  %20.2f%%\n", strings.Repeat(" ", len(name)), t,
			100*float64(none)/float64(max(1, len(non))), 100*float64(right)/float64(max(1, len(dig))))
	}
	return nil
}

// measure recognizes every photo with the model, two goroutines, with
// its default threshold (minConf 0) or minConf.
func measure(name, path string, non, dig []photoset.Sample, minConf float32, rs recSetup) (Report, error) {
	rep := Report{Name: name, Model: path, NonDigits: len(non), Digits: len(dig),
		NoDigitPerKind: map[string]int{}, PhotosPerKind: map[string]int{}, Reasons: map[string]int{},
		DigitsPerKind: map[string]int{}, CorrectPerKind: map[string]int{}}
	all := append(append([]photoset.Sample(nil), non...), dig...)
	rj, res, err := recognizeAll(path, all, minConf, rs)
	if err != nil {
		return rep, err
	}
	rep.Threshold, rep.Rejection = rj.Threshold, "class"
	if !rj.Class {
		rep.Rejection = "confidence only"
	}
	for i, s := range all {
		r := res[i]
		if s.Want == "" {
			rep.PhotosPerKind[s.Kind]++
			if r.Text == "" {
				rep.NoDigit++
				rep.NoDigitPerKind[s.Kind]++
				rep.Reasons[r.Reason]++
			}
			continue
		}
		rep.DigitsPerKind[s.Kind]++
		switch r.Text {
		case s.Want:
			rep.Correct++
			rep.CorrectPerKind[s.Kind]++
		case "":
			rep.DigitRejected++
		default:
			rep.Wrong++
		}
	}
	rep.NoDigitPct = 100 * float64(rep.NoDigit) / float64(max(1, rep.NonDigits))
	rep.DigitPct = 100 * float64(rep.Correct) / float64(max(1, rep.Digits))
	return rep, nil
}

// recognizeAll recognizes every photo with the model on the native
// engine, two goroutines, with the recognizer's default threshold
// (minConf 0) or minConf.
// recSetup is how recognizeAll reads: the preprocessing and the judge
// model ("": none).
type recSetup struct {
	pc     preprocess.Config
	judge  string
	rescan bool
}

func recognizeAll(path string, all []photoset.Sample, minConf float32, rs recSetup) (agent.Rejection, []agent.Result, error) {
	res := make([]agent.Result, len(all))
	const workers = 2
	errs := make([]error, workers)
	var rj agent.Rejection
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		eng, err := agent.OpenEngine("native", path, runtime.Options{Threads: 1})
		if err != nil {
			wg.Wait()
			return rj, nil, err
		}
		cfg := agent.RecognizerConfig{MinConfidence: minConf, Preprocess: rs.pc, Rescan: rs.rescan}
		if rs.judge != "" {
			if cfg.Judge, err = agent.OpenEngine("native", rs.judge, runtime.Options{Threads: 1}); err != nil {
				eng.Close()
				wg.Wait()
				return rj, nil, err
			}
		}
		rec, err := agent.NewRecognizer(eng, cfg)
		if err != nil {
			eng.Close()
			if cfg.Judge != nil {
				cfg.Judge.Close()
			}
			wg.Wait()
			return rj, nil, err
		}
		if wk == 0 {
			rj = rec.Rejection()
		}
		wg.Add(1)
		go func(wk int) {
			defer wg.Done()
			defer rec.Close()
			for i := wk; i < len(all); i += workers {
				img, err := camera.DecodeJPEG(all[i].JPEG)
				if err == nil {
					res[i], err = rec.Recognize(context.Background(), img)
				}
				if err != nil {
					errs[wk] = err
					return
				}
			}
		}(wk)
	}
	wg.Wait()
	return rj, res, errors.Join(errs...)
}
