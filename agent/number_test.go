package agent

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/camera/preprocess"
	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
)

func numberDigits(t testing.TB) *photoset.Digits {
	t.Helper()
	d := testenv.MNISTDir(t)
	ds, err := photoset.ReadMNISTTest(d, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestNumbersRead reads generated whole numbers (tuning split) with
// --multi: handwritten on paper, and odometer windows (light on dark,
// no flags), and counts exact answers.
func TestNumbersRead(t *testing.T) {
	ds := numberDigits(t)
	rec, err := realRecognizer(t, RecognizerConfig{Preprocess: preprocess.Config{Multi: true}, MinConfidence: 0.01})()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		kind photoset.Kind
		min  int // exact answers of 20 at least
	}{{photoset.Handwritten, 11}, {photoset.Odometer, 14}} {
		exact := 0
		for i := 0; i < 20; i++ {
			num, img := tuningNumber(t, ds, tc.kind, i, 320, 240)
			res, err := rec.Recognize(ctx, img)
			if err != nil {
				t.Fatal(err)
			}
			if res.Text == num.Text {
				exact++
			}
		}
		t.Logf("%v: %d/20 exact", tc.kind, exact)
		if exact < tc.min {
			t.Errorf("%v: only %d of 20 numbers read exactly (want ≥ %d)", tc.kind, exact, tc.min)
		}
	}
}

// TestRegions reads odometer photos with one region per digit (the
// truth boxes, padded), and checks the "?" rules and region errors.
func TestRegions(t *testing.T) {
	ds := numberDigits(t)
	ctx := context.Background()
	exact := 0
	for i := 0; i < 10; i++ {
		num, err := photoset.NumberSet(ds, photoset.TuneSplit, photoset.Odometer, i, 320, 240)
		if err != nil {
			t.Fatal(err)
		}
		var rs []preprocess.Region
		for j, b := range num.Boxes {
			b = b.Inset(-4).Intersect(image.Rect(0, 0, 320, 240))
			rs = append(rs, preprocess.Region{X: b.Min.X, Y: b.Min.Y, W: b.Dx(), H: b.Dy(), Name: string(rune('a' + j))})
		}
		// An extra empty region inside the frame: always "?".
		rs = append(rs, preprocess.Region{X: 0, Y: 0, W: 4, H: 4, Name: "blank"})
		rec, err := realRecognizer(t, RecognizerConfig{Regions: rs})()
		if err != nil {
			t.Fatal(err)
		}
		img, err := camera.DecodeJPEG(num.JPEG)
		if err != nil {
			t.Fatal(err)
		}
		res, err := rec.Recognize(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ROIs) != len(rs) {
			t.Fatalf("photo %d: %d rois reported, want %d", i, len(res.ROIs), len(rs))
		}
		if res.Text != "" && (len(res.Text) != len(rs) || !strings.HasSuffix(res.Text, "?")) {
			t.Fatalf("photo %d: text %q: want one character per region, the blank one \"?\"", i, res.Text)
		}
		for _, d := range res.Digits {
			if d.Name == "" || d.Name == "blank" {
				t.Errorf("photo %d: digit %+v has the wrong region name", i, d)
			}
		}
		if res.Text == num.Text+"?" {
			exact++
		}
		// Regions outside the frame are a clear error.
		out, _ := realRecognizer(t, RecognizerConfig{Regions: []preprocess.Region{{X: 300, Y: 0, W: 40, H: 40, Name: "far"}}})()
		if _, err := out.Recognize(ctx, img); err == nil || !strings.Contains(err.Error(), `"far"`) {
			t.Fatalf("region outside the frame: %v", err)
		}
		rec.Engine().Close()
		out.Engine().Close()
	}
	t.Logf("rois: %d/10 exact", exact)
	if exact < 7 {
		t.Errorf("only %d of 10 odometer photos read exactly with --rois", exact)
	}
}

// TestNumbersBadInput: frames that are not a clean row of digits get a
// well-formed answer in every mode, never an error or a panic.
func TestNumbersBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	frames := map[string]image.Image{}
	// Two unrelated digits: a big 3 top left, a small 7 bottom right.
	ink := camera.NewInk(320, 240)
	camera.DrawDigit(ink, 3, 20, 10, 120, 10, 0, 0, 0.02, rng)
	camera.DrawDigit(ink, 7, 240, 180, 40, 4, 0.2, 0, 0.02, rng)
	frames["unrelated"] = camera.Paper(ink, 200, 160, 1, 0.15, 4, rng)
	// A digit cut by the frame's right edge.
	ink = camera.NewInk(320, 240)
	camera.DrawDigit(ink, 5, 270, 60, 120, 10, 0, 0, 0.02, rng)
	frames["cut by the edge"] = camera.Paper(ink, 200, 160, 1, 0.15, 4, rng)
	// No digit: blank paper with a lighting step and noise.
	frames["blank"] = camera.Paper(camera.NewInk(320, 240), 220, 90, 2, 0.15, 6, rng)
	frames["1x1"] = image.NewGray(image.Rect(0, 0, 1, 1))
	ctx := context.Background()
	for _, cfg := range []RecognizerConfig{
		{},
		{Preprocess: preprocess.Config{Multi: true}},
		{Regions: []preprocess.Region{{X: 0, Y: 0, W: 160, H: 240}, {X: 160, Y: 0, W: 160, H: 240}}},
	} {
		rec, err := realRecognizer(t, cfg)()
		if err != nil {
			t.Fatal(err)
		}
		for name, img := range frames {
			res, err := rec.Recognize(ctx, img)
			if name == "1x1" && len(cfg.Regions) > 0 {
				if err == nil {
					t.Errorf("rois on a 1x1 frame: no error")
				}
				continue
			}
			if err != nil {
				t.Errorf("%+v %s: %v", cfg, name, err)
				continue
			}
			for _, d := range res.Digits {
				if !d.Box.In(img.Bounds()) || d.Label == "" {
					t.Errorf("%s: digit %+v outside the frame", name, d)
				}
			}
			switch {
			case name == "blank" || name == "1x1":
				if res.Text != "" {
					t.Errorf("%+v %s: %q, want no digit", cfg, name, res.Text)
				}
			case len(cfg.Regions) > 0:
				if res.Text != "" && len(res.Text) != 2 {
					t.Errorf("%s: %q: want one character per region", name, res.Text)
				}
			case !cfg.Preprocess.Multi:
				if len(res.Text) > 1 {
					t.Errorf("%s: %q: one digit at most without --multi", name, res.Text)
				}
			}
			if name == "unrelated" && !cfg.Preprocess.Multi && len(cfg.Regions) == 0 && res.Text != "3" {
				t.Errorf("unrelated digits: %q, want the big 3", res.Text)
			}
		}
		rec.Engine().Close()
	}
}

