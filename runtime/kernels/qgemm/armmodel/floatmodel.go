package armmodel

import "fmt"

// The float engine's arm64 kernels (internal/sgemm/kernel_arm64.s, written
// by internal/sgemm/gen_arm64.go; runtime/native/convpool_arm64.s, written
// by gen_convpool_arm64.go) are counted the same way as the int8 ones:
// Parse splits the files into segments, FloatTrips gives each segment's
// trips for one call, and the calls per inference follow the loops of
// sgemm.GemmPacked and of the native engine's float steps at batch 1 on
// one thread (GemmPackedCalls, SeedFloatLayers).

// FloatAsmPaths are where the generated arm64 float kernels live.
var FloatAsmPaths = []string{"internal/sgemm/kernel_arm64.s", "runtime/native/convpool_arm64.s"}

// Call is Times calls of a float kernel at depth KC (sgemm's kcb, or the
// conv + pool kernel's values per kernel row) over Taps kernel rows (conv
// + pool only), adding to C (Acc) or storing it.
type Call struct {
	Kernel string
	KC     int
	Acc    bool
	Times  int64
	Taps   int
}

// FloatTrips returns how often segment of kernel runs in one call c,
// following gen_arm64.go's loops; ok is false for a segment without a
// rule.
func FloatTrips(kernel, segment string, c Call) (n int64, ok bool) {
	acc, kc, taps := int64(0), int64(c.KC), int64(c.Taps)
	if c.Acc {
		acc = 1
	}
	rules := map[string]map[string]int64{
		// entry, the depth loop, CBZ accumulate, the C reload, the stores.
		"kernelAsm":     {"entry": 1, "loop": kc, "loop#1": 1, "loop#2": acc, "store": 1},
		"kernel1x64Asm": {"entry": 1, "loop1": kc, "loop1#1": 1, "loop1#2": acc, "store1": 1},
		// entry, two 16-channel halves, per half and tap ⌊kc/4⌋ steps of
		// four depths and kc mod 4 single ones, the tap loop's end, the
		// pooling epilogue, RET.
		"convPool1Asm": {"entry": 1, "half": 2, "tap": 2 * taps, "k4": 2 * taps * (kc / 4), "tail": 2 * taps,
			"one": 2 * taps * (kc % 4), "next": 2 * taps, "next#1": 2, "next#2": 1},
	}
	n, ok = rules[kernel][segment]
	return n, ok
}

// CountCalls totals the segments of every call.
func (ks Kernels) CountCalls(calls []Call) (Counts, error) {
	var total Counts
	for _, c := range calls {
		segs, ok := ks[c.Kernel]
		if !ok {
			return Counts{}, fmt.Errorf("armmodel: no kernel %s in the assembly", c.Kernel)
		}
		for _, sg := range segs {
			n, ok := FloatTrips(c.Kernel, sg.Name, c)
			if !ok {
				return Counts{}, fmt.Errorf("armmodel: %s segment %s has no trip-count rule (gen_arm64.go changed: update FloatTrips)", c.Kernel, sg.Name)
			}
			total.add(sg.Counts, n*c.Times)
		}
	}
	return total, nil
}

// sgemm's blocking (internal/sgemm/sgemm.go: mr, nr, kc, mc).
const (
	sgMR = 6
	sgNR = 16
	sgKC = 256
	sgMC = 144
)

// kstep is sgemm.PackB's depth slice: k split into ⌈k/256⌉ equal slices.
func kstep(k int) int {
	s := (k + sgKC - 1) / sgKC
	return (k + s - 1) / s
}

// GemmPackedCalls lists the assembly calls sgemm.GemmPacked makes on arm64
// for an m×k by k×n product (all columns), and the multiply-adds it leaves
// to Go (goMACs: one-row panels outside a group of four run kernel1x16Go,
// which has no arm64 assembly). oneRow false models the fallback of a
// single row through the 6×16 kernel (as for m ≥ 2), for comparison.
func GemmPackedCalls(m, k, n int, oneRow bool) (calls []Call, goMACs int64) {
	ks := kstep(k)
	panels := (n + sgNR - 1) / sgNR
	for pc := 0; pc < k; pc += ks {
		kcb := min(ks, k-pc)
		acc := pc > 0
		for ic := 0; ic < m; ic += sgMC {
			mcb := min(sgMC, m-ic)
			if mcb == 1 && oneRow {
				four := n / (4 * sgNR)
				if four > 0 {
					calls = append(calls, Call{Kernel: "kernel1x64Asm", KC: kcb, Acc: acc, Times: int64(four)})
				}
				goMACs += int64(panels-4*four) * int64(kcb) * sgNR
				continue
			}
			tiles := int64((mcb+sgMR-1)/sgMR) * int64(panels)
			full := int64(mcb/sgMR) * int64(n/sgNR)
			if full > 0 {
				calls = append(calls, Call{Kernel: "kernelAsm", KC: kcb, Acc: acc, Times: full})
			}
			if tiles > full {
				// Edge tiles: stored into a scratch tile, added in Go.
				calls = append(calls, Call{Kernel: "kernelAsm", KC: kcb, Times: tiles - full})
			}
		}
	}
	return calls, goMACs
}

