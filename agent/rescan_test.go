package agent

import (
	"context"
	"image"
	"slices"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// TestVoteScans checks the vote among readings: two alike with no '?'
// win, else a whole reading beats one with a '?', then the most probable
// digits; the earlier wins a tie.
func TestVoteScans(t *testing.T) {
	res := func(text string, conf ...float32) scan {
		r := Result{Text: text}
		for _, c := range conf {
			r.Digits = append(r.Digits, Prediction{Confidence: c})
		}
		return scan{res: r}
	}
	cases := []struct {
		name string
		rs   []scan
		want int
	}{
		{"the two later ones agree", []scan{res("123", .99, .99, .99), res("128", .6, .6, .6), res("128", .7, .7, .7)}, 1},
		{"first and last agree", []scan{res("128", .6, .6, .6), res("123", .99, .99, .99), res("128", .7, .7, .7)}, 0},
		{"agreeing on a '?' is no agreement", []scan{res("1?8", .6, .6), res("1?8", .6, .6), res("123", .55, .55, .55)}, 2},
		{"agreeing on no digit is no agreement", []scan{res(""), res(""), res("7", .6)}, 2},
		{"none agree: the most probable", []scan{res("123", .6, .9, .9), res("1234", .95, .95, .95, .95), res("12", .99, .99)}, 2},
		{"none agree: whole before '?'", []scan{res("12?4", .99, .99, .99), res("1274", .6, .6, .6, .6), res("1", .99)}, 2},
		{"a tie: the earlier", []scan{res("12", .8, .9), res("21", .9, .8), res("")}, 0},
	}
	for _, c := range cases {
		if got := voteScans(c.rs); got != c.want {
			t.Errorf("%s: reading %d (%q), want %d (%q)", c.name, got, c.rs[got].res.Text, c.want, c.rs[c.want].res.Text)
		}
	}
}

// TestRescanReadsNumbers reads the first 300 handwritten tuning photos
// with the real model and judge (float), without and with Rescan. A sure
// reading (every digit at least rescanBelow, no '?') or no digit must come
// out unchanged; rescanning must read at least 3 more numbers exactly and
// break at most half as many as it mends (7 December 2026: 5 mended, none
// broken); a reread must stop after its first reading when that agrees
// with the first, and only then; and the collector's crops must be those
// of the answer.
func TestRescanReadsNumbers(t *testing.T) {
	ds := numberDigits(t)
	pc := preprocess.Config{Multi: true}
	plain := openReal(t, RecognizerConfig{Preprocess: pc}, true)
	rescan := openReal(t, RecognizerConfig{Preprocess: pc, Rescan: true}, true)
	var nPlain, nRescan, mended, broken, stopped int
	for i := 0; i < 300; i++ {
		num, img := tuningNumber(t, ds, photoset.Handwritten, i, 640, 480)
		a, err := plain.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		b, err := rescan.Recognize(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		sure := a.Text == "" || a.Confidence >= rescanBelow && !strings.Contains(a.Text, "?")
		if sure && (b.Text != a.Text || b.Confidence != a.Confidence) {
			t.Errorf("photo %d (%s): read surely as %q (%.3f) without Rescan, %q (%.3f) with it", i, num.Text, a.Text, a.Confidence, b.Text, b.Confidence)
		}
		if !sure {
			// the third reading is skipped exactly when the first two agree
			rs := rescan.readings
			two := len(rs) == 2
			if stop := whole(rs[0].res) && rs[0].res.Text == rs[1].res.Text; two != stop || len(rs) < 2 {
				t.Errorf("photo %d (%s): %d readings, the first two %q and %q", i, num.Text, len(rs), rs[0].res.Text, rs[1].res.Text)
			}
			stopped += b2int(two)
		}
		if want, got := digitBoxes(b), keptCrops(rescan); b.Text != "" && !slices.Equal(want, got) {
			t.Errorf("photo %d (%s): answered %q with boxes %v, crops kept %v", i, num.Text, b.Text, want, got)
		}
		nPlain += b2int(a.Text == num.Text)
		nRescan += b2int(b.Text == num.Text)
		mended += b2int(a.Text != num.Text && b.Text == num.Text)
		broken += b2int(a.Text == num.Text && b.Text != num.Text)
	}
	t.Logf("read exactly: %d of 300 with Rescan, %d without (%d mended, %d broken); %d rereads stopped after one more reading", nRescan, nPlain, mended, broken, stopped)
	if stopped == 0 {
		t.Error("no reread stopped after two readings that agree")
	}
	if nRescan < nPlain+3 || broken*2 > mended {
		t.Errorf("Rescan reads %d of 300 exactly (%d mended, %d broken), without it %d: want at least 3 more, at most half as many broken as mended", nRescan, mended, broken, nPlain)
	}
}

// digitBoxes returns the boxes of res's digits.
func digitBoxes(res Result) []image.Rectangle {
	var bs []image.Rectangle
	for _, d := range res.Digits {
		bs = append(bs, d.Box)
	}
	return bs
}

// keptCrops returns the boxes of the collector's crops of r's last frame
// that were read as digits at r's minimum confidence.
func keptCrops(r *Recognizer) []image.Rectangle {
	var bs []image.Rectangle
	for _, c := range r.lastCrops() {
		if c.Label != "x" && c.Confidence >= r.minConf {
			bs = append(bs, c.Box)
		}
	}
	return bs
}

func b2int(b bool) int {
	if b {
		return 1
	}
	return 0
}