// TestRegionConfidence: in a region the reject class wins only when it is
// sure (regionRejectX); below that the best digit is read with its
// probability among the digits.
func TestRegionConfidence(t *testing.T) {
	labels := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "x"}
	// probabilities: x px, digit 3 gets 70 % of the rest, digit 8 30 %
	probs := func(px float64) []float32 {
		s := make([]float32, 11)
		s[10], s[3], s[8] = float32(px), float32(0.7*(1-px)), float32(0.3*(1-px))
		return s
	}
	logits := func(p []float32) []float32 {
		out := make([]float32, len(p))
		for i, v := range p {
			out[i] = float32(math.Log(float64(max(v, 1e-30))))
		}
		return out
	}
	for _, isProbs := range []bool{true, false} {
		r := &Recognizer{labels: labels, reject: 10, probs: isProbs}
		for _, tc := range []struct {
			px   float64
			want int
			conf float32
		}{{0.9, 3, 0.7}, {0.5, 3, 0.7}, {0.1, 3, 0.7}, {0.995, 10, 0.995}} {
			s := probs(tc.px)
			if !isProbs {
				s = logits(s)
			}
			best, conf := r.regionConfidence(s, regionRejectX)
			if best != tc.want || math.Abs(float64(conf-tc.conf)) > 1e-4 {
				t.Errorf("probs=%v p(x)=%v: class %d confidence %v, want %d %v", isProbs, tc.px, best, conf, tc.want, tc.conf)
			}
		}
		// without the reject class: Confidence unchanged
		r.reject = -1
		s := probs(0.9)[:10]
		if !isProbs {
			s = logits(s)
		}
		b1, c1 := r.regionConfidence(s, regionRejectX)
		b2, c2 := Confidence(s, isProbs)
		if b1 != b2 || c1 != c2 {
			t.Errorf("probs=%v, no reject class: %d %v, want %d %v", isProbs, b1, c1, b2, c2)
		}
	}
}

