// Package armmodel counts, per inference, the instructions and the load /
// store traffic of edgecnn's arm64 int8 GEMM kernels and of the float
// engine's NEON kernels, for boards that cannot be timed here (qemu-user
// runs them, but its speed means nothing).
//
// Method: the generated assembly (runtime/kernels/qgemm/gemm_arm64.s and
// output_arm64.s for int8, internal/sgemm/kernel_arm64.s for float) is split into
// straight-line segments: a segment starts at a label or after a
// conditional branch (B.cond, CBZ, CBNZ). Each segment's instructions are
// counted by class (SIMD, load, store, scalar/branch) and its load/store
// bytes are read off the operands (VLD1 / VST1: 16 bytes per register of
// the list; VLD1R: one element; FMOVS / FMOVD to or from memory: 4 / 8
// bytes; MOVD / MOVB of a register to memory: 8 / 1). Each segment runs a known number of times, given by the loop
// structure that gen_arm64.go writes (Trips: e.g. gemmNEON's neon_k2 body
// runs pairs·nblk·⌊ksteps/2⌋ times; FloatTrips for the float kernels); a
// test fails if the file holds a segment without such a rule, so the
// counts follow the generator. A layer's count is Σ segment × trips for
// its GEMM shape. The int8 output stage (output_arm64.s: requantization
// with the fused 2×2 max pooling) is counted the same way for the
// engine's calls at batch 1 (output.go). Not counted: im2col and the Go
// code around the kernels; int8: one kernel call per layer (the engine
// splits a layer into calls of 64 rows, adding a prologue of under 15
// instructions per call); float: the calls sgemm.GemmPacked and the native
// engine make at batch 1 on one thread (floatmodel.go). Bytes are load /
// store traffic to the L1 cache, not DRAM traffic; the weights' footprint
// (bytes a cold cache must fetch once) is reported separately.
package armmodel

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Counts are instruction and traffic totals.
type Counts struct {
	Instr, SIMD, Loads, Stores, Scalar int64
	LoadBytes, StoreBytes              int64
}

func (c *Counts) add(o Counts, times int64) {
	c.Instr += o.Instr * times
	c.SIMD += o.SIMD * times
	c.Loads += o.Loads * times
	c.Stores += o.Stores * times
	c.Scalar += o.Scalar * times
	c.LoadBytes += o.LoadBytes * times
	c.StoreBytes += o.StoreBytes * times
}

// Segment is one straight-line piece of a kernel: Name is its label, with
// "#n" for the n-th piece after a conditional branch inside the label.
type Segment struct {
	Name string
	Counts
}

// Kernels maps each TEXT symbol of the file to its segments in order.
type Kernels map[string][]Segment

var (
	textRE  = regexp.MustCompile(`^TEXT\s+·(\w+)\(SB\)`)
	labelRE = regexp.MustCompile(`^(\w+):\s*$`)
	listRE  = regexp.MustCompile(`\[([^\]]*)\]`)
)

