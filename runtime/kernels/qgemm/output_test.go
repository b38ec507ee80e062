package qgemm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgecnn/edgecnn/runtime/qmath"
)

// TestOutputStageEqualsReference compares the selected output stage with
// its Go reference (qmath) on random and extreme accumulators, multipliers
// and shifts, with guard bytes after the output.
func TestOutputStageEqualsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	acc := func() int32 {
		switch r.IntN(6) {
		case 0:
			return []int32{math.MinInt32, math.MaxInt32, 0, -1, 1, math.MinInt32 + 1}[r.IntN(6)]
		case 1:
			return int32(r.Uint32())
		default:
			return int32(r.IntN(1<<20) - 1<<19)
		}
	}
	seen := map[string]bool{}
	for it := 0; it < 1500; it++ {
		n := 1 + r.IntN(70)
		per := r.IntN(3) == 0
		nm := n
		if per {
			nm = 1
		}
		bias := make([]int32, n)
		mult := make([]int32, nm)
		shift := make([]int, nm)
		scale := make([]float32, nm)
		for i := range bias {
			bias[i] = int32(r.IntN(1<<16) - 1<<15)
		}
		for i := range mult {
			real := math.Exp(-r.Float64() * 20)
			if r.IntN(10) == 0 {
				real = math.Ldexp(0.5+r.Float64()/2, -r.IntN(32)) // shifts down to −31
			}
			mult[i], shift[i] = qmath.QuantizeMultiplier(real)
			scale[i] = float32(real)
		}
		zp := int32(r.IntN(256) - 128)
		lo, hi := int32(-128), int32(127)
		if r.IntN(2) == 0 {
			lo = zp
		}
		rd := qmath.Rounding(r.IntN(4))
		o, err := NewOutputStage(n, bias, mult, shift, scale, zp, lo, hi, rd)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range outputVariants(o) {
			seen[o.Kernel()] = true
			np := (n + 15) &^ 15
			rows := make([][]int32, 4)
			for k := range rows {
				rows[k] = make([]int32, np)
				for i := range rows[k] {
					rows[k][i] = acc()
				}
			}
			const guard = 16
			got := make([]int8, n+guard)
			want := make([]int8, n)
			for i := range got {
				got[i] = 0x5a
			}
			o.Max4(rows[0], rows[1], rows[2], rows[3], got)
			o.max4Go(rows[0], rows[1], rows[2], rows[3], want)
			for i := 0; i < n; i++ {
				if got[i] != want[i] {
					t.Fatalf("%s n=%d channel %d: got %d, want %d (acc %d,%d,%d,%d bias %d M %d shift %d)", o.Kernel(), n, i, got[i], want[i],
						rows[0][i], rows[1][i], rows[2][i], rows[3][i], o.Bias[i], o.Mult[i], o.Shift[i])
				}
			}
			for i := n; i < len(got); i++ {
				if got[i] != 0x5a {
					t.Fatalf("%s n=%d: wrote past the output (byte %d)", o.Kernel(), n, i)
				}
			}

			// Pool2x2 over a block of GEMM rows: each pooled pixel equals
			// max4Go of its four rows; bytes between and after outputs stay.
			count := 1 + r.IntN(9)
			ldc := np + 16*r.IntN(2)
			rowW := 2*count + r.IntN(3)
			c := make([]int32, (rowW+2*count)*ldc)
			for i := range c {
				c[i] = acc()
			}
			ostride := n + r.IntN(5)
			pg := make([]int8, (count-1)*ostride+n+guard)
			for i := range pg {
				pg[i] = 0x5a
			}
			o.Pool2x2(c, ldc, rowW, count, pg, ostride)
			for p := 0; p < count; p++ {
				o.max4Go(c[(2*p)*ldc:], c[(2*p+1)*ldc:], c[(rowW+2*p)*ldc:], c[(rowW+2*p+1)*ldc:], want)
				for i := 0; i < n; i++ {
					if pg[p*ostride+i] != want[i] {
						t.Fatalf("%s Pool2x2 n=%d count=%d pixel %d channel %d: got %d, want %d", o.Kernel(), n, count, p, i, pg[p*ostride+i], want[i])
					}
				}
				end := len(pg)
				if p+1 < count {
					end = (p + 1) * ostride
				}
				for i := p*ostride + n; i < end; i++ {
					if pg[i] != 0x5a {
						t.Fatalf("%s Pool2x2 n=%d count=%d: byte %d after pixel %d overwritten", o.Kernel(), n, count, i-p*ostride-n, p)
					}
				}
			}

			// Rows: row p of c (stride ldc) equals max4Go of that row alone.
			for i := range pg {
				pg[i] = 0x5a
			}
			o.Rows(c, ldc, count, pg, ostride)
			for p := 0; p < count; p++ {
				row := c[p*ldc:]
				o.max4Go(row, row, row, row, want)
				for i := 0; i < n; i++ {
					if pg[p*ostride+i] != want[i] {
						t.Fatalf("%s Rows n=%d count=%d row %d channel %d: got %d, want %d", o.Kernel(), n, count, p, i, pg[p*ostride+i], want[i])
					}
				}
				end := len(pg)
				if p+1 < count {
					end = (p + 1) * ostride
				}
				for i := p*ostride + n; i < end; i++ {
					if pg[i] != 0x5a {
						t.Fatalf("%s Rows n=%d count=%d: byte %d after row %d overwritten", o.Kernel(), n, count, i-p*ostride-n, p)
					}
				}
			}
		}
	}
	t.Logf("output stages compared: %v", seen)
	for _, k := range outputKernels {
		if !seen[k.name] {
			t.Fatalf("vector output stage %s never compared", k.name)
		}
	}
}

