package qgemm

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"testing"
)

// TestGeneratedAssemblyUpToDate runs each arm64 generator into a
// temporary file and compares it with the checked-in assembly, so an edit
// of either side alone fails here (on every host: the generators are
// plain Go; it runs where the tests run natively, not under qemu).
func TestGeneratedAssemblyUpToDate(t *testing.T) {
	if goruntime.GOARCH != "amd64" {
		t.Skip("a source check: run on the amd64 host")
	}
	for gen, file := range map[string]string{"gen_arm64.go": "gemm_arm64.s", "gen_output_arm64.go": "output_arm64.s"} {
		out := filepath.Join(t.TempDir(), file)
		cmd := exec.Command("go", "run", gen, out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go run %s: %v\n%s", gen, err, b)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what %s writes: run go generate ./runtime/kernels/qgemm", file, gen)
		}
	}
}
