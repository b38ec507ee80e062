package kernels

import (
	"math"
	"testing"

	"github.com/edgecnn/edgecnn/model"
	"github.com/edgecnn/edgecnn/runtime/qmath"
)

func TestOutSize(t *testing.T) {
	for _, c := range []struct {
		in, f, s    int
		pad         model.Padding
		out, before int
	}{
		{28, 3, 1, model.PadSame, 28, 1},
		{28, 2, 2, model.PadValid, 14, 0},
		{7, 3, 2, model.PadSame, 4, 1},
		{6, 3, 2, model.PadSame, 3, 0},
		{5, 5, 1, model.PadValid, 1, 0},
		{5, 2, 2, model.PadValid, 2, 0},
	} {
		out, before, err := OutSize(c.in, c.f, c.s, c.pad)
		if err != nil || out != c.out || before != c.before {
			t.Errorf("OutSize(%d,%d,%d,%d) = %d,%d,%v; want %d,%d", c.in, c.f, c.s, c.pad, out, before, err, c.out, c.before)
		}
	}
	if _, _, err := OutSize(2, 3, 1, model.PadValid); err == nil {
		t.Error("filter larger than input accepted")
	}
	if _, _, err := OutSize(2, 1, 0, model.PadValid); err == nil {
		t.Error("stride 0 accepted")
	}
}

// A 3×3 input, one channel, zp_in = 3, 2×2 filter, SAME padding (pads
// after: right/bottom), two output channels with multipliers 0.5 and 0.25.
func TestConvInt8Hand(t *testing.T) {
	x := []int8{
		1, 2, 3,
		4, 5, 6,
		7, 8, 9,
	}
	w := []int8{
		1, -1, // oc 0: [1 -1; 2 0]
		2, 0,
		0, 0, // oc 1: [0 0; 0 4]
		0, 4,
	}
	g := ConvGeom{N: 1, H: 3, W: 3, C: 1, OH: 3, OW: 3, OC: 2, KH: 2, KW: 2, SH: 1, SW: 1}
	m1, s1 := qmath.QuantizeMultiplier(0.5)
	m2, s2 := qmath.QuantizeMultiplier(0.25)
	rq := &Requant{Mult: []int32{m1, m2}, Shift: []int{s1, s2}, ZpOut: -10, Lo: -128, Hi: 127}
	out := make([]int8, 18)
	ConvInt8Ref(g, x, 3, w, []int32{5, -3}, rq, out)
	// x−zp: [-2 -1 0; 1 2 3; 4 5 6]; outside = 0.
	// oc0 at (0,0): 1·-2 − 1·-1 + 2·1 + 0 = 1, +5 = 6, ·0.5 = 3, −10 = −7.
	// oc0 at (2,2): 1·6 = 6 (others outside), +5 = 11, ·0.5 = 5.5 → 6 (away from zero), −10 = −4.
	// oc1 uses M = 2^30, shift −1 (0.25) and shows double rounding:
	// at (0,0): 4·2 − 3 = 5; SRDHM(5, 2^30) = round(2.5) = 3; 3/2 = 1.5 → 2; −10 = −8
	// (a single rounding of 1.25 would give 1).
	// at (1,1): 4·6 − 3 = 21 → round(10.5) = 11 → 5.5 → 6; −10 = −4.
	// at (2,2): −3 → SRDHM −1.5 → −1 (nudge 1−2^30, truncation) → −0.5 → −1 (ties away from zero); −10 = −11.
	for _, c := range []struct{ y, x, c, want int }{{0, 0, 0, -7}, {2, 2, 0, -4}, {0, 0, 1, -8}, {1, 1, 1, -4}, {2, 2, 1, -11}} {
		if got := out[(c.y*3+c.x)*2+c.c]; int(got) != c.want {
			t.Errorf("out[%d,%d,%d] = %d, want %d", c.y, c.x, c.c, got, c.want)
		}
	}
	// ReLU clamp: lo = zp_out.
	rq.Lo = -10
	ConvInt8Ref(g, x, 3, w, []int32{5, -3}, rq, out)
	if got := out[(2*3+2)*2+1]; got != -10 {
		t.Errorf("relu clamp: got %d, want -10", got)
	}
}

func TestFullyConnectedInt8Hand(t *testing.T) {
	x := []int8{-128, 127, 0, 10}
	w := []int8{1, 1, -127, 127}
	m, s := qmath.QuantizeMultiplier(1.0 / 64)
	rq := &Requant{Mult: []int32{m}, Shift: []int{s}, ZpOut: 0, Lo: -128, Hi: 127}
	out := make([]int8, 4)
	FullyConnectedInt8Ref(2, 2, 2, x, -1, w, []int32{100, 0}, rq, out)
	// row 0 (x−zp = −127, 128): o0 = −127+128+100 = 101 → 1.578 → 2; o1 = 127·127+127·128 = 32385 → 506.0 → 127 (clamped).
	// row 1 (1, 11): o0 = 12+100 = 112 → 1.75 → 2; o1 = −127+1397 = 1270 → 19.84 → 20.
	want := []int8{2, 127, 2, 20}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
}

