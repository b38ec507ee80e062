package qgemm

import (
	"math/rand/v2"
	"runtime/debug"
	"syscall"
	"testing"
)

// faultSink keeps the probing load of the guard page from being removed.
var faultSink byte

// TestGemvReadsOnlyItsRow places the A row at the very end of a readable
// page followed by an inaccessible one (mprotect PROT_NONE): a single-row
// kernel that read one byte past its 4·KSteps bytes would fault. The
// native engine hands Gemv the layer's input row in place, so this bound
// matters.
func TestGemvReadsOnlyItsRow(t *testing.T) {
	ps := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[ps:], syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	// The guard page is live: reading it faults.
	func() {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if recover() == nil {
				t.Fatal("reading the PROT_NONE page did not fault")
			}
		}()
		faultSink = mem[ps]
	}()
	r := rand.New(rand.NewPCG(7, 8))
	tested := 0
	for _, kn := range allKernels() {
		if kn.gemv == nil {
			continue
		}
		for _, k := range []int{1, 4, 5, 8, 12, 100, 3136} {
			const n = 21
			a := make([]int8, k)
			w := make([]int8, n*k)
			fill(r, a, -128)
			fill(r, w, -127)
			p, err := packWith(kn, w, n, k)
			if err != nil {
				t.Fatal(err)
			}
			row := mem[ps-4*p.KSteps : ps]
			for i := range row {
				row[i] = 0x5a // padding beyond k: multiplied by zero weights
			}
			for i, v := range a {
				row[i] = byte(v) ^ kn.flip
			}
			c := make([]int32, 16*p.NBlk)
			p.Gemv(row, c)
			want := naive(a, w, 1, n, k)
			for o := 0; o < n; o++ {
				if got := c[o] + p.Offset(o, 0); got != want[o] {
					t.Fatalf("%s k=%d: C[%d] = %d, want %d", kn.name, k, o, got, want[o])
				}
			}
			tested++
		}
	}
	if tested == 0 {
		t.Skipf("no single-row kernel on this CPU/build (kernels %v)", Kernels())
	}
	t.Logf("%d single-row cases at a page end", tested)
}
