package train

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/model"
)

func TestDecide(t *testing.T) {
	p := []float32{0.05, 0.9, 0.05}
	if d := Decide(p, 2, 0.5); d != 1 {
		t.Fatalf("confident digit: %d", d)
	}
	if d := Decide(p, 2, 0.95); d != -1 {
		t.Fatalf("below threshold: %d", d)
	}
	if d := Decide([]float32{0.1, 0.1, 0.8}, 2, 0.5); d != -1 {
		t.Fatalf("reject class: %d", d)
	}
	if d := Decide([]float32{0.1, 0.1, 0.8}, -1, 0.5); d != 2 {
		t.Fatalf("no reject class: %d", d)
	}
}

// robustAugment is deterministic per stream, stays in [0, 1], changes
// the image and keeps most of its ink.
func TestRobustAugment(t *testing.T) {
	ds := loadMNIST(t)
	src := ds.Train.Images[:784]
	a, b, tmp := make([]float32, 784), make([]float32, 784), make([]float32, 784)
	var inkSrc float32
	for _, v := range src {
		inkSrc += float32(v) / 255
	}
	for i := uint64(0); i < 50; i++ {
		r1, r2 := NewRNG(1, streamRobust, i), NewRNG(1, streamRobust, i)
		robustAugment(src, 28, 28, &r1, a, tmp, robustStyle{Display: i%2 == 1})
		robustAugment(src, 28, 28, &r2, b, tmp, robustStyle{Display: i%2 == 1})
		if !slices.Equal(a, b) {
			t.Fatalf("stream %d: not deterministic", i)
		}
		var ink, diff float32
		for j, v := range a {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("stream %d: pixel %d = %v outside [0, 1]", i, j, v)
			}
			ink += v
			diff += max(v-float32(src[j])/255, float32(src[j])/255-v)
		}
		if diff < 1 {
			t.Fatalf("stream %d: image unchanged (diff %.2f)", i, diff)
		}
		if ink < 0.2*inkSrc {
			t.Fatalf("stream %d: ink %.1f of %.1f left", i, ink, inkSrc)
		}
	}
}

