package arm64asm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The expected words are what aarch64-linux-gnu-as assembles for these
// instructions (as checked into internal/sgemm/kernel_arm64.s and
// runtime/native/convpool_arm64.s).
func TestEncodings(t *testing.T) {
	for _, c := range []struct {
		got, want uint32
		asm       string
	}{
		{FMLALane(8, 0, 4, 0), 0x4f841008, "FMLA V8.4S, V0.4S, V4.S[0]"},
		{FMLALane(10, 2, 4, 0), 0x4f84104a, "FMLA V10.4S, V2.4S, V4.S[0]"},
		{FMLALane(20, 0, 4, 3), 0x4fa41814, "FMLA V20.4S, V0.4S, V4.S[3]"},
		{FADD(8, 8, 0), 0x4e20d508, "FADD V8.4S, V8.4S, V0.4S"},
		{FADD(10, 10, 1), 0x4e21d54a, "FADD V10.4S, V10.4S, V1.4S"},
	} {
		if c.got != c.want {
			t.Errorf("%s: 0x%08x, want 0x%08x", c.asm, c.got, c.want)
		}
	}
}

func TestFileWriteOut(t *testing.T) {
	var f File
	f.P("#include %q", "textflag.h")
	f.FMLALane(8, 0, 4, 0)
	f.FADD(8, 8, 0)
	want := "#include \"textflag.h\"\n" +
		"\tWORD $0x4f841008 // FMLA V8.4S, V0.4S, V4.S[0]\n" +
		"\tWORD $0x4e20d508 // FADD V8.4S, V8.4S, V0.4S\n"
	if got := string(f.Bytes()); got != want {
		t.Fatalf("text:\n%s\nwant:\n%s", got, want)
	}
	path := filepath.Join(t.TempDir(), "out.s")
	old := os.Args
	defer func() { os.Args = old }()
	os.Args = []string{"gen", path}
	if err := f.WriteOut("unused.s"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != want {
		t.Fatalf("written %q, %v", b, err)
	}
	os.Args = []string{"gen", filepath.Join(t.TempDir(), "missing", "out.s")}
	if err := f.WriteOut("unused.s"); err == nil || !strings.Contains(err.Error(), "arm64asm:") {
		t.Fatalf("write into a missing folder: %v", err)
	}
}