// TestNumberRowAnswer: in a --multi row that reads as a number (at least
// two, and at least half, sure digits) an unsure "not a digit" piece is
// read as its best digit; a sure one stays '?'; a row with more "not a
// digit" pieces than digits is no number; a single piece and a row
// without --multi keep the plain rules; with --digits N a row of another
// length (a '?' holds a place) is no number.
func TestNumberRowAnswer(t *testing.T) {
	// one piece's probabilities: digit d gets p, x gets px, digit 8 the rest
	piece := func(d int, p, px float32) []float32 {
		s := make([]float32, 11)
		s[10], s[d] = px, p
		s[8] += 1 - p - px
		return s
	}
	digit := func(d int) []float32 { return piece(d, 0.97, 0.01) }
	for _, tc := range []struct {
		name   string
		multi  bool
		digits int // --digits
		pieces [][]float32
		text   string
		reason string
	}{
		{"unsure x in a number", true, 0, [][]float32{digit(3), piece(4, 0.3, 0.6), digit(5)}, "345", ""},
		{"sure x in a number", true, 0, [][]float32{digit(3), piece(4, 0.001, 0.995), digit(5)}, "3?5", ""},
		{"x at 0.95 in a number", true, 0, [][]float32{digit(3), piece(4, 0.04, 0.95), digit(5)}, "3?5", ""},
		{"too few sure digits", true, 0, [][]float32{digit(3), piece(4, 0.3, 0.6), piece(2, 0.3, 0.6)}, "", ReasonNotDigit},
		{"more x than digits", true, 0, [][]float32{digit(3), piece(4, 0.001, 0.995), piece(2, 0.001, 0.995)}, "", ReasonNotDigit},
		{"half sure", true, 0, [][]float32{digit(3), digit(7), piece(4, 0.3, 0.6), piece(2, 0.2, 0.7)}, "3742", ""},
		{"one piece", true, 0, [][]float32{piece(4, 0.3, 0.6)}, "", ReasonNotDigit},
		{"x and a digit", true, 0, [][]float32{piece(4, 0.3, 0.6), digit(1)}, "?1", ""},
		{"without --multi", false, 0, [][]float32{digit(3), piece(4, 0.3, 0.6), digit(5)}, "35", ""},
		{"--digits 3, three read", true, 3, [][]float32{digit(3), digit(4), digit(5)}, "345", ""},
		{"--digits 3, a '?' in place", true, 3, [][]float32{digit(3), piece(4, 0.001, 0.995), digit(5)}, "3?5", ""},
		{"--digits 3, two read", true, 3, [][]float32{digit(3), digit(5)}, "", ReasonLength},
		{"--digits 3, four read", true, 3, [][]float32{digit(3), digit(7), digit(4), digit(5)}, "", ReasonLength},
		{"--digits 2, more x than digits", true, 2, [][]float32{digit(3), piece(4, 0.001, 0.995), piece(2, 0.001, 0.995)}, "", ReasonNotDigit},
	} {
		e := &metaEngine{fakeEngine: fakeEngine{answer: []int{0}}, md: map[string]string{
			model.MetaLabels: "0,1,2,3,4,5,6,7,8,9,x"}}
		r, err := NewRecognizer(e, RecognizerConfig{Preprocess: preprocess.Config{Multi: tc.multi, Digits: tc.digits}, MinConfidence: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		r.probs = true
		var out []float32
		digits := make([]preprocess.Digit, len(tc.pieces))
		for i, p := range tc.pieces {
			out = append(out, p...)
			digits[i].Box = image.Rect(10*i, 0, 10*i+8, 12)
		}
		var res Result
		r.answer(digits, out, &res)
		if res.Text != tc.text || res.Reason != tc.reason {
			t.Errorf("%s: text %q reason %q, want %q %q", tc.name, res.Text, res.Reason, tc.text, tc.reason)
		}
	}
}

// TestNumberFillsFrame: a number framed tightly, so that its digits fill
// the frame's height, lie close to its sides and touch its top (the
// camera of a meter reader is set up that way). The first or last digit
// of such a frame, as tall as the frame and against its side, and the
// row of touching digits along the top edge used to be taken for a
// display's bezel or a paper edge and dropped (preprocess: spans); a
// strip lies along the edge, a digit touches it at a few points. The
// photos: tuning photos cropped to the number (photoset.Number.Filled);
// the old rule read none of them. In such a frame most digits touch its
// top; the row used to start at a cluster clear of every edge, which
// there may be a small piece (a broken 6's loop) that the digits around
// it are too tall to join: now only the frame's sides count.
func TestNumberFillsFrame(t *testing.T) {
	ds := numberDigits(t)
	rec, err := realRecognizer(t, RecognizerConfig{Preprocess: preprocess.Config{Multi: true}})()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Engine().Close()
	for _, c := range []struct {
		kind   photoset.Kind
		photos []int
		min    int
	}{
		{photoset.Handwritten, []int{1, 3, 4, 30, 95, 118, 177, 178, 190, 231, 277}, 8},    // a digit against a side, touching digits along the top
		{photoset.Handwritten, []int{138, 508, 689, 713}, 3},                               // digits touching the top: the row started at a small piece
		{photoset.Handwritten, []int{128, 248, 296, 499, 535, 594, 683, 909, 914, 915}, 8}, // digits touching into one shape that fills the frame
		{photoset.Handwritten, []int{98, 409, 430, 452, 819, 837, 959}, 4},                 // such a shape along the frame's top (fills its width, not its height)
		// Light numbers: read as dark ink first, the dark gaps between
		// the digits made pieces that read as no digit, and nothing read
		// the frame as light ink (readAgain); the old rule read none.
		{photoset.Odometer, []int{35, 89, 117, 157, 173, 248}, 4},
		{photoset.SevenSegment, []int{0, 195, 278}, 2},
	} {
		fillsFrame(t, rec, ds, c.kind, c.photos, c.min)
	}
}

// fillsFrame reads the tuning photos of kind k cropped to their numbers
// and checks that at least min of them read right.
func fillsFrame(t *testing.T, rec *Recognizer, ds *photoset.Digits, k photoset.Kind, photos []int, min int) {
	t.Helper()
	right := 0
	for _, i := range photos {
		num, img := tuningNumber(t, ds, k, i, 640, 480)
		if readFilled(t, rec, num, img) {
			right++
		}
	}
	if right < min {
		t.Errorf("%d of %d numbers that fill the frame (photos %v) read right, want ≥ %d", right, len(photos), photos, min)
	}
}

// TestDigitFillsFrame: one digit that fills the frame (a camera close to
// it) is read. It covers 90 % of the frame both ways, which the
// preprocessing took for a shadow or an edge, and as wide as the frame
// along its top it was taken for a paper edge (preprocess: fillsFrame,
// spans). The photos: the first digit of tuning photos 0–19 drawn alone
// (photoset.NumberSetDigit), cropped to it (photoset.Number.Filled); the
// old rules read 2 of them, and 16 before a digit whose top the frame
// cuts (its ink along the frame's top) was let through.
func TestDigitFillsFrame(t *testing.T) {
	ds := numberDigits(t)
	rec, err := realRecognizer(t, RecognizerConfig{})()
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Engine().Close()
	right := 0
	for i := range 20 {
		one, err := photoset.NumberSetDigit(ds, photoset.TuneSplit, photoset.Handwritten, i, 0, 640, 480)
		if err != nil {
			t.Fatal(err)
		}
		img, err := camera.DecodeJPEG(one.JPEG)
		if err != nil {
			t.Fatal(err)
		}
		if readFilled(t, rec, one, img) {
			right++
		}
	}
	if right < 17 {
		t.Errorf("%d of 20 digits that fill the frame read right, want ≥ 17", right)
	}
}

// readFilled reads img, the photo of num, cropped to num
// (photoset.Number.Filled), and reports whether it reads num's text.
func readFilled(t *testing.T, rec *Recognizer, num photoset.Number, img image.Image) bool {
	t.Helper()
	crop, err := num.FilledImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := rec.Recognize(context.Background(), crop)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != num.Text {
		t.Logf("%s cropped to %v: read %q (%s)", num.Text, crop.Bounds(), res.Text, res.Reason)
	}
	return res.Text == num.Text
}
