package agent

import (
	"context"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// TestGlyphRow: letters read with --multi answer "no digit" as they do
// read alone; the segmentation cuts many of them into digit-like strokes
// (an H into "11"), which glyphRow reads once more as one glyph. Without
// it about half of these letters read as digits.
func TestGlyphRow(t *testing.T) {
	rec, err := realRecognizer(t, RecognizerConfig{Preprocess: preprocess.Config{Multi: true}})()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Engine().Close()
	non, err := photoset.NonDigits(photoset.Tuning, 150, 320, 240)
	if err != nil {
		t.Fatal(err)
	}
	letters, none := 0, 0
	for _, s := range non {
		if s.Kind != "letter" {
			continue
		}
		img, err := camera.DecodeJPEG(s.JPEG)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rec.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		letters++
		if res.Text == "" {
			none++
		} else {
			t.Logf("letter photo read as %q", res.Text)
		}
	}
	if letters < 20 || none*100 < letters*90 {
		t.Errorf("--multi answered \"no digit\" for %d of %d letter photos, want ≥ 90%%", none, letters)
	}
}
