package armmodel

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// WriteTable prints, for every arm64 board of bs, the per-inference
// counts of the seed CNN's GEMMs, and the one-row layers' instructions
// with the one-row kernel against the four-row fallback.
func WriteTable(w io.Writer, ks Kernels, bs []boards.Board) error {
	layers := SeedLayers()
	fmt.Fprintf(w, "int8 GEMM work per batch-1 inference of the seed CNN (%d MACs; packed weights %d bytes), counted from gemm_arm64.s\n", MACs(layers), WeightBytes(layers))
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "board\tCPU\tMHz\tkernel\tinstr\tSIMD\tloads\tstores\tload bytes\tstore bytes\tMAC/instr\tfc instr (one-row)\tfc instr (4-row fallback)\t")
	rows := 0
	for _, b := range bs {
		gemm, gemv, name, ok := KernelsFor(b)
		if !ok {
			continue
		}
		c, err := ks.Inference(layers, gemm, gemv)
		if err != nil {
			return err
		}
		var fc []Layer
		for _, l := range layers {
			if l.Rows == 1 {
				fc = append(fc, l)
			}
		}
		one, err := ks.Inference(fc, gemm, gemv)
		if err != nil {
			return err
		}
		four, err := ks.Inference(fc, gemm, "")
		if err != nil {
			return err
		}
		mhz := "-"
		if b.CPU.MHz > 0 {
			mhz = fmt.Sprint(b.CPU.MHz)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t\n", b.Name, b.CPU.Model, mhz, name,
			humanize(c.Instr), humanize(c.SIMD), humanize(c.Loads), humanize(c.Stores), humanize(c.LoadBytes), humanize(c.StoreBytes),
			float64(MACs(layers))/float64(c.Instr), humanize(one.Instr), humanize(four.Instr))
		rows++
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if rows == 0 {
		return fmt.Errorf("armmodel: no arm64 board in the table")
	}
	fmt.Fprintln(w, "instr: all instructions of the GEMM kernels (SIMD + loads + stores + scalar/branches); bytes: load/store traffic to L1, not DRAM.")
	fmt.Fprintln(w, "Not counted: im2col, requantization, pooling, Go code between kernel calls. Method: runtime/kernels/qgemm/armmodel (package doc).")
	return nil
}

// AsmPath is where the generated arm64 kernels live in the source tree.
const AsmPath = "runtime/kernels/qgemm/gemm_arm64.s"

// WriteForBoard prints the table for one arm64 board from the kernels in
// the source tree at root (edgecnn bench --host prints it beside the
// board's measured rows: the counts qemu cannot time).
func WriteForBoard(w io.Writer, root string, b boards.Board) error {
	if _, _, _, ok := KernelsFor(b); !ok {
		return fmt.Errorf("armmodel: %s is not an arm64 board (no arm64 kernels run on it)", b.Name)
	}
	src, err := os.ReadFile(filepath.Join(root, AsmPath))
	if err != nil {
		return fmt.Errorf("armmodel: %w", err)
	}
	ks, err := Parse(string(src))
	if err != nil {
		return err
	}
	return WriteTable(w, ks, []boards.Board{b})
}
