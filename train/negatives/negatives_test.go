package negatives

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/edgecnn/edgecnn/train/mnist"
)

var (
	genOnce sync.Once
	gen     *Generator
	genErr  error
)

// digits is a generator fed with the first 2,000 MNIST training digits.
func digits(t *testing.T) *Generator {
	t.Helper()
	dir := testenv.MNISTDir(t)
	genOnce.Do(func() {
		set, err := mnist.LoadSet(dir, mnist.TrainImages, mnist.TrainLabels, 60000)
		if err != nil {
			genErr = err
			return
		}
		gen, genErr = New(set.Images[:2000*Size*Size], set.Labels[:2000])
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	return gen
}

func TestDeterministic(t *testing.T) {
	g := digits(t)
	a, b := make([]uint8, Size*Size), make([]uint8, Size*Size)
	differ := 0
	for i := uint64(0); i < 200; i++ {
		ka := g.Render(5, i, a)
		kb := g.Render(5, i, b)
		if ka != kb || !bytes.Equal(a, b) {
			t.Fatalf("image %d: two renders of the same (seed, index) differ", i)
		}
		g.Render(6, i, b)
		if !bytes.Equal(a, b) {
			differ++
		}
	}
	if differ < 190 {
		t.Fatalf("only %d of 200 images change with the seed", differ)
	}
}

// moments returns the ink mass, its centre and bounding box (pixels > 40).
func moments(img []uint8) (mass, cx, cy float64, x0, y0, x1, y1 int) {
	x0, y0, x1, y1 = Size, Size, -1, -1
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			v := float64(img[y*Size+x])
			mass += v
			cx += v * (float64(x) + 0.5)
			cy += v * (float64(y) + 0.5)
			if img[y*Size+x] > 40 {
				x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x), max(y1, y)
			}
		}
	}
	if mass > 0 {
		cx, cy = cx/mass, cy/mass
	}
	return
}

// Every kind appears; drawn kinds have ink, fit MNIST's 20-pixel box (plus
// anti-aliasing) and have their centre of mass at the image centre.
func TestSanity(t *testing.T) {
	g := digits(t)
	img := make([]uint8, Size*Size)
	count := map[Kind]int{}
	for i := uint64(0); i < 1200; i++ {
		k := g.Render(11, i, img)
		count[k]++
		mass, cx, cy, x0, y0, x1, y1 := moments(img)
		if k == Paper {
			continue // blank paper has (almost) no ink on purpose
		}
		if mass < 255*8 {
			t.Fatalf("image %d (%v): ink %.0f, want at least 8 full pixels", i, k, mass/255)
		}
		if w, h := x1-x0+1, y1-y0+1; max(w, h) > 23 {
			t.Fatalf("image %d (%v): ink box %dx%d exceeds the 20-pixel box", i, k, w, h)
		}
		if math.Abs(cx-14) > 2 || math.Abs(cy-14) > 2 {
			t.Fatalf("image %d (%v): centre of mass (%.1f, %.1f), want (14, 14)", i, k, cx, cy)
		}
	}
	for _, k := range Kinds() {
		if count[k] < 30 {
			t.Errorf("kind %v drawn %d times in 1200", k, count[k])
		}
	}
	t.Logf("kinds: %v", count)
}

func TestEveryKindDraws(t *testing.T) {
	g := digits(t)
	img := make([]uint8, Size*Size)
	for _, k := range Kinds() {
		r := rand.New(rand.NewPCG(1, uint64(k)))
		for i := 0; i < 50; i++ {
			g.RenderKind(k, r, img)
			if mass, _, _, _, _, _, _ := moments(img); k != Paper && mass < 255*8 {
				t.Fatalf("%v #%d: no ink", k, i)
			}
		}
	}
	if Kind(99).String() != "Kind(99)" || Letter.String() != "letter" {
		t.Fatal("Kind.String")
	}
}

func TestNoDigits(t *testing.T) {
	g, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := make([]uint8, Size*Size)
	for i := uint64(0); i < 300; i++ {
		if k := g.Render(1, i, img); k == Fragment || k == Touching {
			t.Fatalf("kind %v needs digits", k)
		}
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(make([]uint8, 100), []uint8{1}); err == nil {
		t.Fatal("100 bytes for one image accepted")
	}
	if _, err := New(make([]uint8, Size*Size), []uint8{12}); err == nil {
		t.Fatal("label 12 accepted")
	}
}

// A box negative is never taller than wide by much: a tall rectangle is a
// seven-segment 0, not a non-digit (as a plain circle or oval is a 0).
func TestBoxesAreNotZeros(t *testing.T) {
	img := make([]uint8, Size*Size)
	for _, idx := range []int{0, 19} { // box, nested boxes
		r := rand.New(rand.NewPCG(2, uint64(idx)))
		for i := 0; i < 200; i++ {
			c := newCanvas(r)
			c.glyph(r, shapes[idx])
			c.mnistStyle(img)
			_, _, _, x0, y0, x1, y1 := moments(img)
			if w, h := x1-x0+1, y1-y0+1; float64(w) < 0.75*float64(h) {
				t.Fatalf("shape %d #%d: ink box %dx%d is a tall rectangle (a 0)", idx, i, w, h)
			}
		}
	}
}
