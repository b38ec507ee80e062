package main

import (
	"testing"

	"github.com/edgecnn/edgecnn/camera/photoset"
)

// TestScoreCountsMisreads checks the report's split of the misread
// photos by the number of digits read, and the per-digit count.
func TestScoreCountsMisreads(t *testing.T) {
	var f numbersFlags
	rep := NumbersReport{Conditions: map[string][2]int{}}
	for i, got := range []string{"1234", "134", "12", "", "12345", "1?34", "1224", "1234"} {
		if base := f.score(&rep, i, photoset.Number{Text: "1234", Touching: i%2 == 0}, got); base != "" {
			t.Fatalf("score saved %q without -save-wrong", base)
		}
	}
	if rep.Exact != 2 || rep.NoDigit != 1 {
		t.Errorf("exact %d, no digit %d; want 2, 1", rep.Exact, rep.NoDigit)
	}
	if rep.TooFew != 3 || rep.TooMany != 1 || rep.SameCount != 2 {
		t.Errorf("too few %d, too many %d, as many %d; want 3, 1, 2", rep.TooFew, rep.TooMany, rep.SameCount)
	}
	// 4 + 3 + 2 + 0 + 3 + 3 + 3 + 4 digits in place (length − edit distance) of 8·4
	if rep.Digits != 32 || rep.DigitsRight != 22 {
		t.Errorf("digits right %d of %d; want 22 of 32", rep.DigitsRight, rep.Digits)
	}
	if c := rep.Conditions["touching"]; c != [2]int{1, 4} {
		t.Errorf("touching %v; want [1 4]", c)
	}
	if len(rep.Errors) != 6 {
		t.Errorf("%d errors listed; want 6", len(rep.Errors))
	}
}

// TestGenNumbersRefuses: sample numbers come only from MNIST test digits
// above the benches' splits, and only of the known kinds.
func TestGenNumbersRefuses(t *testing.T) {
	d := &photoset.Digits{Images: make([][]uint8, 10000), Labels: make([]uint8, 10000)}
	dir := t.TempDir()
	if err := genNumbers(d, "hand,letters", 2, 9000, 1, 160, 120, dir); err == nil {
		t.Error("an unknown kind is accepted")
	}
	if err := genNumbers(d, "hand", 2, photoset.TestSplit.End-1, 1, 160, 120, dir); err == nil {
		t.Error("digits of the test split are accepted")
	}
}
