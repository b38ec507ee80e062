package train

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

// penSkip erases ink in one short gap: it never adds ink, it takes ink
// from most digits, and what it changes lies within one gap's reach (a
// box of at most 2·brkLenHi+1 px). A blank image stays blank.
func TestPenSkip(t *testing.T) {
	ds := loadMNIST(t)
	const n = 200
	cut := 0
	for i := 0; i < n; i++ {
		src := ds.Train.Images[i*784 : (i+1)*784]
		img := make([]float32, 784)
		for j, v := range src {
			img[j] = float32(v) / 255
		}
		before := slices.Clone(img)
		r := NewRNG(3, uint64(i))
		penSkip(img, 28, 28, &r)
		x0, y0, x1, y1 := 28, 28, -1, -1
		var lost float32
		for j, v := range img {
			if v > before[j] || v < 0 {
				t.Fatalf("digit %d: pixel %d went from %v to %v", i, j, before[j], v)
			}
			if v < before[j] {
				lost += before[j] - v
				x0, y0, x1, y1 = min(x0, j%28), min(y0, j/28), max(x1, j%28), max(y1, j/28)
			}
		}
		if x1 >= 0 && (x1-x0 > 2*brkLenHi || y1-y0 > 2*brkLenHi) {
			t.Fatalf("digit %d: changed pixels span %d×%d px, more than one gap", i, x1-x0+1, y1-y0+1)
		}
		if lost >= 1 {
			cut++
		}
	}
	if cut < n*9/10 {
		t.Fatalf("only %d of %d digits lost a pixel's worth of ink", cut, n)
	}
	blank := make([]float32, 784)
	r := NewRNG(3)
	penSkip(blank, 28, 28, &r)
	if slices.ContainsFunc(blank, func(v float32) bool { return v != 0 }) {
		t.Fatal("a blank image got ink")
	}
}

// --breaks needs an augmentation to add to, and a recipe without it keeps
// its config JSON.
func TestBreaksConfig(t *testing.T) {
	cfg := smallConfig()
	cfg.Augment, cfg.Robust, cfg.Breaks = false, false, true
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--augment") {
		t.Fatalf("--breaks alone: %v", err)
	}
	for _, c := range []Config{{Augment: true}, {Robust: true}} {
		ok := smallConfig()
		ok.Augment, ok.Robust, ok.Breaks = c.Augment, c.Robust, true
		if err := ok.Validate(); err != nil {
			t.Fatal(err)
		}
		if j := string(mustJSON(t, ok)); !strings.Contains(j, `"breaks":true`) {
			t.Fatalf("config JSON %s", j)
		}
	}
	if j := string(mustJSON(t, smallConfig())); strings.Contains(j, "breaks") {
		t.Fatalf("config JSON without --breaks: %s", j)
	}
}

// A batch with Breaks prepares about brkShare of its digit images
// differently, on the plain and the robust path, and every non-digit
// (the reject class) and every other digit exactly as without it.
func TestBreaksBatch(t *testing.T) {
	ds := loadMNIST(t)
	m, err := model.New(model.SeedArch())
	if err != nil {
		t.Fatal(err)
	}
	const n = 512
	idx := make([]int, n)
	labels := make([]uint8, n)
	for i := range idx {
		idx[i] = i
		labels[i] = ds.Train.Labels[i]
		if i%4 == 3 {
			labels[i] = RejectClasses - 1 // drawn as a non-digit
		}
	}
	for _, robust := range []bool{false, true} {
		plain := Batch{Pixels: ds.Train.Images[:n*784], Index: idx, Labels: labels, Augment: true, Robust: robust}
		broken := plain
		broken.Breaks = true
		a, b := make([]float32, n*784), make([]float32, n*784)
		p := newPrep(m)
		p.batch(&plain, 1, a)
		p.batch(&broken, 1, b)
		differ := 0
		for k := 0; k < n; k++ {
			if slices.Equal(a[k*784:(k+1)*784], b[k*784:(k+1)*784]) {
				continue
			}
			if labels[k] == RejectClasses-1 {
				t.Fatalf("robust %v: non-digit %d got a gap", robust, k)
			}
			differ++
		}
		if want := brkShare * n * 3 / 4; float64(differ) < want/2 || float64(differ) > want*1.5 {
			t.Fatalf("robust %v: %d of %d digit images differ with Breaks (want about %.0f)", robust, differ, n*3/4, want)
		}
	}
}

// --breaks reaches the training batches: the same run with and without
// it ends with different weights.
func TestBreaksTrains(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Augment = true
	base, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 256), Out: filepath.Join(dir, "base.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Breaks = true
	res, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 256), Out: filepath.Join(dir, "breaks.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(base.Model.Params()[0].Data, res.Model.Params()[0].Data) {
		t.Fatal("--breaks changed nothing")
	}
}

// With breaks, ChooseRejectThreshold reads the robust validation copies
// with broken strokes: the committed model reads fewer of those digits
// (summed over the thresholds), and the negatives are the same.
func TestRejectThresholdBreaks(t *testing.T) {
	ck, err := model.ReadCheckpointFile(filepath.Join(repoRoot(t), "models", "mnist.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	ds := loadMNIST(t)
	val := ds.Test.Slice(600)
	_, plain, err := ChooseRejectThreshold(context.Background(), ck.Model, val, ds.Train.Slice(2000), 1, 2, false)
	if err != nil {
		t.Fatal(err)
	}
	_, broken, err := ChooseRejectThreshold(context.Background(), ck.Model, val, ds.Train.Slice(2000), 1, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	var a, b float64
	for i := range plain {
		if plain[i].NegativesRejected != broken[i].NegativesRejected {
			t.Fatalf("threshold %v: negatives without breaks %+v, with %+v", plain[i].Threshold, plain[i], broken[i])
		}
		a += plain[i].DigitsAccepted
		b += broken[i].DigitsAccepted
	}
	if !(b < a) {
		t.Fatalf("digits read over all thresholds: %.2f with broken strokes, %.2f without", b, a)
	}
}
