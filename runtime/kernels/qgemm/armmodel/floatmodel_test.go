package armmodel

import (
	"strings"
	"testing"
)

// TestFloatInnerLoopsAsGenerated: the depth loops of the float kernels hold
// what internal/sgemm/gen_arm64.go writes (counted by hand from it).
func TestFloatInnerLoopsAsGenerated(t *testing.T) {
	ks, _ := loadFloat(t)
	for _, c := range []struct {
		kernel, seg                string
		instr, simd, loads, lbytes int64
	}{
		// 4-register B load (64 B), 4 A values (16 B), FMOVD 2 A values
		// (8 B), ADD, 24 FMLA, SUBS, BNE.
		{"kernelAsm", "loop", 3 + 1 + 24 + 2, 24, 3, 64 + 16 + 8},
		// FMOVS a[p] (4 B), ADD, 4 × (64-byte panel load + 4 FMLA), SUBS, BNE.
		{"kernel1x64Asm", "loop1", 2 + 4*5 + 2, 16, 5, 4 + 4*64},
	} {
		s := seg(t, ks, c.kernel, c.seg)
		if s.Instr != c.instr || s.SIMD != c.simd || s.Loads != c.loads || s.LoadBytes != c.lbytes || s.Stores != 0 {
			t.Errorf("%s %s: %+v, want instr %d simd %d loads %d (%d bytes), no store", c.kernel, c.seg, s.Counts, c.instr, c.simd, c.loads, c.lbytes)
		}
	}
	if s := seg(t, ks, "kernelAsm", "store"); s.Stores != 6 || s.StoreBytes != 6*64 {
		t.Errorf("kernelAsm store: %+v, want six 64-byte stores", s.Counts)
	}
}

// TestFloatCallsClosedForm: for GEMMs of many shapes (several depth
// slices, edge rows and columns, one row), the SIMD instructions and bytes
// stored over GemmPackedCalls equal a closed form derived from sgemm's
// blocking: per 6×16 tile and depth slice 24 VEOR + 24 FMLA per depth
// (+ 24 FADD when a whole tile adds to C), 384 bytes stored; per group of
// four panels of a single row 16 VEOR + 16 FMLA per depth (+ 16 FADD).
func TestFloatCallsClosedForm(t *testing.T) {
	ks, _ := loadFloat(t)
	for _, s := range []Shape{{2, 1, 1}, {6, 9, 32}, {7, 300, 17}, {112, 9, 32}, {84, 288, 64}, {150, 600, 48}, {1, 3136, 128}, {1, 128, 10}, {1, 700, 80}} {
		var simd, stored, fma int64
		slices := (s.K + 255) / 256
		for i := 0; i < slices; i++ {
			kcb := int64(kstep(s.K))
			if i == slices-1 {
				kcb = int64(s.K - (slices-1)*kstep(s.K))
			}
			if s.Rows == 1 {
				g := int64(s.N / 64)
				simd += g * (16 + 16*kcb)
				fma += g * 16 * kcb
				if i > 0 {
					simd += g * 16
				}
				stored += g * 256
				continue
			}
			for ic := 0; ic < s.Rows; ic += 144 {
				mcb := min(144, s.Rows-ic)
				tiles := int64((mcb+5)/6) * int64((s.N+15)/16)
				simd += tiles * (24 + 24*kcb)
				fma += tiles * 24 * kcb
				if i > 0 {
					simd += int64(mcb/6) * int64(s.N/16) * 24
				}
				stored += tiles * 384
			}
		}
		calls, goMACs := GemmPackedCalls(s.Rows, s.K, s.N, true)
		c, err := ks.CountCalls(calls)
		if err != nil {
			t.Fatal(err)
		}
		if c.SIMD != simd || c.StoreBytes != stored {
			t.Errorf("%v: SIMD %d stored %d, want %d and %d", s, c.SIMD, c.StoreBytes, simd, stored)
		}
		// Every multiply-add of the GEMM is in an FMLA lane (4 per FMLA)
		// or left to Go.
		if pad := int64((s.N+15)/16*16) * int64(s.K) * int64(s.Rows); s.Rows == 1 && 4*fma+goMACs != pad {
			t.Errorf("%v: %d FMLA lanes + %d Go MACs, want %d", s, 4*fma, goMACs, pad)
		}
	}
}

// TestFloatCountFollowsAssembly: one more instruction in the generated
// depth loop adds exactly one per depth step of every call; a loop the
// rules do not know is an error.
func TestFloatCountFollowsAssembly(t *testing.T) {
	ks, srcs := loadFloat(t)
	src := srcs[0]
	layers := SeedFloatGEMMLayers()
	base, _, err := ks.FloatInference(layers, true)
	if err != nil {
		t.Fatal(err)
	}
	var steps int64 // depth-loop trips of kernelAsm over the inference
	for _, l := range layers {
		for _, m := range l.Rows {
			calls, _ := GemmPackedCalls(m, l.K, l.N, true)
			for _, c := range calls {
				if c.Kernel == "kernelAsm" {
					steps += int64(c.KC) * c.Times
				}
			}
		}
	}
	extra := "\tWORD $0x4f841008 // FMLA V8.4S, V0.4S, V4.S[0]\n"
	changed, err := Parse(strings.Replace(src, "\tSUBS   $1, R3, R3\n", extra+"\tSUBS   $1, R3, R3\n", 1))
	if err != nil {
		t.Fatal(err)
	}
	changed["convPool1Asm"] = ks["convPool1Asm"]
	more, _, err := changed.FloatInference(layers, true)
	if err != nil {
		t.Fatal(err)
	}
	if steps == 0 || more.SIMD-base.SIMD != steps || more.Instr-base.Instr != steps {
		t.Errorf("extra FMLA: SIMD %d → %d, instr %d → %d, want +%d each", base.SIMD, more.SIMD, base.Instr, more.Instr, steps)
	}
	bad, err := Parse(strings.Replace(src, "loop:\n", "extra:\n\tSUBS $1, R9, R9\n\tBNE extra\nloop:\n", 1))
	bad["convPool1Asm"] = ks["convPool1Asm"]
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bad.FloatInference(layers, true); err == nil || !strings.Contains(err.Error(), "extra") {
		t.Fatalf("unknown segment: err = %v", err)
	}
}

