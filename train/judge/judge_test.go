package judge

import (
	"context"
	"image"
	"image/png"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/train/data"
)

func TestLabel(t *testing.T) {
	// Three digits 20×30 side by side, 2 pixels apart: "472".
	boxes := []image.Rectangle{image.Rect(0, 0, 20, 30), image.Rect(22, 0, 42, 30), image.Rect(44, 0, 64, 30)}
	cases := []struct {
		name  string
		c     image.Rectangle
		label string
		ok    bool
	}{
		{"one digit", image.Rect(1, 0, 20, 30), "4", true},
		{"the last digit", image.Rect(44, 1, 64, 30), "2", true},
		{"a pair", image.Rect(0, 0, 42, 30), "47", true},
		{"the second pair", image.Rect(21, 0, 64, 30), "72", true},
		{"a pair cut short", image.Rect(0, 0, 34, 30), "", false},
		{"three digits", image.Rect(0, 0, 64, 30), "x", true},
		{"a fragment", image.Rect(2, 2, 14, 14), "x", true},
		{"a stick-like fragment (a fair 1)", image.Rect(8, 0, 13, 26), "", false},
		{"between two digits", image.Rect(12, 0, 30, 30), "", false},
		{"one digit and a piece of the next", image.Rect(0, 0, 30, 30), "", false},
		{"empty", image.Rectangle{}, "", false},
	}
	for _, c := range cases {
		label, ok := Label(c.c, boxes, "472")
		if label != c.label || ok != c.ok {
			t.Errorf("%s %v: got %q %v, want %q %v", c.name, c.c, label, ok, c.label, c.ok)
		}
	}
	if _, ok := Label(image.Rect(0, 0, 20, 30), boxes, "47"); ok {
		t.Error("boxes and text of different lengths: labelled")
	}
}

func TestWriteIsDeterministic(t *testing.T) {
	root := testenv.RepoRoot(t)
	o := Options{Data: testenv.MNISTDir(t), Model: filepath.Join(root, "models", "mnist.ckpt"), N: 6, First: 3,
		Odometer: 0.3, Touching: 0.7, Digits: 58000, Seed: 5, Threads: 2}
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	o.Out = a
	sa, err := Write(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Out, o.Threads = b, 1
	sb, err := Write(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if sa != sb {
		t.Errorf("stats differ with 2 threads and 1: %+v, %+v", sa, sb)
	}
	fa, fb := files(t, a), files(t, b)
	if len(fa) != sa.Digits+sa.Pairs+sa.Rejects || sa.Digits == 0 || sa.Pairs+sa.Rejects == 0 {
		t.Errorf("%d files for %+v", len(fa), sa)
	}
	if !maps.Equal(fa, fb) {
		t.Error("the same options wrote different folders")
	}
	for name := range fa {
		if l := filepath.Dir(name); !slices.Contains(data.ClassLabels, l) {
			t.Errorf("%s: folder %q is no class label", name, l)
		}
	}
	// A folder that exists is never written into.
	o.Out = a
	if _, err := Write(context.Background(), o); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("existing --out: got %v", err)
	}
	for _, bad := range []func(*Options){
		func(o *Options) { o.N = 0 },
		func(o *Options) { o.First = -1 },
		func(o *Options) { o.Touching = 1.5 },
		func(o *Options) { o.Odometer = -0.1 },
		func(o *Options) { o.Odometer, o.SevenSeg = 0.6, 0.6 },
		func(o *Options) { o.Digits = 70000 },
		func(o *Options) { o.Threads = 0 },
	} {
		c := o
		c.Out = filepath.Join(t.TempDir(), "c")
		bad(&c)
		if _, err := Write(context.Background(), c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// files maps label/name to content under dir.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		m[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestShippedJudge checks models/judge.ckpt on the candidates of photos it
// was not trained on (seed 77): it must tell one digit from two.
func TestShippedJudge(t *testing.T) {
	root := testenv.RepoRoot(t)
	dir := filepath.Join(t.TempDir(), "cands")
	o := Options{Data: testenv.MNISTDir(t), Model: filepath.Join(root, "models", "mnist.ckpt"), Out: dir, N: 40,
		Odometer: 0.1, Touching: 0.7, Digits: 58000, Seed: 77, Threads: 2}
	st, err := Write(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := runtime.Open("native", filepath.Join(root, "models", "judge.ckpt"), runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	norm, err := model.NormFromMetadata(eng.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	probs := runtime.ScoresAreProbabilities(eng.Metadata())
	labels := strings.Split(eng.Metadata()[model.MetaLabels], ",")
	if len(labels) != 111 || labels[10] != "x" || labels[11] != "00" || labels[110] != "99" {
		t.Fatalf("labels %v", labels)
	}
	one := map[string][]float64{} // p(one digit) by kind of candidate
	right, n := 0, 0
	out := make([]float32, len(labels))
	in := make([]float32, 28*28)
	for name, content := range files(t, dir) {
		img, err := png.Decode(strings.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		g := img.(*image.Gray)
		for i, v := range g.Pix {
			in[i] = (float32(v)/255 - norm.Mean) / norm.Std
		}
		if err := eng.Run(context.Background(), in, 1, out); err != nil {
			t.Fatal(err)
		}
		var z, zs float64
		best, m := 0, slices.Max(out)
		for k, v := range out {
			e := float64(v)
			if !probs {
				e = math.Exp(float64(v - m)) // logits: softmax
			}
			z += e
			if k < 10 {
				zs += e
			}
			if v > out[best] {
				best = k
			}
		}
		label := filepath.Dir(name)
		kind := "pair"
		switch {
		case label == data.RejectLabel:
			kind = "x"
		case len(label) == 1:
			kind = "digit"
		}
		one[kind] = append(one[kind], zs/z)
		if labels[best] == label {
			right++
		}
		n++
	}
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	t.Logf("%+v: %d of %d candidates classified right; mean p(one digit): digits %.3f, pairs %.3f, x %.3f",
		st, right, n, mean(one["digit"]), mean(one["pair"]), mean(one["x"]))
	if len(one["digit"]) < 50 || len(one["pair"]) < 30 {
		t.Fatalf("too few candidates: %d digits, %d pairs", len(one["digit"]), len(one["pair"]))
	}
	if d, p, x := mean(one["digit"]), mean(one["pair"]), mean(one["x"]); d < 0.85 || p > 0.15 || x > 0.3 {
		t.Errorf("mean p(one digit): digits %.3f (want ≥ 0.85), pairs %.3f (≤ 0.15), x %.3f (≤ 0.3)", d, p, x)
	}
	if float64(right) < 0.75*float64(n) {
		t.Errorf("%d of %d candidates classified right (want ≥ 75 %%)", right, n)
	}
}
