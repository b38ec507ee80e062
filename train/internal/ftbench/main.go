// Command ftbench prints the `make bench-finetune` table: a new digit
// style's held-out test accuracy before and after fine-tuning (float and
// int8), MNIST test accuracy after, and the wall time of fine-tune +
// quantize, against the targets of issue 10. It reads the two
// `edgecnn quantize --json` reports (the committed model before, the
// fine-tuned one after), each with the test folder as an --eval-data
// source. It exits 1 when a target is missed.
//
//	go run ./train/internal/ftbench --before before.json --after after.json --test DIR --ms 61000
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/edgecnn/edgecnn/quantize"
)

// Targets of issue 10.
const (
	targetStyle = 98.0  // new style, percent, after fine-tuning
	targetMNIST = 99.2  // MNIST test, percent, after
	targetSecs  = 300.0 // fine-tune + quantize on 2 cores
)

func main() {
	before := flag.String("before", "", "quantize --json report of the committed model (with --eval-data TEST)")
	after := flag.String("after", "", "quantize --json report of the fine-tuned model (with --eval-data TEST)")
	test := flag.String("test", "", "the held-out test folder (its row in both reports)")
	mnist := flag.String("mnist", "data/mnist", "the MNIST folder (its row in the after report)")
	ms := flag.Float64("ms", 0, "wall time of fine-tune + quantize, milliseconds")
	style := flag.String("style", "seven-segment LCD photos", "name of the new digit style")
	flag.Parse()
	ok, err := run(*before, *after, *test, *mnist, *style, *ms)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ftbench:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func read(path string) (*quantize.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r quantize.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

func row(r *quantize.Report, source string) (*quantize.SourceAccuracy, error) {
	for i := range r.Sources {
		if r.Sources[i].Source == source {
			return &r.Sources[i], nil
		}
	}
	return nil, fmt.Errorf("report of %s has no row for %s", r.Model.Source, source)
}

func run(beforePath, afterPath, test, mnist, style string, ms float64) (bool, error) {
	before, err := read(beforePath)
	if err != nil {
		return false, err
	}
	after, err := read(afterPath)
	if err != nil {
		return false, err
	}
	tb, err := row(before, test)
	if err != nil {
		return false, err
	}
	ta, err := row(after, test)
	if err != nil {
		return false, err
	}
	ma, err := row(after, mnist)
	if err != nil {
		return false, err
	}
	mb, err := row(before, mnist)
	if err != nil {
		return false, err
	}
	secs := ms / 1000
	mark := func(v, target float64, lower bool) string {
		if (lower && v <= target) || (!lower && v >= target) {
			return "ok"
		}
		return "MISSED"
	}
	fmt.Printf("bench-finetune: %s (%d held-out test photos), before → after fine-tuning\n", style, ta.Images)
	fmt.Printf("  %-34s %9s %9s %9s %9s  %-10s %s\n", "", "before", "", "after", "", "target", "")
	fmt.Printf("  %-34s %9s %9s %9s %9s\n", "", "float", "int8", "float", "int8")
	fmt.Printf("  %-34s %8.2f%% %8.2f%% %8.2f%% %8.2f%%  ≥ %.0f%%      %s\n", style, tb.Float, tb.Int8, ta.Float, ta.Int8, targetStyle, mark(min(ta.Float, ta.Int8), targetStyle, false))
	fmt.Printf("  %-34s %8.2f%% %8.2f%% %8.2f%% %8.2f%%  ≥ %.1f%%    %s\n", fmt.Sprintf("MNIST test (%d images)", ma.Images), mb.Float, mb.Int8, ma.Float, ma.Int8, targetMNIST, mark(min(ma.Float, ma.Int8), targetMNIST, false))
	fmt.Printf("  %-34s %39.1f s  ≤ %.0f s     %s\n", "fine-tune + quantize, wall time", secs, targetSecs, mark(secs, targetSecs, true))
	ok := min(ta.Float, ta.Int8) >= targetStyle && min(ma.Float, ma.Int8) >= targetMNIST && secs <= targetSecs
	return ok, nil
}
