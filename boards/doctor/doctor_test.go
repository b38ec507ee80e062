package doctor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func noCmd(string) (string, error) { return "", errors.New("not found") }

func find(r Report, name string) []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func TestRPi4WithCoralUSB(t *testing.T) {
	r := Run(context.Background(), Env{
		Root: filepath.Join("testdata", "rpi4-coral"),
		LookPath: func(n string) (string, error) {
			if n == "rpicam-vid" {
				return "/usr/bin/rpicam-vid", nil
			}
			return noCmd(n)
		},
		Ldconfig: func() (string, error) { return "", nil },
		Backends: []string{"native", "tflite"},
	})
	if r.Detection.Board.Name != "rpi4" || find(r, "board")[0].Status != OK {
		t.Fatalf("board: %+v", find(r, "board"))
	}
	if len(r.Cameras) != 2 || !strings.Contains(r.Cameras[0], "/dev/video0 (unicam)") || !strings.Contains(r.Cameras[1], "rpicam-vid") {
		t.Fatalf("cameras %v", r.Cameras)
	}
	if len(r.Accelerators) != 1 || !strings.Contains(r.Accelerators[0], "1a6e:089a") {
		t.Fatalf("accelerators %v", r.Accelerators)
	}
	if !strings.HasSuffix(r.Libraries[LibEdgeTPU], "libedgetpu.so.1.0") {
		t.Fatalf("libedgetpu: %q", r.Libraries[LibEdgeTPU])
	}
	// tflite compiled in but its library missing: an error with a fix.
	be := find(r, "backend tflite")
	if len(be) != 1 || be[0].Status != Error || !strings.Contains(be[0].Fix, "--backend") {
		t.Fatalf("backend check %+v", be)
	}
	if r.Worst() != Error {
		t.Fatalf("worst %s", r.Worst())
	}
}

func TestEdgeTPUWithoutLibrary(t *testing.T) {
	root := t.TempDir()
	dev := filepath.Join(root, "sys", "bus", "usb", "devices", "1-1.2")
	os.MkdirAll(dev, 0o755)
	os.WriteFile(filepath.Join(dev, "idVendor"), []byte("18d1\n"), 0o644)
	os.WriteFile(filepath.Join(dev, "idProduct"), []byte("9302\n"), 0o644)
	r := Run(context.Background(), Env{Root: root, LookPath: noCmd, Ldconfig: func() (string, error) { return "", nil }})
	var found bool
	for _, c := range find(r, "edgetpu") {
		if c.Status == Error && strings.Contains(c.Fix, "libedgetpu1-std") {
			found = true
		}
	}
	if !found || len(r.Accelerators) != 1 {
		t.Fatalf("edge TPU without library: %+v %v", find(r, "edgetpu"), r.Accelerators)
	}
}

func TestJetsonCUDA(t *testing.T) {
	r2 := Run(context.Background(), Env{
		Root:     filepath.Join("testdata", "jetson"),
		LookPath: noCmd,
		Ldconfig: func() (string, error) {
			return "\tlibcudart.so.10.2 (libc6,AArch64) => /usr/local/cuda/lib64/libcudart.so.10.2\n\tlibnvinfer.so.8 (libc6,AArch64) => /usr/lib/aarch64-linux-gnu/libnvinfer.so.8\n", nil
		},
	})
	if r2.Detection.Board.Name != "jetson-nano" {
		t.Fatal(r2.Detection.Board.Name)
	}
	cu := find(r2, "cuda")
	if len(cu) != 1 || cu[0].Status != OK || !strings.Contains(cu[0].Detail, "libnvinfer.so.8") {
		t.Fatalf("cuda %+v", cu)
	}
	r3 := Run(context.Background(), Env{Root: filepath.Join("testdata", "jetson"), LookPath: noCmd, Ldconfig: func() (string, error) { return "", nil }})
	if cu := find(r3, "cuda"); len(cu) != 1 || cu[0].Status != Warn {
		t.Fatalf("jetson without CUDA: %+v", cu)
	}
}

func TestUnknownMachine(t *testing.T) {
	r := Run(context.Background(), Env{Root: filepath.Join("testdata", "pc"), LookPath: noCmd, Ldconfig: func() (string, error) { return "", nil }})
	b := find(r, "board")
	if len(b) != 1 || b[0].Status != Warn || !strings.Contains(b[0].Detail, "not a known board") || !strings.Contains(b[0].Detail, "generic-amd64") {
		t.Fatalf("board %+v", b)
	}
	if c := find(r, "camera"); len(c) != 1 || c[0].Status != Warn {
		t.Fatalf("camera %+v", c)
	}
	if len(r.Accelerators) != 0 {
		t.Fatalf("accelerators %v", r.Accelerators)
	}
}

func TestHostRuns(t *testing.T) {
	// The real machine: whatever it is, doctor must report without failing.
	r := Run(context.Background(), Host(nil))
	if len(r.Checks) == 0 || r.Detection.Board.Name == "" {
		t.Fatalf("%+v", r)
	}
	if r.Periph == nil && len(find(r, "periph")) == 0 {
		t.Fatal("periph host.Init not reported")
	}
}
