package preprocess

import (
	"image"
	"slices"
	"testing"
)

// testRow returns a Preprocessor whose working image (ww×wh) holds one
// cluster (id 0) made of the pixels set by set.
func testRow(ww, wh int) (*Preprocessor, func(x0, x1, y0, y1 int), *frameInfo) {
	p := &Preprocessor{
		labels: make([]int32, ww*wh),
		ink:    make([]uint8, ww*wh),
		cgroup: []int16{-1, 0},
	}
	set := func(x0, x1, y0, y1 int) {
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				p.labels[y*ww+x], p.ink[y*ww+x] = 1, 255
			}
		}
	}
	return p, set, &frameInfo{lum: image.NewGray(image.Rect(0, 0, ww, wh)), ww: ww, f: 1}
}

// Two slanted strokes that touch through a short bridge: the least-ink
// cut follows the slanted gap between them and crosses only the bridge,
// where any straight column cut would cross a stroke.
func TestLeastInkPathFollowsSlantedGap(t *testing.T) {
	const ww, wh = 60, 40
	p, set, fr := testRow(ww, wh)
	for y := 0; y < 30; y++ {
		sh := (30 - y) / 3 // leaning right: the top is 10 columns right of the bottom
		set(10+sh, 13+sh, 5+y, 5+y)
		set(24+sh, 27+sh, 5+y, 5+y)
	}
	set(14, 23, 30, 31) // the bridge: two rows at the bottom
	g := group{x0: 10, y0: 5, x1: 37, y1: 34, cl: 0}
	p.leastInkPath(g, 19, 8, fr)
	c := p.paths[0]
	if c.cost > 2.5 {
		t.Fatalf("cut crosses %.1f pixels of ink, want only the bridge (2)", c.cost)
	}
	for y := 5; y <= 34; y++ {
		x := p.pathAt(0, y)
		sh := (30 - (y - 5)) / 3
		if x <= 13+sh || x > 24+sh {
			t.Fatalf("row %d: cut at column %d, not between the strokes (%d..%d)", y, x, 14+sh, 24+sh)
		}
	}
	if !p.splitsTall(g, 0, fr) {
		t.Fatal("the cut between two full-height strokes does not split the cluster into two tall parts")
	}
}

// fivePieces sets p's pieces (row height 40) and their candidates:
// halves of one digit (pieces 0, 1), a speck (2) and two digits (3, 4),
// with scores that read them as such.
func fivePieces(p *Preprocessor) {
	for i, b := range [][4]int{{0, 0, 10, 39}, {11, 0, 20, 39}, {24, 30, 26, 32}, {30, 0, 45, 39}, {48, 0, 62, 39}} {
		p.pieces = append(p.pieces, piece{cl: i, lo: -1, hi: -1, x0: b[0], y0: b[1], x1: b[2], y1: b[3], ink: 100})
	}
	p.cands = []segCand{
		{i: 0, j: 0, score: -0.5}, {i: 0, j: 1, score: -0.01}, {i: 1, j: 1, score: -0.6},
		{i: 1, j: 2, score: -3}, {i: 2, j: 3, score: -2}, {i: 3, j: 3, score: -0.01},
		{i: 3, j: 4, score: -0.3}, {i: 4, j: 4, score: -0.02},
	}
}

// The dynamic program joins two halves of a digit, leaves out a speck
// and keeps two neighbouring digits apart, as their scores say.
func TestBestPartition(t *testing.T) {
	p := &Preprocessor{cfg: Config{}.withDefaults()}
	H := 40
	fivePieces(p)
	p.bestPartition(H, true, 0)
	var got [][2]int
	for _, g := range p.groups {
		got = append(got, [2]int{g.x0, g.x1})
	}
	want := [][2]int{{0, 20}, {30, 45}, {48, 62}}
	if len(got) != len(want) {
		t.Fatalf("digits %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("digits %v, want %v", got, want)
		}
	}
	// A digit-tall piece cannot be left out: without a candidate for
	// piece 3 alone nothing covers the row but the pair (3, 4).
	p.cands = append(p.cands[:5], segCand{i: 3, j: 4, score: -0.3})
	p.bestPartition(H, true, 0)
	if len(p.groups) != 2 || p.groups[1].x0 != 30 || p.groups[1].x1 != 62 {
		t.Fatalf("without a candidate for piece 3 alone: %+v", p.groups)
	}
	// A short piece with much ink (a 3's top bar cut off by a path) is
	// part of a digit: leaving it out costs more than reading the digit
	// with it, though the digit alone scores better.
	p.pieces = []piece{
		{cl: 0, lo: -1, hi: 0, x0: 0, y0: 0, x1: 12, y1: 12, ink: 255 * 130},
		{cl: 0, lo: 0, hi: -1, x0: 10, y0: 4, x1: 30, y1: 39, ink: 255 * 400},
	}
	p.cands = []segCand{{i: 0, j: 1, score: -0.6}, {i: 1, j: 1, score: -0.05}}
	p.bestPartition(H, true, 0)
	if len(p.groups) != 1 || p.groups[0].x0 != 0 {
		t.Fatalf("a short piece with much ink is left out: %+v", p.groups)
	}
}