// TestFloatUnits: the work units follow the engine's fused conv+pool
// split (128 GEMM rows at most, whole pooled rows).
func TestFloatUnits(t *testing.T) {
	l := SeedFloatLayers()
	sum := func(r []int) (n int) {
		for _, v := range r {
			n += v
		}
		return n
	}
	if sum(l[0].Rows) != 28*28 || sum(l[1].Rows) != 14*14 || len(l[0].Rows) != 7 || len(l[1].Rows) != 2 {
		t.Errorf("units %v %v", l[0].Rows, l[1].Rows)
	}
	for _, r := range append(l[0].Rows, l[1].Rows...) {
		if r > 128 {
			t.Errorf("unit of %d rows", r)
		}
	}
}

// TestConvPoolCounts: the conv + pool kernel's depth loops hold what
// runtime/native/gen_convpool_arm64.go writes; over the seed CNN its FMLA
// lanes are exactly the convolutions' multiply-adds (every conv pixel is
// in one pooled window), and its SIMD instructions and bytes stored follow
// a closed form; one more FMLA in the four-depth loop adds one per trip.
func TestConvPoolCounts(t *testing.T) {
	ks, srcs := loadFloat(t)
	// Four depths: 4 window loads (16 B each), 4 × (64-byte weight load,
	// ADD, 16 FMLA), SUBS, BNE. One depth: 4 window loads (4 B each), the
	// weight load, ADD, 16 FMLA, SUBS, BNE.
	if s := seg(t, ks, "convPool1Asm", "k4"); s.Instr != 4+4*18+2 || s.SIMD != 64 || s.Loads != 8 || s.LoadBytes != 4*16+4*64 || s.Stores != 0 {
		t.Errorf("convPool1Asm k4: %+v", s.Counts)
	}
	if s := seg(t, ks, "convPool1Asm", "one"); s.Instr != 4+1+1+16+2 || s.SIMD != 16 || s.Loads != 5 || s.LoadBytes != 4*4+64 || s.Stores != 0 {
		t.Errorf("convPool1Asm one: %+v", s.Counts)
	}
	if s := seg(t, ks, "convPool1Asm", "next#1"); s.Stores != 1 || s.StoreBytes != 64 || s.SIMD != 2+4*11 {
		t.Errorf("convPool1Asm epilogue: %+v, want 46 SIMD (2 DUP, 4 × (5 FCMGT+BSL pairs + FADD)) and one 64-byte store", s.Counts)
	}
	var macs, steps, steps4, calls int64
	var cps []FloatLayer
	for _, l := range SeedFloatLayers() {
		if cp := l.ConvPool; cp != nil {
			cps = append(cps, l)
			n := int64(cp.Pixels) * int64(l.N/32) // calls
			calls += n
			macs += int64(4*cp.Pixels) * int64(l.K) * int64(l.N)
			steps += n * 2 * int64(cp.Taps*cp.KC)
			steps4 += n * 2 * int64(cp.Taps*(cp.KC/4))
		}
	}
	if len(cps) != 2 || macs != 28*28*9*32+14*14*288*64 {
		t.Fatalf("conv + pool layers %v, %d MACs", cps, macs)
	}
	c, _, err := ks.FloatInference(cps, true)
	if err != nil {
		t.Fatal(err)
	}
	// Every depth is 16 FMLA of 4 lanes, all SIMD besides 16 VEOR per half
	// and the epilogue.
	if 4*16*steps != macs {
		t.Errorf("FMLA lanes %d, want the convolutions' %d MACs", 4*16*steps, macs)
	}
	if want := calls*2*(16+46) + 16*steps; c.SIMD != want || c.StoreBytes != calls*128 {
		t.Errorf("SIMD %d stored %d, want %d and %d", c.SIMD, c.StoreBytes, want, calls*128)
	}
	extra := "\tWORD $0x4f841010 // FMLA V16.4S, V0.4S, V4.S[0]\n"
	changed, err := Parse(strings.Replace(srcs[1], "\tSUBS   $1, R5, R5\n", extra+"\tSUBS   $1, R5, R5\n", 1))
	if err != nil {
		t.Fatal(err)
	}
	more, _, err := changed.FloatInference(cps, true)
	if err != nil {
		t.Fatal(err)
	}
	if steps4 == 0 || more.SIMD-c.SIMD != steps4 {
		t.Errorf("extra FMLA: SIMD %d → %d, want +%d", c.SIMD, more.SIMD, steps4)
	}
}
