package agent

import (
	"context"
	"image"
	"image/color"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// TestLoneDigitInShadow: a lone dark digit on a lit patch of paper, with
// a shadow over most of the frame, is read as dark ink. The paper filters
// call such a frame light ink (the insides of the digit's loops stand out
// as light strokes as much as the digit's strokes do as dark ones); the
// thin strokes decide it (preprocess: thinStrokes). The photos are the
// tuning split's handwritten digits drawn alone (photoset.NumberSetDigit)
// that the paper filters alone read as light ink: 9 of the first 200
// photos' 897 digits. They are read as dark ink at once, and right; and
// the second reading as dark ink (readAgain), which remains for a frame
// still read as light ink without a digit, reads them right as well.
func TestLoneDigitInShadow(t *testing.T) {
	rec, err := realRecognizer(t, RecognizerConfig{})()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Engine().Close()
	d := numberDigits(t)
	auto, err := preprocess.New(preprocess.Config{})
	if err != nil {
		t.Fatal(err)
	}
	right, again := 0, 0
	cases := [][2]int{{3, 0}, {17, 3}, {81, 1}, {93, 1}, {93, 3}, {161, 3}, {179, 2}, {179, 3}, {179, 4}}
	for _, c := range cases {
		one, err := photoset.NumberSetDigit(d, photoset.TuneSplit, photoset.Handwritten, c[0], c[1], 640, 480)
		if err != nil {
			t.Fatal(err)
		}
		img, err := camera.DecodeJPEG(one.JPEG)
		if err != nil {
			t.Fatal(err)
		}
		if pr, err := auto.Process(img); err != nil || !pr.DarkInk {
			t.Errorf("photo %d digit %d: read as light ink (err %v)", c[0], c[1], err)
		}
		res, err := rec.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if res.Text == one.Text {
			right++
		} else {
			t.Logf("photo %d digit %d: want %s, read %q (%s)", c[0], c[1], one.Text, res.Text, res.Reason)
		}
		res, used, err := rec.readAgain(context.Background(), img, Result{}, preprocess.PolarityDark)
		if err != nil {
			t.Fatal(err)
		}
		if used && res.Text == one.Text {
			again++
		}
	}
	if right < 8 || again < 8 {
		t.Errorf("%d and, read again as dark ink, %d of %d lone digits in shadow read right, want ≥ 8 each", right, again, len(cases))
	}
}

// TestLightLetterStaysFirstReading: a light letter on a dark background
// is "not a digit" as light ink; the second reading as dark ink finds no
// digit either, so the answer, its reason and the crops kept for the
// collector stay the first reading's.
func TestLightLetterStaysFirstReading(t *testing.T) {
	rec, err := realRecognizer(t, RecognizerConfig{})()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Engine().Close()
	img := image.NewGray(image.Rect(0, 0, 320, 240))
	for i := range img.Pix {
		img.Pix[i] = 35
	}
	bar := func(x0, y0, x1, y1 int) {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				img.SetGray(x, y, color.Gray{Y: 215})
			}
		}
	}
	bar(130, 70, 140, 170) // H
	bar(180, 70, 190, 170)
	bar(140, 115, 180, 125)
	res, err := rec.Recognize(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	crops := rec.lastCrops()
	// The H's own box (the dark reading locates the dark between and
	// around its bars instead).
	h := image.Rect(130, 70, 190, 170)
	if res.Text != "" || res.Reason != ReasonNotDigit || len(crops) != 1 || crops[0].Label != "x" || crops[0].Box != h {
		t.Fatalf("light H on dark: read %q (%s), crops %d %+v; want no digit, %q, one crop labelled x in %v", res.Text, res.Reason, len(crops), crops, ReasonNotDigit, h)
	}
}