// With the number's length known (Config.Digits) the dynamic program
// reads exactly that many digits when some partition has as many and
// scores within lengthMargin of the best, a pair read whole counting two,
// and its best partition otherwise.
func TestPartitionLength(t *testing.T) {
	p := &Preprocessor{cfg: Config{Multi: true}.withDefaults()}
	H := 40
	fivePieces(p)
	// pieces 3-4 may also be read whole as the pair 17
	c := &p.cands[6]
	c.pair, c.pairScore, c.first, c.second = true, -1, 1, 7
	boxes := func() (got [][2]int) {
		for _, g := range p.groups {
			got = append(got, [2]int{g.x0, g.x1})
		}
		return got
	}
	for _, tc := range []struct {
		digits int
		want   [][2]int
		pairs  int // halves of a pair read whole
	}{
		{0, [][2]int{{0, 20}, {30, 45}, {48, 62}}, 0},           // the best partition
		{3, [][2]int{{0, 20}, {30, 45}, {48, 62}}, 0},           // the same
		{4, [][2]int{{0, 10}, {11, 20}, {30, 45}, {48, 62}}, 0}, // the digit's halves apart
		{2, [][2]int{{0, 20}, {30, 62}}, 0},                     // pieces 3 and 4 as one digit
		{5, [][2]int{{0, 20}, {30, 45}, {48, 62}}, 0},           // none has five: the best one
	} {
		p.cfg.Digits = tc.digits
		p.partition(H)
		got := boxes()
		pairs := 0
		for _, g := range p.groups {
			pairs += int(b2u(g.half != 0))
		}
		if !slices.Equal(got, tc.want) || pairs != tc.pairs {
			t.Errorf("digits %d: %v (%d pair halves), want %v (%d)", tc.digits, got, pairs, tc.want, tc.pairs)
		}
	}
	// Four digits that need the halves of the first digit read at
	// p ≈ e⁻⁴ each score more than lengthMargin below the best three:
	// the best reading stands.
	p.cands[0].score, p.cands[2].score = -4, -4
	p.cfg.Digits = 4
	p.partition(H)
	if got := boxes(); !slices.Equal(got, [][2]int{{0, 20}, {30, 45}, {48, 62}}) {
		t.Errorf("four digits far below the best three: %v, want the best three", got)
	}
	p.cands[0].score, p.cands[2].score = -0.5, -0.6
	// Without a candidate for piece 3 alone, four digits are the halves
	// of the first digit and pieces 3-4 read whole as the pair 17 (which
	// scores better than pieces 2-3 and 4 as two digits).
	p.cands = append(p.cands[:5], p.cands[6:]...)
	p.cfg.Digits = 4
	p.partition(H)
	if got := boxes(); !slices.Equal(got, [][2]int{{0, 10}, {11, 20}, {30, 62}, {30, 62}}) || p.groups[2].half != 1 || p.groups[3].pairD != 7 {
		t.Errorf("four digits without piece 3 alone: %v %+v, want the halves of piece 0-1 and the pair 17", got, p.groups)
	}
}

// With a Judge a run of pieces may be read whole as a pair: two groups,
// halves of its box; a row read as nothing but one pair is read again
// without pairs.
func TestPartitionPair(t *testing.T) {
	p := &Preprocessor{cfg: Config{}.withDefaults()}
	H := 40
	// pieces: a digit (0), two touching digits that no cut separates (1, 2)
	for i, b := range [][4]int{{0, 0, 15, 39}, {20, 0, 35, 39}, {36, 0, 52, 39}} {
		p.pieces = append(p.pieces, piece{cl: i, lo: -1, hi: -1, x0: b[0], y0: b[1], x1: b[2], y1: b[3], ink: 100})
	}
	p.cands = []segCand{
		{i: 0, j: 0, score: -0.01},
		{i: 1, j: 1, score: -2}, {i: 2, j: 2, score: -2},
		{i: 1, j: 2, score: -5, pair: true, first: 4, second: 7, pairP: 0.9, pairScore: -1.2},
	}
	p.partition(H)
	type half struct {
		x0, x1   int
		half, d  int8
		pairProb float32
	}
	var got []half
	for _, g := range p.groups {
		got = append(got, half{g.x0, g.x1, g.half, g.pairD, g.pairP})
	}
	want := []half{{0, 15, 0, 0, 0}, {20, 52, 1, 4, 0.9}, {20, 52, 2, 7, 0.9}}
	if len(got) != len(want) {
		t.Fatalf("digits %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("digits %+v, want %+v", got, want)
		}
	}
	// The same pair scoring worse than its two pieces read apart.
	p.cands[3].pairScore = -4.5
	p.partition(H)
	if len(p.groups) != 3 || p.groups[1].half != 0 || p.groups[1].x1 != 35 {
		t.Fatalf("a pair that scores worse than its pieces is read whole: %+v", p.groups)
	}
	// Nothing but the pair in the row: read without pairs.
	p.pieces, p.cands = p.pieces[1:], []segCand{
		{i: 0, j: 0, score: -2}, {i: 1, j: 1, score: -2},
		{i: 0, j: 1, score: -5, pair: true, first: 4, second: 7, pairP: 0.9, pairScore: -1.2},
	}
	p.partition(H)
	for _, g := range p.groups {
		if g.half != 0 {
			t.Fatalf("a row of nothing but one pair is read as the pair: %+v", p.groups)
		}
	}
	if len(p.groups) != 2 {
		t.Fatalf("a row of nothing but one pair: %d digits (%+v), want its two pieces", len(p.groups), p.groups)
	}
}