// outputVariants is o with each vector kernel this CPU can run, or o
// alone when it uses max4Go.
func outputVariants(o *OutputStage) []*OutputStage {
	if o.kern.fn == nil {
		return []*OutputStage{o}
	}
	var os []*OutputStage
	for _, k := range outputKernels {
		c := *o
		c.kern = k
		os = append(os, &c)
	}
	return os
}

// TestVecParamsFormula checks the one-rounding formula of vecParams in Go,
// independently of the assembly: (x·M + K − [x·M < 0]·A) >> S equals
// qmath.Mul for random and extreme x over the whole int32 range, any
// multiplier M in [0, 2^31) (also below 2^30, where x·M ∈ [−2^30, 0)
// happens) and every shift 0…−31, for both rounding rules.
func TestVecParamsFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, rd := range []qmath.Rounding{qmath.Double, qmath.Ruy} {
		for it := 0; it < 200000; it++ {
			e := r.IntN(32)
			m := int32(r.Uint32() >> 1)
			if it%3 == 0 {
				m = int32(r.Int64N(int64(1) << (1 + r.IntN(31))))
			}
			x := int32(r.Uint32())
			switch it % 5 {
			case 0:
				x = []int32{math.MinInt32, math.MaxInt32, 0, -1, 1}[r.IntN(5)]
			case 1:
				x = int32(r.IntN(1<<12) - 1<<11)
			}
			o, err := NewOutputStage(1, []int32{0}, []int32{m}, []int{-e}, []float32{1}, 0, math.MinInt32, math.MaxInt32, rd)
			if err != nil {
				t.Fatal(err)
			}
			q := o.vecParams()
			p := int64(x) * int64(q[0])
			v := p + q[8]
			if p < 0 {
				v -= q[16]
			}
			got := int32(v >> q[24])
			if want := qmath.Mul(rd, x, m, -e); got != want {
				t.Fatalf("%v x=%d M=%d e=%d: formula %d, qmath.Mul %d", rd, x, m, e, got, want)
			}
		}
	}
}

// BenchmarkOutputStage times each output stage the CPU can run, and the
// qmath reference (max4Go), on conv2's pooled row of the seed CNN: 7
// pooled pixels of 64 channels from 2×14 GEMM rows.
func BenchmarkOutputStage(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	const n, count, rowW = 64, 7, 14
	bias := make([]int32, n)
	mult := make([]int32, n)
	shift := make([]int, n)
	for i := range mult {
		mult[i], shift[i] = qmath.QuantizeMultiplier(math.Exp(-4 - 4*r.Float64()))
	}
	o, err := NewOutputStage(n, bias, mult, shift, nil, -128, -128, 127, qmath.Double)
	if err != nil {
		b.Fatal(err)
	}
	c := make([]int32, 2*rowW*n)
	for i := range c {
		c[i] = int32(r.IntN(1<<16) - 1<<15)
	}
	out := make([]int8, count*n)
	ref := *o
	ref.kern = outputKernel{}
	for _, v := range append(outputVariants(o), &ref) {
		b.Run(v.Kernel(), func(b *testing.B) {
			for b.Loop() {
				v.Pool2x2(c, n, rowW, count, out, n)
			}
		})
	}
}