// Parse splits assembly text into kernels and segments.
func Parse(src string) (Kernels, error) {
	ks := Kernels{}
	var cur string
	var seg *Segment
	piece := map[string]int{}
	label := ""
	newSeg := func(name string) {
		ks[cur] = append(ks[cur], Segment{Name: name})
		seg = &ks[cur][len(ks[cur])-1]
	}
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if j := strings.Index(line, "//"); j >= 0 {
			line = strings.TrimSpace(line[:j])
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if m := textRE.FindStringSubmatch(line); m != nil {
			cur, label = m[1], "entry"
			newSeg(label)
			continue
		}
		if cur == "" {
			return nil, fmt.Errorf("armmodel: line %d: instruction outside TEXT: %q", i+1, line)
		}
		if m := labelRE.FindStringSubmatch(line); m != nil {
			label = m[1]
			newSeg(label)
			continue
		}
		op := strings.Fields(line)[0]
		c := Counts{Instr: 1}
		switch {
		case op == "WORD" || (strings.HasPrefix(op, "V") && !strings.HasPrefix(op, "VLD") && !strings.HasPrefix(op, "VST")):
			c.SIMD = 1
		case strings.HasPrefix(op, "VLD1R"):
			c.Loads, c.LoadBytes = 1, elemBytes(line)
		case strings.HasPrefix(op, "VLD1"):
			c.Loads, c.LoadBytes = 1, 16*listLen(line)
		case strings.HasPrefix(op, "VST1"):
			c.Stores, c.StoreBytes = 1, 16*listLen(line)
		case strings.HasPrefix(op, "MOVD") && strings.Contains(line, "(FP)"):
			c.Loads, c.LoadBytes = 1, 8 // argument from the frame
		case op == "MOVD.P" && strings.Contains(line, "(R"):
			c.Loads, c.LoadBytes = 1, 8 // MOVD.P off(Rn), Rd: a load
		case op == "MOVBU" && strings.Contains(line, "(FP)"):
			c.Loads, c.LoadBytes = 1, 1 // bool argument from the frame
		case (op == "MOVD" || op == "MOVB") && strings.HasSuffix(line, ")") && strings.HasPrefix(strings.Fields(line)[1], "R"):
			c.Stores, c.StoreBytes = 1, 8 // MOVx Rn, (Rm): a store
			if op == "MOVB" {
				c.StoreBytes = 1
			}
		case (strings.HasPrefix(op, "FMOVD") || strings.HasPrefix(op, "FMOVS")) && strings.Contains(line, "("):
			n := int64(8)
			if strings.HasPrefix(op, "FMOVS") {
				n = 4
			}
			if strings.HasSuffix(line, ")") { // FMOVx Fn, off(Rn): a store
				c.Stores, c.StoreBytes = 1, n
			} else {
				c.Loads, c.LoadBytes = 1, n
			}
		default:
			c.Scalar = 1
		}
		seg.add(c, 1)
		if op == "BNE" || op == "BEQ" || op == "BLT" || op == "BGE" || op == "CBZ" || op == "CBNZ" {
			piece[cur+"/"+label]++
			newSeg(fmt.Sprintf("%s#%d", label, piece[cur+"/"+label]))
		}
	}
	// Drop empty trailing pieces (a branch right before a label).
	for name, segs := range ks {
		var keep []Segment
		for _, s := range segs {
			if s.Instr > 0 {
				keep = append(keep, s)
			}
		}
		ks[name] = keep
	}
	return ks, nil
}

func listLen(line string) int64 {
	m := listRE.FindStringSubmatch(line)
	if m == nil {
		return 0
	}
	return int64(len(strings.Split(m[1], ",")))
}

func elemBytes(line string) int64 {
	m := listRE.FindStringSubmatch(line)
	if m == nil {
		return 0
	}
	switch {
	case strings.HasSuffix(m[1], ".B16"), strings.HasSuffix(m[1], ".B8"):
		return 1
	case strings.HasSuffix(m[1], ".H8"), strings.HasSuffix(m[1], ".H4"):
		return 2
	case strings.HasSuffix(m[1], ".S4"), strings.HasSuffix(m[1], ".S2"):
		return 4
	case strings.HasSuffix(m[1], ".D2"):
		return 8
	}
	return 0
}

// Shape is one kernel call: Rows rows of A (the GEMM kernels take a
// multiple of 4; the one-row kernels exactly 1), depth K, N channels.
type Shape struct{ Rows, K, N int }