func TestMaxPoolHand(t *testing.T) {
	x := []int8{
		1, -5, 3,
		-128, 2, 9,
		4, 4, -1,
	}
	g := ConvGeom{N: 1, H: 3, W: 3, C: 1, OH: 2, OW: 2, OC: 1, KH: 2, KW: 2, SH: 2, SW: 2} // SAME: window clipped
	out := make([]int8, 4)
	MaxPoolInt8Ref(g, x, -128, 127, out)
	want := []int8{2, 9, 4, -1}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("out = %v, want %v", out, want)
		}
	}
	xf := make([]float32, 9)
	for i, v := range x {
		xf[i] = float32(v)
	}
	of := make([]float32, 4)
	MaxPoolF32Ref(g, xf, model.ActReLU, of)
	for i, v := range []float32{2, 9, 4, 0} {
		if of[i] != v {
			t.Fatalf("float pool = %v", of)
		}
	}
}

func TestSoftmaxAndDequantize(t *testing.T) {
	out := make([]float32, 3)
	SoftmaxF32(1, 3, 1, []float32{1, 2, 3}, out)
	e1, e2, e3 := math.Exp(-2), math.Exp(-1), 1.0
	s := e1 + e2 + e3
	for i, w := range []float64{e1 / s, e2 / s, e3 / s} {
		if math.Abs(float64(out[i])-w) > 1e-6 {
			t.Fatalf("softmax %v", out)
		}
	}
	if got := Dequantize(-128, 0.5, -100); got != -14 {
		t.Errorf("Dequantize = %v", got)
	}
	m, sh := qmath.QuantizeMultiplier(1)
	if got := RequantizeValue(-128, -128, m, sh, 0, 0, 255); got != 0 {
		t.Errorf("int8→uint8 requantize -128 = %d", got)
	}
	if got := RequantizeValue(127, -128, m, sh, 0, 0, 255); got != 255 {
		t.Errorf("int8→uint8 requantize 127 = %d", got)
	}
}

func TestConvF32Hand(t *testing.T) {
	x := []float32{1, 2, 3, 4}
	g := ConvGeom{N: 1, H: 2, W: 2, C: 1, OH: 2, OW: 2, OC: 1, KH: 3, KW: 3, SH: 1, SW: 1, PadT: 1, PadL: 1}
	w := []float32{0, 0, 0, 0, 1, 1, 0, 1, 1} // sum of the 2×2 block at and after each pixel
	out := make([]float32, 4)
	ConvF32Ref(g, x, w, []float32{-20}, model.ActNone, out)
	for i, v := range []float32{-10, -14, -13, -16} {
		if out[i] != v {
			t.Fatalf("conv = %v", out)
		}
	}
	ConvF32Ref(g, x, w, []float32{-11}, model.ActReLU6, out)
	if out[0] != 0 || out[3] != 0 {
		t.Fatalf("relu6 conv = %v", out)
	}
}

// The three rounding rules on a negative tie: −6·0.25 = −1.5.
func TestRoundingRulesOnTies(t *testing.T) {
	m, s := qmath.QuantizeMultiplier(0.25) // M = 2^30, shift −1
	for _, c := range []struct {
		r    qmath.Rounding
		x    int32
		want int32
	}{
		{qmath.Double, -6, -2}, // SRDHM −3, then −1.5 away from zero
		{qmath.Ruy, -6, -1},    // SRDHM −3, then (−3+1)>>1: ties toward +inf
		{qmath.Single, -6, -1}, // one rounding of −1.5, ties up
		{qmath.Double, 6, 2},
		{qmath.Ruy, 6, 2},
		{qmath.Double, -5, -1}, // SRDHM(−5) = round(−2.5) = −2, −1
		{qmath.Ruy, -5, -1},
		{qmath.Single, -5, -1}, // −1.25 → −1
	} {
		if got := qmath.Mul(c.r, c.x, m, s); got != c.want {
			t.Errorf("%v: Mul(%d·0.25) = %d, want %d", c.r, c.x, got, c.want)
		}
	}
	// FP32 (XNNPACK): float32 product, ties to even.
	for x, want := range map[int32]int32{-6: -2, -10: -2, 6: 2, 10: 2, -5: -1, 7: 2} {
		if got := qmath.MulFP32(x, 0.25); got != want {
			t.Errorf("MulFP32(%d, 0.25) = %d, want %d", x, got, want)
		}
	}
	if got := qmath.MulFP32(math.MaxInt32, 4); got != math.MaxInt32 {
		t.Errorf("MulFP32 saturation: %d", got)
	}
}