// Training with --negatives gives an 11-class model labelled "x", picks a
// reject threshold on the validation split and records both; the plain
// config JSON of older recipes is unchanged (no new keys).
func TestTrainWithNegatives(t *testing.T) {
	cfg := smallConfig()
	cfg.BatchNorm, cfg.Robust, cfg.Negatives, cfg.Val = true, true, 0.1, 300
	cfg.Epochs = 2
	out := filepath.Join(t.TempDir(), "m.ckpt")
	res, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 1500), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := model.ReadCheckpointFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m := ck.Model
	if m.Arch.Classes != 11 || strings.Join(m.Labels, ",") != "0,1,2,3,4,5,6,7,8,9,x" {
		t.Fatalf("classes %d labels %v", m.Arch.Classes, m.Labels)
	}
	if res.Metrics.Reject == nil || len(res.Metrics.RejectCandidates) != len(thresholdCandidates) {
		t.Fatalf("no reject threshold chosen: %+v", res.Metrics.Reject)
	}
	if m.RejectThreshold != float32(res.Metrics.Reject.Threshold) || !slices.Contains(thresholdCandidates, res.Metrics.Reject.Threshold) {
		t.Fatalf("threshold %v in the model, %v chosen", m.RejectThreshold, res.Metrics.Reject.Threshold)
	}
	for _, c := range res.Metrics.RejectCandidates {
		if score(c) > score(*res.Metrics.Reject)+1e-9 {
			t.Fatalf("candidate %+v scores above the chosen %+v", c, *res.Metrics.Reject)
		}
	}
	// 2 epochs of 1,200 images (+10% negatives): the class must be learned at all
	t.Logf("threshold %v: %.1f%% of validation digits right, %.1f%% of negatives rejected", res.Metrics.Reject.Threshold, res.Metrics.Reject.DigitsAccepted, res.Metrics.Reject.NegativesRejected)
	if res.Metrics.Reject.NegativesRejected < 50 {
		t.Fatalf("only %.1f%% of validation negatives rejected", res.Metrics.Reject.NegativesRejected)
	}
	if !bytes.Contains(ck.Config, []byte(`"negatives":0.1`)) || !bytes.Contains(ck.Config, []byte(`"robust":true`)) {
		t.Fatalf("config %s", ck.Config)
	}
	old := smallConfig()
	if j := string(mustJSON(t, old)); strings.Contains(j, "negatives") || strings.Contains(j, "robust") {
		t.Fatalf("plain config JSON grew new keys: %s", j)
	}
	bad := smallConfig()
	bad.Negatives = 0.9
	if err := bad.Validate(); err == nil {
		t.Fatal("--negatives 0.9 accepted")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blocky squares strokes onto the cell grid: every cell is all ink or
// none, thick cells become ink and faint ones vanish.
func TestBlocky(t *testing.T) {
	img, tmp := make([]float32, 28*28), make([]float32, 28*28)
	for y := 5; y < 23; y++ {
		img[y*28+13] = 1 // a 1-pixel vertical stroke: a third of a 3-pixel cell
		img[y*28+14] = 1 // two pixels: two thirds
	}
	img[2*28+2] = 0.9 // a speck: a ninth of its cell
	blocky(img, tmp, 28, 28, 3, 0.4, 0, 0)
	for y0 := 0; y0 < 28; y0 += 3 {
		for x0 := 0; x0 < 28; x0 += 3 {
			v := img[y0*28+x0]
			for y := y0; y < min(y0+3, 28); y++ {
				for x := x0; x < min(x0+3, 28); x++ {
					if img[y*28+x] != v || (v != 0 && v != 1) {
						t.Fatalf("cell (%d, %d): pixel (%d, %d) = %v, cell starts with %v", x0, y0, x, y, img[y*28+x], v)
					}
				}
			}
		}
	}
	if img[2*28+2] != 0 {
		t.Fatal("a faint speck became a block")
	}
	if img[12*28+12] != 1 || img[12*28+15] != 0 {
		t.Fatalf("the stroke's cell (12..14) should be ink, the next one not: %v %v", img[12*28+12], img[12*28+15])
	}
}

// cutGap removes a thin band of ink: a long vertical stroke is cut into
// pieces or thinned (or missed by a vertical gap beside it), never
// thickened, and most of it stays.
func TestCutGap(t *testing.T) {
	cuts := 0
	for i := uint64(0); i < 40; i++ {
		img := make([]float32, 28*28)
		for y := 2; y < 26; y++ {
			for x := 12; x < 16; x++ {
				img[y*28+x] = 1
			}
		}
		before := slices.Clone(img)
		r := NewRNG(3, streamRobust, i)
		cutGap(img, 28, 28, &r)
		var ink, lost float32
		for j, v := range img {
			if v > before[j] || v < 0 {
				t.Fatalf("draw %d: pixel %d went from %v to %v", i, j, before[j], v)
			}
			ink += v
			lost += before[j] - v
		}
		if lost >= 1 {
			cuts++
		}
		if ink < 0.4*96 { // a cut along the stroke thins it by at most 1.6 px of 4
			t.Fatalf("draw %d: only %.1f of 96 px of ink left", i, ink)
		}
	}
	if cuts < 25 {
		t.Fatalf("only %d of 40 gaps cut the stroke", cuts)
	}
}

// robustStyles are the additions to --robust: each is refused alone, and
// a recipe without it keeps its config JSON (no new key).
var robustStyles = []struct {
	name, key string
	set       func(*Config, bool)
	batch     func(*Batch)
	share     float64 // of all images that an addition changes (about)
}{
	{"display", "display", func(c *Config, on bool) { c.Display = on }, func(b *Batch) { b.Display = true }, robustShare},
	// every robust image draws whether it is written in another hand
	{"writers", "writers", func(c *Config, on bool) { c.Writers = on }, func(b *Batch) { b.Writers = true }, robustShare},
	{"neighbors", "neighbors", func(c *Config, on bool) { c.Neighbors = on }, func(b *Batch) { b.Neighbors = true }, robustShare * robNeighbors},
}

func TestRobustStyleConfig(t *testing.T) {
	for _, st := range robustStyles {
		cfg := smallConfig()
		st.set(&cfg, true)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "--robust") {
			t.Fatalf("--%s without --robust: %v", st.name, err)
		}
		cfg.Robust = true
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		if j := string(mustJSON(t, cfg)); !strings.Contains(j, `"`+st.key+`":true`) {
			t.Fatalf("config JSON %s", j)
		}
		st.set(&cfg, false)
		if j := string(mustJSON(t, cfg)); strings.Contains(j, st.key) {
			t.Fatalf("config JSON without --%s: %s", st.name, j)
		}
	}
}