// Reading a row by recognition allocates nothing per frame once the
// buffers have grown.
func TestSegmentRowNoAllocations(t *testing.T) {
	img, _ := digitFrame(640, 480, []int{3, 8, 4}, 120, 100, 160, 7)
	p, _ := New(Config{Multi: true})
	p.SetScorer(func(in []float32, n int, conf []float32) error {
		for i := range conf[:n] {
			conf[i] = 0.5 + 0.4*float32(i%2)
		}
		return nil
	})
	if _, err := p.Process(img); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { p.Process(img) }); n > 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}

// render's box average counts the pixels a block misses at the edge of
// the crop as paper: a crop one pixel wider than whole 2×2 blocks ends
// in a column of half-inked cells.
func TestInkCropEdgeBlocks(t *testing.T) {
	const w, h = 91, 80 // d = 2: 45 whole blocks and one of one column
	p := &Preprocessor{cfg: Config{}.withDefaults(), inkScale: 1}
	p.paper = make([]float32, w*h)
	for i := range p.paper {
		p.paper[i] = 1.0 / 255
	}
	p.mask2 = make([]uint8, w*h)
	for i := range p.mask2 {
		p.mask2[i] = 1
	}
	fr := &frameInfo{lum: image.NewGray(image.Rect(0, 0, w, h)), f: 1, ww: w, t: 128, dark: true}
	dw, dh, ok := p.inkCrop(cropBox{0, 0, w, h}, fr)
	if !ok || dw != 46 || dh != 40 {
		t.Fatalf("crop %dx%d ok %v, want 46x40", dw, dh, ok)
	}
	if v := p.crop[0]; v < 0.99 {
		t.Fatalf("whole block %v, want 1", v)
	}
	if v := p.crop[45]; v < 0.49 || v > 0.51 {
		t.Fatalf("edge block %v, want 0.5 (one inked column of two)", v)
	}
}

// The gap between two touching digits may run at a shallow slant (under
// a 7's bar): here it moves two columns per row for ten rows. The
// least-ink cut follows it, paying only segCross for the one pixel each
// step passes over (the two sides touch there), where a path of one
// column per row crosses a stroke in every row of the slant.
func TestLeastInkPathShallowGap(t *testing.T) {
	const ww, wh = 60, 40
	p, set, fr := testRow(ww, wh)
	gap := func(y int) int { return 15 + 2*clampi(y-15, 0, 10) } // the empty column of row y
	for y := 5; y <= 34; y++ {
		set(5, gap(y)-1, y, y)
		set(gap(y)+1, 50, y, y)
	}
	g := group{x0: 5, y0: 5, x1: 50, y1: 34, cl: 0}
	p.leastInkPath(g, 25, 15, fr)
	if c, want := p.paths[0].cost, 10*float32(segCross); c > want+1e-4 || c < want-1e-4 {
		t.Fatalf("cut crosses %.2f of ink, want %.2f (ten steps over one pixel)", c, want)
	}
	for y := 5; y <= 34; y++ {
		if x := p.pathAt(0, y); x != gap(y) {
			t.Fatalf("row %d: cut at column %d, want the gap %d", y, x, gap(y))
		}
	}
}

// A cut that would leave only a thin sliver of the cluster on one side,
// however tall, is not a split.
func TestSplitsTallSliver(t *testing.T) {
	const ww, wh = 60, 80
	p, set, fr := testRow(ww, wh)
	set(10, 39, 5, 74) // a solid block 30 columns wide, 70 rows tall
	g := group{x0: 10, y0: 5, x1: 39, y1: 74, cl: 0}
	// segMinInk·70² = 98 pixels: one column holds 70, two 140
	for _, tc := range []struct {
		col  int
		want bool
	}{{25, true}, {39, false}, {38, true}} {
		p.paths, p.pathX = p.paths[:0], p.pathX[:0]
		p.leastInkPath(g, tc.col, 0, fr)
		if got := p.splitsTall(g, 0, fr); got != tc.want {
			t.Errorf("cut at column %d: splits %v, want %v", tc.col, got, tc.want)
		}
	}
}
