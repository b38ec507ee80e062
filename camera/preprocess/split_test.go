package preprocess

import "testing"

// A narrow digit touching a wide one: the cluster's projection minimum
// lies outside the window around its middle that cut searches, and
// altCuts offers it (deepest first) as another place to cut in two.
func TestAltCutsFindsOffCentreMinimum(t *testing.T) {
	const ww, wh = 60, 30
	p := &Preprocessor{
		labels: make([]int32, ww*wh),
		ink:    make([]uint8, ww*wh),
		cgroup: []int16{-1, 0},
	}
	set := func(x0, x1, y0, y1 int) {
		for y := y0; y <= y1; y++ {
			for x := x0; x <= x1; x++ {
				p.labels[y*ww+x], p.ink[y*ww+x] = 1, 200
			}
		}
	}
	set(5, 7, 2, 27)   // a "1": three columns, full height
	set(8, 13, 14, 15) // the stroke that joins it to the next digit
	set(14, 39, 2, 27) // a wide blob
	g := group{x0: 5, y0: 2, x1: 39, y1: 27, cl: 0}
	own := p.cut(g, 2, ww, nil)
	if len(own) != 2 || own[1].x0 < 14 {
		t.Fatalf("cut's own middle cut at %v: the test wants it inside the wide blob", own)
	}
	var buf [altCuts]int
	alts := p.altCuts(g, ww, buf[:0])
	if len(alts) == 0 {
		t.Fatal("altCuts: no other cut")
	}
	if alts[0] < 8 || alts[0] > 13 {
		t.Fatalf("deepest other cut at column %d, want it on the joining stroke (8..13); all %v", alts[0], alts)
	}
	for _, c := range alts {
		if c-g.x0 < g.w()*altCutLo/100 || c == own[1].x0 {
			t.Fatalf("cut %d: within %d%% of the edge or cut's own", c, altCutLo)
		}
	}
}
