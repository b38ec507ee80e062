package armmodel

import "fmt"

// The float engine's arm64 kernels (internal/sgemm/kernel_arm64.s, written
// by internal/sgemm/gen_arm64.go) are counted the same way as the int8
// ones: Parse splits the file into segments, FloatTrips gives each
// segment's trips for one call, and the calls per inference follow the
// loops of sgemm.GemmPacked and of the native engine's float steps at
// batch 1 on one thread (GemmPackedCalls, SeedFloatLayers).

// FloatAsmPath is where the generated arm64 float kernels live.
const FloatAsmPath = "internal/sgemm/kernel_arm64.s"

// Call is Times calls of a float kernel at depth KC (sgemm's kcb), adding
// to C (Acc) or storing it.
type Call struct {
	Kernel string
	KC     int
	Acc    bool
	Times  int64
}

// FloatTrips returns how often segment of kernel runs in one call c,
// following gen_arm64.go's loops; ok is false for a segment without a
// rule.
func FloatTrips(kernel, segment string, c Call) (n int64, ok bool) {
	acc, kc := int64(0), int64(c.KC)
	if c.Acc {
		acc = 1
	}
	rules := map[string]map[string]int64{
		// entry, the depth loop, CBZ accumulate, the C reload, the stores.
		"kernelAsm":     {"entry": 1, "loop": kc, "loop#1": 1, "loop#2": acc, "store": 1},
		"kernel1x64Asm": {"entry": 1, "loop1": kc, "loop1#1": 1, "loop1#2": acc, "store1": 1},
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
					calls = append(calls, Call{"kernel1x64Asm", kcb, acc, int64(four)})
				}
				goMACs += int64(panels-4*four) * int64(kcb) * sgNR
				continue
			}
			tiles := int64((mcb+sgMR-1)/sgMR) * int64(panels)
			full := int64(mcb/sgMR) * int64(n/sgNR)
			if full > 0 {
				calls = append(calls, Call{"kernelAsm", kcb, acc, full})
			}
			if tiles > full {
				// Edge tiles: stored into a scratch tile, added in Go.
				calls = append(calls, Call{"kernelAsm", kcb, false, tiles - full})
			}
		}
	}
	return calls, goMACs
}

// FloatLayer is one GEMM layer of the float engine at batch 1: Rows holds
// the GEMM rows of each sgemm call (one per work unit), K the depth, N the
// output channels.
type FloatLayer struct {
	Name string
	Rows []int
	K, N int
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

// SeedFloatLayers are the float engine's GEMMs of the seed CNN at batch 1
// and one thread: both convolutions as im2col + GEMM per fused conv+pool
// unit, both fully connected layers as one row.
func SeedFloatLayers() []FloatLayer {
	return []FloatLayer{
		{"conv1", fusedUnits(28, 28), 9, 32},
		{"conv2", fusedUnits(14, 14), 9 * 32, 64},
		{"fc1", []int{1}, 7 * 7 * 64, 128},
		{"fc2", []int{1}, 128, 10},
	}
}

// FloatInference counts one batch-1 float inference; goMACs are the
// multiply-adds left to Go kernels (not counted). oneRow false runs the
// one-row layers through the 6×16 kernel instead (the fallback).
func (ks Kernels) FloatInference(layers []FloatLayer, oneRow bool) (c Counts, goMACs int64, err error) {
	for _, l := range layers {
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
