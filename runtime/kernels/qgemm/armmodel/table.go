package armmodel

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/edgecnn/edgecnn/boards"
)

// KernelsFor names the GEMM and one-row kernels qgemm selects on a board
// (from its CPU features in the board table), or ok false where no arm64
// assembly runs (other architectures, accelerators).
func KernelsFor(b boards.Board) (gemm, gemv, name string, ok bool) {
	if b.Kind != boards.KindBoard || b.GOARCH != "arm64" {
		return "", "", "", false
	}
	if b.CPU.DotProd {
		return "gemmDot", "gemvDot", "neon-dotprod", true
	}
	return "gemmNEON", "gemvNEON", "neon", true
}

// WriteTable prints, for every arm64 board of bs, two rows: the int8
// engine's GEMM kernels (ks, from gemm_arm64.s) and the float engine's
// (fks, from internal/sgemm/kernel_arm64.s) per batch-1 inference of the
// seed CNN, with the fully connected layers' instructions through the
// one-row kernels beside the GEMM-kernel fallback.
func WriteTable(w io.Writer, ks, fks Kernels, bs []boards.Board) error {
	layers, flayers := SeedLayers(), SeedFloatLayers()
	fmt.Fprintf(w, "arm64 kernel work per batch-1 inference of the seed CNN (%d MACs), counted from %s (int8) and %s (float)\n", MACs(layers), strings.Join(AsmPaths, ", "), strings.Join(FloatAsmPaths, ", "))
	rq, err := ks.CountOutput(SeedOutputCalls())
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "board\tpath\tCPU\tMHz\tkernel\tinstr\tSIMD\tloads\tstores\tload bytes\tstore bytes\tMAC/instr\tfc instr (one-row)\tfc instr (GEMM-kernel fallback)\trequant instr\t")
	rows := 0
	var goMACs, gemmInstr int64
	for _, b := range bs {
		gemm, gemv, name, ok := KernelsFor(b)
		if !ok {
			continue
		}
		c, err := ks.Inference(layers, gemm, gemv)
		if err != nil {
			return err
		}
		fc := layers[2:]
		one, err := ks.Inference(fc, gemm, gemv)
		if err != nil {
			return err
		}
		four, err := ks.Inference(fc, gemm, "")
		if err != nil {
			return err
		}
		fcF, g, err := fks.FloatInference(flayers, true)
		if err != nil {
			return err
		}
		goMACs = g
		gemmConv, _, err := fks.FloatInference(SeedFloatGEMMLayers(), true)
		if err != nil {
			return err
		}
		gemmInstr = gemmConv.Instr
		oneF, _, err := fks.FloatInference(flayers[2:], true)
		if err != nil {
			return err
		}
		sixF, _, err := fks.FloatInference(flayers[2:], false)
		if err != nil {
			return err
		}
		mhz := "-"
		if b.CPU.MHz > 0 {
			mhz = fmt.Sprint(b.CPU.MHz)
		}
		row := func(path, kernel string, c, one, fb Counts, requant string) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t\n", b.Name, path, b.CPU.Model, mhz, kernel,
				humanize(c.Instr), humanize(c.SIMD), humanize(c.Loads), humanize(c.Stores), humanize(c.LoadBytes), humanize(c.StoreBytes),
				float64(MACs(layers))/float64(c.Instr), humanize(one.Instr), humanize(fb.Instr), requant)
		}
		row("int8", name, c, one, four, humanize(rq.Instr))
		row("float", "neon-fmla", fcF, oneF, sixF, "-")
		rows++
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rows == 0 {
		return fmt.Errorf("armmodel: no arm64 board in the table")
	}
	fmt.Fprintf(w, "int8 packed weights %d bytes, float %d bytes. instr: all instructions of the kernels (SIMD + loads + stores + scalar/branches); bytes: load/store traffic to L1, not DRAM.\n", WeightBytes(layers), FloatWeightBytes(flayers))
	fmt.Fprintln(w, "fallback: int8 one-row layers on the 4-row GEMM kernel, float on the 6×16 kernel.")
	fmt.Fprintf(w, "float: both convs with bias, clamp and 2×2 max pool in the NEON conv + pool kernel (batch 1, 1 thread); with convs as im2col + 6×16 GEMM instead: %s instructions, before im2col, packing and pooling.\n", humanize(gemmInstr))
	fmt.Fprintf(w, "requant: the int8 output stage (outputNEON: bias, requantization, zero point, clamp and the fused 2×2 max pooling; %s SIMD, %s loads, %s stores), not in instr; the float convs do theirs in the conv + pool kernel.\n", humanize(rq.SIMD), humanize(rq.Loads), humanize(rq.Stores))
	fmt.Fprintf(w, "Not counted: int8 im2col; Go code between kernel calls; float multiply-adds run by Go kernels (%d: fc2's lone 16-column panel).\n", goMACs)
	fmt.Fprintln(w, "Method: runtime/kernels/qgemm/armmodel (package doc).")
	return nil
}

// ParseFile reads and parses one assembly file.
func ParseFile(path string) (Kernels, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("armmodel: %w", err)
	}
	return Parse(string(src))
}

// AsmPath is where the generated arm64 GEMM kernels live in the source
// tree.
const AsmPath = "runtime/kernels/qgemm/gemm_arm64.s"

// AsmPaths are the int8 engine's generated arm64 kernels: the GEMMs and
// the output stage.
var AsmPaths = []string{AsmPath, OutputAsmPath}

// WriteForBoard prints the table for one arm64 board from the kernels in
// the source tree at root (edgecnn bench --host prints it beside the
// board's measured rows: the counts qemu cannot time).
func WriteForBoard(w io.Writer, root string, b boards.Board) error {
	if _, _, _, ok := KernelsFor(b); !ok {
		return fmt.Errorf("armmodel: %s is not an arm64 board (no arm64 kernels run on it)", b.Name)
	}
	var ipaths []string
	for _, p := range AsmPaths {
		ipaths = append(ipaths, filepath.Join(root, p))
	}
	ks, err := ParseFiles(ipaths...)
	if err != nil {
		return err
	}
	var paths []string
	for _, p := range FloatAsmPaths {
		paths = append(paths, filepath.Join(root, p))
	}
	fks, err := ParseFiles(paths...)
	if err != nil {
		return err
	}
	return WriteTable(w, ks, fks, []boards.Board{b})
}