// Trips returns how often each segment of kernel runs for shape s,
// following the loop structure gen_arm64.go writes. ok is false for a
// segment without a rule.
func Trips(kernel, segment string, s Shape) (n int64, ok bool) {
	ks, nb := int64((s.K+3)/4), int64((s.N+15)/16)
	half, odd := ks/2, ks%2
	groups := int64((s.Rows + 3) / 4) // gemmDot: 4 rows per group
	pairs := 2 * groups               // gemmNEON: row pairs
	rules := map[string]map[string]int64{
		"gemmDot": {
			"entry": 1, "dot_group": groups, "dot_block": groups * nb, "dot_k": groups * nb * ks,
			"dot_k#1": groups * nb, "dot_k#2": groups, "dot_k#3": 1,
		},
		"gemmNEON": {
			"entry": 1, "neon_pair": pairs, "neon_block": pairs * nb, "neon_k2": pairs * nb * half,
			"neon_tail": pairs * nb, "neon_tail#1": pairs * nb * odd, "neon_store": pairs * nb,
			"neon_store#1": pairs, "neon_store#2": 1,
		},
		"gemvDot": {
			"entry": 1, "dgv_block": nb, "dgv_k2": nb * half, "dgv_tail": nb, "dgv_tail#1": nb * odd,
			"dgv_store": nb, "dgv_store#1": 1,
		},
		"gemvNEON": {
			"entry": 1, "ngv_block": nb, "ngv_k2": nb * half, "ngv_tail": nb, "ngv_tail#1": nb * odd,
			"ngv_store": nb, "ngv_store#1": 1,
		},
	}
	n, ok = rules[kernel][segment]
	return n, ok
}

// Count totals kernel's segments for one call of shape s.
func (ks Kernels) Count(kernel string, s Shape) (Counts, error) {
	segs, ok := ks[kernel]
	if !ok {
		return Counts{}, fmt.Errorf("armmodel: no kernel %s in the assembly", kernel)
	}
	var c Counts
	for _, sg := range segs {
		n, ok := Trips(kernel, sg.Name, s)
		if !ok {
			return Counts{}, fmt.Errorf("armmodel: %s segment %s has no trip-count rule (gen_arm64.go changed: update Trips)", kernel, sg.Name)
		}
		c.add(sg.Counts, n)
	}
	return c, nil
}

// Layer is one GEMM of a model at batch 1.
type Layer struct {
	Name string
	Shape
}

// SeedLayers are the GEMMs of the seed CNN (model.SeedArch: 28×28×1,
// conv 3×3 32, pool, conv 3×3 64, pool, fc 128, fc 10) at batch 1.
func SeedLayers() []Layer {
	return []Layer{
		{"conv1", Shape{Rows: 28 * 28, K: 9, N: 32}},
		{"conv2", Shape{Rows: 14 * 14, K: 9 * 32, N: 64}},
		{"fc1", Shape{Rows: 1, K: 7 * 7 * 64, N: 128}},
		{"fc2", Shape{Rows: 1, K: 128, N: 10}},
	}
}

// Inference counts one batch-1 inference with the GEMM kernel gemm and
// the one-row kernel gemv (empty: one-row layers run gemm on 4 rows, the
// fallback before the arm64 one-row kernels existed).
func (ks Kernels) Inference(layers []Layer, gemm, gemv string) (Counts, error) {
	var total Counts
	for _, l := range layers {
		k, s := gemm, l.Shape
		if s.Rows == 1 {
			if gemv != "" {
				k = gemv
			} else {
				s.Rows = 4
			}
		}
		c, err := ks.Count(k, s)
		if err != nil {
			return Counts{}, fmt.Errorf("%s: %w", l.Name, err)
		}
		total.add(c, 1)
	}
	return total, nil
}

// MACs is the number of multiply-accumulates of the layers (useful ones).
func MACs(layers []Layer) int64 {
	var n int64
	for _, l := range layers {
		n += int64(l.Rows) * int64(l.K) * int64(l.N)
	}
	return n
}

// WeightBytes is the packed int8 weights' footprint (16-channel blocks ×
// 4-deep steps, zero padded).
func WeightBytes(layers []Layer) int64 {
	var n int64
	for _, l := range layers {
		n += int64((l.N+15)/16) * int64((l.K+3)/4) * 64
	}
	return n
}

// humanize prints n with a k/M suffix.
func humanize(n int64) string {
	switch {
	case n >= 10_000_000:
		return strconv.FormatInt((n+500_000)/1_000_000, 10) + "M"
	case n >= 10_000:
		return strconv.FormatInt((n+500)/1000, 10) + "k"
	}
	return strconv.FormatInt(n, 10)
}
