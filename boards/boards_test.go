package boards

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestTableInvariants(t *testing.T) {
	seen := map[string]bool{}
	want := []string{"rpi-zero2w", "rpi3", "rpi4", "rpi5", "jetson-nano", "jetson-orin-nano",
		"coral-devboard", "coral-usb", "generic-arm64", "generic-armv7", "generic-amd64"}
	for _, b := range All() {
		if seen[b.Name] {
			t.Errorf("duplicate board %s", b.Name)
		}
		seen[b.Name] = true
		if b.Kind == KindAccelerator {
			if b.GOARCH != "" {
				t.Errorf("%s: accelerator with GOARCH", b.Name)
			}
			continue
		}
		if b.GOOS != "linux" || b.GOARCH == "" || b.CCTriple == "" || b.Backend == "" || b.Camera == "" {
			t.Errorf("%s: incomplete row %+v", b.Name, b)
		}
		if (b.GOARCH == "arm") != (b.GOARM != "") {
			t.Errorf("%s: GOARM must be set exactly for GOARCH=arm", b.Name)
		}
		if b.GOARCH == "arm64" && !b.CPU.NEON {
			t.Errorf("%s: arm64 always has NEON", b.Name)
		}
	}
	for _, n := range want {
		if !seen[n] {
			t.Errorf("board %s missing", n)
		}
	}
}

func TestLookup(t *testing.T) {
	b, err := Lookup("RPI4")
	if err != nil || b.Name != "rpi4" || b.Triple() != "linux/arm64" {
		t.Fatalf("Lookup(RPI4) = %+v, %v", b, err)
	}
	if b, _ := Lookup("generic-armv7"); b.Triple() != "linux/arm/v7" {
		t.Errorf("armv7 triple %q", b.Triple())
	}
	_, err = Lookup("rpi9")
	var ue *UnknownBoardError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "rpi4") || !strings.Contains(err.Error(), "jetson-nano") {
		t.Fatalf("unknown board error should list known boards: %v", err)
	}
	if _, err := Target("coral-usb"); err == nil || !strings.Contains(err.Error(), "accelerator") {
		t.Fatalf("coral-usb as target: %v", err)
	}
}

func TestDetectFixtures(t *testing.T) {
	cases := []struct {
		dir, board, source string
		known, dot         bool
		cores, mem         int
		arch               string
	}{
		{"rpi4", "rpi4", "device-tree", true, false, 4, 7810, "arm64"},
		{"rpi5", "rpi5", "device-tree", true, true, 2, 8052, "arm64"},
		{"rpi3-revision-only", "rpi3", "cpuinfo-revision", true, false, 1, 0, "arm"},
		{"jetson-nano", "jetson-nano", "device-tree", true, false, 1, 0, "arm64"},
		{"coral-devboard", "coral-devboard", "device-tree", true, false, 1, 0, "arm64"},
		{"unknown-arm64", "generic-arm64", "arch", false, true, 1, 0, "arm64"},
		{"x86", "generic-amd64", "arch", false, false, 2, 16000, "amd64"},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			d := NewDetector(filepath.Join("testdata", c.dir)).Detect()
			if d.Board.Name != c.board || d.Source != c.source || d.Known != c.known {
				t.Fatalf("got board=%s source=%s known=%v, want %s %s %v", d.Board.Name, d.Source, d.Known, c.board, c.source, c.known)
			}
			if d.DotProd != c.dot || d.Cores != c.cores || d.MemMB != c.mem || d.Arch != c.arch {
				t.Fatalf("got dot=%v cores=%d mem=%d arch=%s", d.DotProd, d.Cores, d.MemMB, d.Arch)
			}
		})
	}
}

func TestDetectEmptyRootFallsBack(t *testing.T) {
	d := NewDetector(t.TempDir()).Detect()
	if d.Known || d.Source != "arch" || !d.Board.Generic() {
		t.Fatalf("empty root: %+v", d)
	}
}

func TestDetectCached(t *testing.T) {
	dir := t.TempDir()
	det := NewDetector(dir)
	first := det.Detect()
	det.Root = filepath.Join("testdata", "rpi4") // ignored: the result is cached
	if det.Detect().Board.Name != first.Board.Name {
		t.Fatal("detection not cached")
	}
}

func TestRPiRevision(t *testing.T) {
	for rev, want := range map[string]int{"c03111": 0x11, "d04170": 0x17, "902120": 0x12, "a22082": 0x08} {
		got, ok := rpiRevisionType(rev)
		if !ok || got != want {
			t.Errorf("%s: got %#x %v want %#x", rev, got, ok, want)
		}
	}
	if _, ok := rpiRevisionType("000e"); ok {
		t.Error("old-style code decoded")
	}
	if _, ok := rpiRevisionType("zz"); ok {
		t.Error("garbage decoded")
	}
}