// FloatLayer is one layer of the float engine at batch 1: Rows holds the
// GEMM rows of each sgemm call (one per work unit), K the depth, N the
// output channels; with ConvPool set the layer runs the fused conv + pool
// kernel instead (one call per pooled pixel and 32 channels).
type FloatLayer struct {
	Name     string
	Rows     []int
	K, N     int
	ConvPool *ConvPool
}

// ConvPool is a convolution with its 2×2 max pooling fused: Pixels pooled
// pixels, Taps kernel rows of KC values (KW·C) each.
type ConvPool struct{ Pixels, Taps, KC int }

// calls are the conv + pool kernel calls of layer l.
func (cp *ConvPool) calls(n int) []Call {
	return []Call{{Kernel: "convPool1Asm", KC: cp.KC, Taps: cp.Taps, Times: int64(cp.Pixels) * int64(n/32)}}
}

// fusedUnits are the GEMM rows per work unit of a convolution with an
// oh×ow output whose 2×2 max pooling is fused (runtime/native fconv at
// one thread: ⌊128 / (2·ow)⌋ pooled rows, i.e. 2·ow GEMM rows each, per
// unit).
func fusedUnits(oh, ow int) []int {
	const chunkRows = 128 // runtime/native chunkRowsF
	per := 2 * ow
	prows := max(1, chunkRows/per)
	var rows []int
	for py := 0; py < oh/2; py += prows {
		rows = append(rows, min(prows, oh/2-py)*per)
	}
	return rows
}

// SeedFloatLayers are the float engine's kernel calls of the seed CNN on
// arm64 at batch 1 and one thread: both convolutions with their pooling
// through the NEON conv + pool kernel (3×3 kernels: 3 rows of 3·C
// values), both fully connected layers as one row.
func SeedFloatLayers() []FloatLayer {
	l := SeedFloatGEMMLayers()
	l[0].ConvPool = &ConvPool{Pixels: 14 * 14, Taps: 3, KC: 3}
	l[1].ConvPool = &ConvPool{Pixels: 7 * 7, Taps: 3, KC: 3 * 32}
	return l
}

// SeedFloatGEMMLayers are the same with both convolutions as im2col + GEMM
// per fused conv+pool unit (the arm64 path before the NEON conv + pool
// kernel, and the path of a convolution it does not take).
func SeedFloatGEMMLayers() []FloatLayer {
	return []FloatLayer{
		{Name: "conv1", Rows: fusedUnits(28, 28), K: 9, N: 32},
		{Name: "conv2", Rows: fusedUnits(14, 14), K: 9 * 32, N: 64},
		{Name: "fc1", Rows: []int{1}, K: 7 * 7 * 64, N: 128},
		{Name: "fc2", Rows: []int{1}, K: 128, N: 10},
	}
}

// ParseFiles parses several assembly files into one set of kernels.
func ParseFiles(paths ...string) (Kernels, error) {
	all := Kernels{}
	for _, p := range paths {
		ks, err := ParseFile(p)
		if err != nil {
			return nil, err
		}
		for name, segs := range ks {
			if _, dup := all[name]; dup {
				return nil, fmt.Errorf("armmodel: kernel %s defined twice (%s)", name, p)
			}
			all[name] = segs
		}
	}
	return all, nil
}

// FloatInference counts one batch-1 float inference; goMACs are the
// multiply-adds left to Go kernels (not counted). oneRow false runs the
// one-row layers through the 6×16 kernel instead (the fallback).
func (ks Kernels) FloatInference(layers []FloatLayer, oneRow bool) (c Counts, goMACs int64, err error) {
	for _, l := range layers {
		if l.ConvPool != nil {
			lc, err := ks.CountCalls(l.ConvPool.calls(l.N))
			if err != nil {
				return Counts{}, 0, fmt.Errorf("%s: %w", l.Name, err)
			}
			c.add(lc, 1)
			continue
		}
		for _, m := range l.Rows {
			calls, g := GemmPackedCalls(m, l.K, l.N, oneRow)
			lc, err := ks.CountCalls(calls)
			if err != nil {
				return Counts{}, 0, fmt.Errorf("%s: %w", l.Name, err)
			}
			c.add(lc, 1)
			goMACs += g
		}
	}
	return c, goMACs, nil
}

// FloatWeightBytes is the packed float weights' footprint (16-column
// panels, 4 bytes per value).
func FloatWeightBytes(layers []FloatLayer) int64 {
	var n int64
	for _, l := range layers {
		n += int64((l.N+sgNR-1)/sgNR) * sgNR * int64(l.K) * 4
	}
	return n
}