// A batch with Display or Writers prepares some robust images differently
// (they draw the addition from their stream) and every other image
// exactly as without it.
func TestRobustStyleBatch(t *testing.T) {
	ds := loadMNIST(t)
	m, err := model.New(model.SeedArch())
	if err != nil {
		t.Fatal(err)
	}
	const n = 256
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	plain := Batch{Pixels: ds.Train.Images[:n*784], Index: idx, Labels: make([]uint8, n), Augment: true, Robust: true}
	for _, st := range robustStyles {
		styled := plain
		st.batch(&styled)
		a, b := make([]float32, n*784), make([]float32, n*784)
		p := newPrep(m)
		p.batch(&plain, 1, a)
		p.batch(&styled, 1, b)
		differ := 0
		for k := 0; k < n; k++ {
			if !slices.Equal(a[k*784:(k+1)*784], b[k*784:(k+1)*784]) {
				differ++
			}
		}
		if want := st.share * n; float64(differ) < want/2 || float64(differ) > want*1.5 {
			t.Fatalf("%d of %d images differ with %s (want about %.0f)", differ, n, st.name, want)
		}
	}
}

// Writers draws other hands: robust copies of a 1 lean further with it
// (99th percentile of the slope of the ink's x over its y, from the
// ink-weighted moments).
func TestWritersSlant(t *testing.T) {
	ds := loadMNIST(t)
	k := slices.Index(ds.Train.Labels, 1)
	src := ds.Train.Images[k*784 : (k+1)*784]
	dst, tmp := make([]float32, 784), make([]float32, 784)
	const n = 2000
	lean := func(style robustStyle) float64 {
		var slopes []float64
		for i := 0; i < n; i++ {
			r := NewRNG(1, streamRobust, 0, uint64(i))
			robustAugment(src, 28, 28, &r, dst, tmp, style)
			var m, mx, my, mxy, myy float64
			for y := 0; y < 28; y++ {
				for x := 0; x < 28; x++ {
					v := max(0, float64(dst[y*28+x])-0.3) // ink above paper and noise
					m += v
					mx += v * float64(x)
					my += v * float64(y)
					mxy += v * float64(x*y)
					myy += v * float64(y*y)
				}
			}
			cov, vy := mxy/m-mx*my/(m*m), myy/m-my*my/(m*m)
			if m > 0 {
				slopes = append(slopes, math.Abs(cov/vy))
			}
		}
		slices.Sort(slopes)
		return slopes[len(slopes)*99/100] // the 99th percentile
	}
	plain, writers := lean(robustStyle{}), lean(robustStyle{Writers: true})
	if writers < plain+0.1 {
		t.Fatalf("lean of a 1 (99th percentile): %.2f with writers, %.2f without: want at least 0.1 more", writers, plain)
	}
	t.Logf("lean of a 1 (99th percentile): %.2f with writers, %.2f without", writers, plain)
}

// --display and --writers reach the training batches: the same run with
// and without each ends with different weights.
func TestRobustStyleTrains(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Robust = true
	base, err := Train(context.Background(), Run{Config: cfg, Data: smallData(t, 256), Out: filepath.Join(dir, "base.ckpt")})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range robustStyles {
		c := cfg
		st.set(&c, true)
		res, err := Train(context.Background(), Run{Config: c, Data: smallData(t, 256), Out: filepath.Join(dir, st.name+".ckpt")})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(base.Model.Params()[0].Data, res.Model.Params()[0].Data) {
			t.Fatalf("--%s changed nothing", st.name)
		}
	}
}

