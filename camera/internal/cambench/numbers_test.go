package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/runtime"
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

// TestOriginalReadsMNIST: -attribute reads the MNIST originals of a
// photo's digits with the model (the classifier's own ceiling), and
// counts a digit whose true label differs as wrong.
func TestOriginalReadsMNIST(t *testing.T) {
	dir := testenv.MNISTDir(t)
	d, err := photoset.ReadMNISTTest(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := agent.OpenEngine("native", filepath.Join(testenv.RepoRoot(t), "models", "mnist.ckpt"), runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	var a attribution
	if err := a.useEngine(eng); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		num, err := photoset.NumberSet(d, photoset.TuneSplit, photoset.Handwritten, i, 160, 120)
		if err != nil {
			t.Fatal(err)
		}
		a.photos++
		if err := a.original(ctx, d, num); err != nil {
			t.Fatal(err)
		}
	}
	if a.rawDigits < 60 || a.rawRight < a.rawDigits*97/100 || a.rawExact > a.photos {
		t.Errorf("originals: %d of %d digits right, %d of %d numbers exact", a.rawRight, a.rawDigits, a.rawExact, a.photos)
	}
	num, _ := photoset.NumberSet(d, photoset.TuneSplit, photoset.Handwritten, 0, 160, 120)
	wrong := []byte(num.Text)
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	num.Text = string(wrong)
	var b attribution
	if err := b.useEngine(eng); err != nil {
		t.Fatal(err)
	}
	if err := b.original(ctx, d, num); err != nil {
		t.Fatal(err)
	}
	if b.rawExact != 0 || b.rawRight > b.rawDigits-1 {
		t.Errorf("a wrong label: %d of %d right, exact %d", b.rawRight, b.rawDigits, b.rawExact)
	}
	num.Index = num.Index[1:]
	if err := b.original(ctx, d, num); err == nil {
		t.Error("a photo with fewer MNIST indices than digits is read")
	}
}

// TestWilsonAndMcNemar checks the interval and the paired test against
// values computed by hand.
func TestWilsonAndMcNemar(t *testing.T) {
	ci := wilson(908, 1000)
	if math.Abs(ci[0]-0.8889) > 5e-4 || math.Abs(ci[1]-0.9242) > 5e-4 {
		t.Errorf("wilson(908, 1000) = %v; want [0.8889, 0.9242]", ci)
	}
	if ci := wilson(0, 10); ci[0] != 0 || ci[1] < 0.27 || ci[1] > 0.28 {
		t.Errorf("wilson(0, 10) = %v; want [0, 0.278]", ci)
	}
	for _, c := range []struct {
		b, c int
		p    float64
	}{{0, 10, 2.0 / 1024}, {5, 5, 1}, {0, 0, 1}, {2, 8, 2 * 56.0 / 1024}, {30, 10, 0.002221}} {
		if p := mcnemar(c.b, c.c); math.Abs(p-c.p) > 1e-5 {
			t.Errorf("mcnemar(%d, %d) = %g; want %g", c.b, c.c, p, c.p)
		}
	}
}

// TestCompareRuns pairs two runs photo by photo and refuses runs on
// other photos.
func TestCompareRuns(t *testing.T) {
	a := NumbersReport{Kind: "hand", Split: "tune", Photos: 10, Exact: 7, Misread: []int{1, 2, 3}}
	b := NumbersReport{Kind: "hand", Split: "tune", Photos: 10, Exact: 6, Misread: []int{2, 5, 6, 7}}
	p, err := compareRuns(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if p.OnlyHere != 3 || p.OnlyThere != 2 || p.BothWrong != 1 {
		t.Errorf("%+v; want 3 only here (5, 6, 7), 2 only there (1, 3), 1 both (2)", p)
	}
	for _, o := range []NumbersReport{
		{Kind: "hand", Split: "test", Photos: 10, Exact: 6, Misread: b.Misread},
		{Kind: "hand", Split: "tune", First: 5, Photos: 10, Exact: 6, Misread: b.Misread},
		{Kind: "hand", Split: "tune", Photos: 10, Exact: 6}, // no misread list
	} {
		if _, err := compareRuns(a, o); err == nil {
			t.Errorf("paired with %+v", o)
		}
	}
}

// TestAloneSheet: -save-alone's sheet shows the original, the model's
// input and the photo around the digit's box, side by side; and it is
// refused without -attribute, which finds the digits.
func TestAloneSheet(t *testing.T) {
	orig := make([]uint8, 28*28)
	ink := make([]float32, 28*28)
	for y := 4; y < 24; y++ {
		orig[y*28+10] = 255 // the original: a stroke in column 10
		ink[y*28+20] = 1    // the input: a stroke in column 20
	}
	photo := image.NewGray(image.Rect(0, 0, 200, 100))
	for i := range photo.Pix {
		photo.Pix[i] = 200
	}
	box := image.Rect(100, 30, 130, 90)
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			photo.SetGray(x, y, color.Gray{20})
		}
	}
	path := filepath.Join(t.TempDir(), "sheet.png")
	if err := aloneSheet(path, orig, ink, 28, 28, photo, box); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	const side = 28 * aloneZoom
	if got := img.Bounds().Size(); got != image.Pt(3*side+2*aloneGap, side) {
		t.Fatalf("sheet %v", got)
	}
	grey := func(x, y int) uint8 { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y }
	mid := 14 * aloneZoom
	for _, c := range []struct {
		x    int
		want uint8
	}{
		{10*aloneZoom + 1, 255}, {20*aloneZoom + 1, 0}, // original
		{side + aloneGap + 20*aloneZoom + 1, 255}, {side + aloneGap + 10*aloneZoom + 1, 0}, // input
		{2*(side+aloneGap) + side/2, 20}, {2*(side+aloneGap) + 2, 200}, // the box, the paper beside it
	} {
		if g := grey(c.x, mid); g != c.want {
			t.Errorf("pixel (%d, %d): %d, want %d", c.x, mid, g, c.want)
		}
	}
	if err := numbers([]string{"-model", "model.tflite", "-save-alone", t.TempDir()}); err == nil || !strings.Contains(err.Error(), "-attribute") {
		t.Errorf("-save-alone without -attribute: %v", err)
	}
	if err := numbers([]string{"-model", "model.tflite", "-fill", "-oracle"}); err == nil || !strings.Contains(err.Error(), "-fill") {
		t.Errorf("-fill with -oracle: %v", err)
	}
}
