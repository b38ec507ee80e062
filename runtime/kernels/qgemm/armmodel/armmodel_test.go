package armmodel

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/boards"
)

func load(t *testing.T) (Kernels, string) {
	t.Helper()
	src, err := os.ReadFile("../gemm_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := ParseFiles("../gemm_arm64.s", "../output_arm64.s")
	if err != nil {
		t.Fatal(err)
	}
	return ks, string(src)
}

// loadFloat parses the float kernels; srcs are the files' texts in the
// order of FloatAsmPaths.
func loadFloat(t *testing.T) (ks Kernels, srcs []string) {
	t.Helper()
	var paths []string
	for _, p := range FloatAsmPaths {
		paths = append(paths, "../../../../"+p)
		src, err := os.ReadFile(paths[len(paths)-1])
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(src))
	}
	ks, err := ParseFiles(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return ks, srcs
}

func seg(t *testing.T, ks Kernels, kernel, name string) Segment {
	t.Helper()
	for _, s := range ks[kernel] {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("%s has no segment %s (segments %v)", kernel, name, ks[kernel])
	return Segment{}
}

// TestInnerLoopsAsGenerated: the inner loop bodies hold what gen_arm64.go
// writes (counted by hand from the generator).
func TestInnerLoopsAsGenerated(t *testing.T) {
	ks, _ := load(t)
	for _, c := range []struct {
		kernel, seg                string
		instr, simd, loads, lbytes int64
	}{
		{"gemmDot", "dot_k", 1 + 4 + 16 + 2, 16, 5, 64 + 4*4},
		{"gemmNEON", "neon_k2", 2 + 4 + 2*4*6 + 2, 48, 6, 128 + 4*4},
		{"gemvDot", "dgv_k2", 2 + 2 + 8 + 2, 8, 4, 128 + 8},
		{"gemvNEON", "ngv_k2", 2 + 2 + 24 + 2, 24, 4, 128 + 8},
	} {
		s := seg(t, ks, c.kernel, c.seg)
		if s.Instr != c.instr || s.SIMD != c.simd || s.Loads != c.loads || s.LoadBytes != c.lbytes || s.Stores != 0 {
			t.Errorf("%s %s: %+v, want instr %d simd %d loads %d (%d bytes), no store", c.kernel, c.seg, s.Counts, c.instr, c.simd, c.loads, c.lbytes)
		}
	}
	if s := seg(t, ks, "gemvDot", "dgv_store"); s.Stores != 1 || s.StoreBytes != 64 {
		t.Errorf("gemvDot store: %+v, want one 64-byte store", s.Counts)
	}
}

// TestTripsAgreeWithClosedForm: for many shapes (odd and even k steps, one
// k step, several blocks and row groups), the SIMD instructions and the
// bytes stored summed over segments × trips equal a closed form derived
// independently from the loop structure.
func TestTripsAgreeWithClosedForm(t *testing.T) {
	ks, _ := load(t)
	for _, s := range []Shape{{4, 1, 1}, {4, 4, 16}, {8, 9, 17}, {12, 12, 33}, {784, 9, 32}, {196, 288, 64}, {4, 3136, 128}} {
		k, nb, r := int64((s.K+3)/4), int64((s.N+15)/16), int64(s.Rows)
		c, err := ks.Count("gemmDot", s)
		if err != nil {
			t.Fatal(err)
		}
		// 16 SDOT per (group, block, k step) + 16 VEOR per (group, block).
		if want := r / 4 * nb * (16*k + 16); c.SIMD != want {
			t.Errorf("gemmDot %v: SIMD %d, want %d", s, c.SIMD, want)
		}
		if want := r * nb * 64; c.StoreBytes != want {
			t.Errorf("gemmDot %v: stored %d bytes, want %d", s, c.StoreBytes, want)
		}
		c, err = ks.Count("gemmNEON", s)
		if err != nil {
			t.Fatal(err)
		}
		// Per (pair, block): 16 VEOR, 48 per two k steps, 16 for an odd
		// step (SMULL, SMULL2 and two SADALP per row and weight register),
		// 8 VADDP.
		if want := r / 2 * nb * (16 + 48*(k/2) + 32*(k%2) + 8); c.SIMD != want {
			t.Errorf("gemmNEON %v: SIMD %d, want %d", s, c.SIMD, want)
		}
		// A bytes: every row's 4k bytes read once per block (besides the
		// weights, once per row pair, and the 8 arguments).
		if want := r * nb * 4 * k; c.LoadBytes-nb*64*k*r/2-8*8 != want {
			t.Errorf("gemmNEON %v: A bytes %d, want %d", s, c.LoadBytes-nb*64*k*r/2-8*8, want)
		}
		one := Shape{1, s.K, s.N}
		c, err = ks.Count("gemvDot", one)
		if err != nil {
			t.Fatal(err)
		}
		if want := nb * (8 + 8*(k/2) + 4*(k%2) + 4); c.SIMD != want {
			t.Errorf("gemvDot %v: SIMD %d, want %d", one, c.SIMD, want)
		}
		c, err = ks.Count("gemvNEON", one)
		if err != nil {
			t.Fatal(err)
		}
		if want := nb * (8 + 24*(k/2) + 16*(k%2) + 4); c.SIMD != want {
			t.Errorf("gemvNEON %v: SIMD %d, want %d", one, c.SIMD, want)
		}
		// Weights read once, the row's 4k bytes once per block, 5 args.
		if want := nb*64*k + nb*4*k + 5*8; c.LoadBytes != want {
			t.Errorf("gemvNEON %v: loaded %d bytes, want %d", one, c.LoadBytes, want)
		}
		if c.StoreBytes != nb*64 {
			t.Errorf("gemvNEON %v: stored %d bytes, want %d", one, c.StoreBytes, nb*64)
		}
	}
}

// TestUnknownSegmentRefused: a loop the rules do not know is an error,
// not a silent miscount.
func TestUnknownSegmentRefused(t *testing.T) {
	_, src := load(t)
	src = strings.Replace(src, "ngv_k2:\n", "ngv_extra:\n\tSUBS $1, R14, R14\n\tBNE ngv_extra\nngv_k2:\n", 1)
	ks, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Count("gemvNEON", Shape{1, 64, 16}); err == nil || !strings.Contains(err.Error(), "ngv_extra") {
		t.Fatalf("unknown segment: err = %v", err)
	}
	if _, err := ks.Count("gemmFoo", Shape{4, 4, 16}); err == nil {
		t.Fatal("unknown kernel accepted")
	}
}

// TestTableCoversArm64Boards: one row per arm64 board of the table, the
// kernel its CPU selects, and the one-row kernel cheaper than the fallback.
func TestTableCoversArm64Boards(t *testing.T) {
	ks, _ := load(t)
	fks, _ := loadFloat(t)
	var b bytes.Buffer
	if err := WriteTable(&b, ks, fks, boards.All()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bd := range boards.All() {
		_, _, name, ok := KernelsFor(bd)
		rows := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == bd.Name {
				rows[f[1]] = l
			}
		}
		if ok != (len(rows) == 2) || (!ok && len(rows) != 0) {
			t.Errorf("board %s (arm64 %v): rows %q", bd.Name, ok, rows)
		}
		if ok && (!strings.Contains(rows["int8"], " "+name+" ") || !strings.Contains(rows["float"], " neon-fmla ")) {
			t.Errorf("board %s: want int8 kernel %s and float neon-fmla in %q", bd.Name, name, rows)
		}
	}
	for _, pair := range [][2]string{{"gemmNEON", "gemvNEON"}, {"gemmDot", "gemvDot"}} {
		fc := SeedLayers()[2:]
		one, err := ks.Inference(fc, pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		four, err := ks.Inference(fc, pair[0], "")
		if err != nil {
			t.Fatal(err)
		}
		if one.Instr*2 >= four.Instr {
			t.Errorf("%s: one-row fc %d instructions, four-row fallback %d", pair[1], one.Instr, four.Instr)
		}
	}
	t.Log("\n" + out)
}

// TestWriteForBoard: one board's table from the source tree, the same
// row as the full table's; a non-arm64 board is refused with a reason.
func TestWriteForBoard(t *testing.T) {
	ks, _ := load(t)
	b, err := boards.Lookup("rpi4")
	if err != nil {
		t.Fatal(err)
	}
	fks, _ := loadFloat(t)
	var one, all bytes.Buffer
	if err := WriteForBoard(&one, "../../../..", b); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&all, ks, fks, boards.All()); err != nil {
		t.Fatal(err)
	}
	rowOf := func(s string) string {
		var rows []string
		for _, l := range strings.Split(s, "\n") {
			if f := strings.Fields(l); len(f) > 0 && f[0] == "rpi4" {
				rows = append(rows, strings.Join(f, " "))
			}
		}
		if len(rows) != 2 {
			return ""
		}
		return strings.Join(rows, "\n")
	}
	row := rowOf(all.String())
	if row == "" || rowOf(one.String()) != row || strings.Contains(one.String(), "rpi5") {
		t.Errorf("rpi4 table:\n%s\nwant the full table's row %q only", one.String(), row)
	}
	amd, err := boards.Lookup("generic-amd64")
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteForBoard(&one, "../../../..", amd); err == nil || !strings.Contains(err.Error(), "not an arm64 board") {
		t.Errorf("generic-amd64: %v", err)
	}
}