// dilateSquare is the 3×3 square maximum, zero outside the image.
func TestDilateSquare(t *testing.T) {
	for _, hw := range [][2]int{{1, 1}, {1, 5}, {4, 1}, {3, 7}, {28, 28}} {
		H, W := hw[0], hw[1]
		r := NewRNG(7, uint64(H), uint64(W))
		img := make([]float32, H*W)
		for i := range img {
			if r.Float32() < 0.2 {
				img[i] = r.Float32()
			}
		}
		want := make([]float32, H*W)
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				for j := max(0, y-1); j <= min(H-1, y+1); j++ {
					for i := max(0, x-1); i <= min(W-1, x+1); i++ {
						want[y*W+x] = max(want[y*W+x], img[j*W+i])
					}
				}
			}
		}
		dilateSquare(img, make([]float32, H*W), H, W)
		if !slices.Equal(img, want) {
			t.Fatalf("%d×%d: dilateSquare differs from the 3×3 maximum", H, W)
		}
	}
}

// Writers' pens: the heaviest robust copies of a digit carry more ink
// with Writers (thick marker) and the lightest less (thin pen).
func TestWritersPens(t *testing.T) {
	ds := loadMNIST(t)
	src := ds.Train.Images[:784]
	dst, tmp := make([]float32, 784), make([]float32, 784)
	ink := func(style robustStyle) (lo, hi float64) {
		var sums []float64
		for i := 0; i < 2000; i++ {
			r := NewRNG(3, streamRobust, 0, uint64(i))
			robustAugment(src, 28, 28, &r, dst, tmp, style)
			s := 0.0
			for _, v := range dst {
				s += float64(max(0, v-0.3)) // ink above paper and noise
			}
			sums = append(sums, s)
		}
		slices.Sort(sums)
		return sums[len(sums)/100], sums[len(sums)*99/100]
	}
	plo, phi := ink(robustStyle{})
	wlo, whi := ink(robustStyle{Writers: true})
	if !(whi > phi*1.1 && wlo < plo) {
		t.Fatalf("ink (1st–99th percentile) with writers %.0f–%.0f, without %.0f–%.0f: want a wider spread", wlo, whi, plo, phi)
	}
	t.Logf("ink (1st–99th percentile) with writers %.0f–%.0f, without %.0f–%.0f", wlo, whi, plo, phi)
}

// addSliver copies the neighbour's outermost ink columns to the edge,
// inset and shifted as asked, max-blended, and touches nothing else.
func TestAddSliver(t *testing.T) {
	const H, W = 6, 10
	nb := make([]uint8, H*W)
	for y := 1; y < 5; y++ {
		nb[y*W+3], nb[y*W+4], nb[y*W+5], nb[y*W+6] = 100, 150, 200, 250 // ink in columns 3–6
	}
	for _, tc := range []struct {
		left          bool
		w, inset, dy  int
		srcX, dstX, n int
	}{
		{true, 2, 0, 0, 5, 0, 2},   // the neighbour's right edge (5, 6) at our left edge
		{true, 3, 1, 1, 4, 1, 3},   // inset 1, one row down
		{false, 2, 2, -1, 3, 6, 2}, // its left edge (3, 4) at our right edge, inset 2, one row up
		{true, 9, 0, 0, 3, 0, 4},   // no wider than the neighbour's ink
	} {
		img := make([]float32, H*W)
		img[2*W+8] = 0.9 // our own ink stays
		addSliver(img, nb, H, W, tc.left, tc.w, tc.inset, tc.dy)
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				want := float32(0)
				if x >= tc.dstX && x < tc.dstX+tc.n && y-tc.dy >= 0 && y-tc.dy < H {
					want = float32(nb[(y-tc.dy)*W+tc.srcX+x-tc.dstX]) / 255
				}
				if y == 2 && x == 8 {
					want = max(want, 0.9)
				}
				if d := img[y*W+x] - want; d > 1e-6 || d < -1e-6 {
					t.Fatalf("%+v: pixel (%d, %d) = %v, want %v", tc, x, y, img[y*W+x], want)
				}
			}
		}
	}
	img := make([]float32, H*W)
	addSliver(img, make([]uint8, H*W), H, W, true, 3, 0, 0) // a blank neighbour adds nothing
	if slices.Max(img) != 0 {
		t.Fatal("a blank neighbour added ink")
	}
}
