// Package doctor inspects the machine edgecnn runs on — board, CPU,
// cameras, accelerators, runtime libraries, service — and says what to fix.
// It works on any Linux machine: an unknown board is reported as such,
// with the generic fallback it will be treated as.
//
// All filesystem probes go through Env.Root and the command probes through
// Env.LookPath and Env.Ldconfig, so tests run it against fixture trees.
package doctor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
	"periph.io/x/host/v3"
)

// Status of a check.
type Status string

// Statuses, from good to bad.
const (
	OK    Status = "ok"
	Info  Status = "info"
	Warn  Status = "warn"
	Error Status = "error"
)

// Check is one finding.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Periph is the outcome of periph.io's host.Init.
type Periph struct {
	Loaded  []string `json:"loaded"`
	Skipped []string `json:"skipped,omitempty"`
	Failed  []string `json:"failed,omitempty"`
}

// Report is everything doctor found.
type Report struct {
	Detection    boards.Detection  `json:"detection"`
	Cameras      []string          `json:"cameras"`
	Accelerators []string          `json:"accelerators"`
	Libraries    map[string]string `json:"libraries"` // name → path ("" when missing)
	Periph       *Periph           `json:"periph,omitempty"`
	Checks       []Check           `json:"checks"`
}

// Worst is the most severe status among the checks.
func (r Report) Worst() Status {
	rank := map[Status]int{OK: 0, Info: 0, Warn: 1, Error: 2}
	w := OK
	for _, c := range r.Checks {
		if rank[c.Status] > rank[w] {
			w = c.Status
		}
	}
	return w
}

// Env is where doctor looks.
type Env struct {
	Root     string                       // filesystem root ("/")
	LookPath func(string) (string, error) // nil: exec.LookPath
	Ldconfig func() (string, error)       // `ldconfig -p` output; nil: run it
	ExeDir   string                       // directory of the edgecnn binary (its lib/ is searched)
	Backends []string                     // backends compiled into this binary
	Periph   bool                         // run periph.io host.Init (only for Root "/")
	Detector *boards.Detector             // nil: boards.NewDetector(Root)
	// Kernels names the SIMD kernels this binary's engine selected on this
	// CPU (e.g. "int8 avx512-vnni, float avx2-fma"); empty: not reported.
	Kernels string
}

// Host is the Env of the running machine.
func Host(backends []string) Env {
	e := Env{Root: "/", Backends: backends, Periph: true}
	if exe, err := os.Executable(); err == nil {
		if r, err := filepath.EvalSymlinks(exe); err == nil {
			exe = r
		}
		e.ExeDir = filepath.Dir(exe)
	}
	return e
}

// Edge TPU USB ids: before its firmware is loaded, and after.
var edgeTPUUSB = map[string]string{"1a6e:089a": "Coral USB Accelerator (Global Unichip, firmware not loaded yet)", "18d1:9302": "Coral USB Accelerator (Google, running)"}

// Libraries doctor looks for.
const (
	LibTFLite  = "libtensorflowlite_c.so"
	LibORT     = "libonnxruntime.so"
	LibEdgeTPU = "libedgetpu.so.1"
	LibCUDART  = "libcudart.so"
	LibNVInfer = "libnvinfer.so"
)

// Run performs every check.
func Run(ctx context.Context, env Env) Report {
	if env.Root == "" {
		env.Root = "/"
	}
	if env.LookPath == nil {
		env.LookPath = exec.LookPath
	}
	if env.Ldconfig == nil {
		env.Ldconfig = func() (string, error) {
			out, err := exec.CommandContext(ctx, "ldconfig", "-p").Output()
			if err != nil {
				out, err = exec.CommandContext(ctx, "/sbin/ldconfig", "-p").Output()
			}
			return string(out), err
		}
	}
	det := env.Detector
	if det == nil {
		det = boards.NewDetector(env.Root)
	}
	c := &checker{env: env, r: Report{Detection: det.Detect(), Libraries: map[string]string{}}}
	c.board()
	c.cpu()
	c.cameras()
	ld, _ := env.Ldconfig()
	for _, lib := range []string{LibTFLite, LibORT, LibEdgeTPU, LibCUDART, LibNVInfer} {
		c.r.Libraries[lib] = findLib(env, ld, lib)
	}
	c.accelerators()
	c.backends()
	c.service()
	return c.r
}

// checker is one Run: the environment and the report its checks fill.
type checker struct {
	env Env
	r   Report
}

// add appends a check to the report.
func (c *checker) add(name string, st Status, detail, fix string) {
	c.r.Checks = append(c.r.Checks, Check{Name: name, Status: st, Detail: detail, Fix: fix})
}

// path is rel under the environment's root.
func (c *checker) path(rel string) string { return filepath.Join(c.env.Root, rel) }

// board reports the detected board and, on the running machine, periph.io's
// drivers.
func (c *checker) board() {
	d := c.r.Detection
	if d.Known {
		c.add("board", OK, fmt.Sprintf("%s — %s (from %s: %q)", d.Board.Name, d.Board.Title, d.Source, d.Model), "")
	} else {
		model := d.Model
		if model == "" {
			model = "no device-tree model"
		}
		c.add("board", Warn, fmt.Sprintf("not a known board (%s); treated as %s", model, d.Board.Name),
			"nothing to fix if this is intended; `edgecnn boards` lists the supported boards, build with --board "+d.Board.Name)
	}
	if c.env.Periph && c.env.Root == "/" {
		c.periph()
	}
}

// periph runs periph.io's host.Init and reports its drivers.
func (c *checker) periph() {
	st, err := host.Init()
	if err != nil {
		c.add("periph", Warn, "periph.io host.Init: "+err.Error(), "GPIO triggers may not work")
		return
	}
	pr := &Periph{}
	for _, l := range st.Loaded {
		pr.Loaded = append(pr.Loaded, l.String())
	}
	for _, s := range st.Skipped {
		pr.Skipped = append(pr.Skipped, s.String())
	}
	for _, f := range st.Failed {
		pr.Failed = append(pr.Failed, f.String())
	}
	c.r.Periph = pr
	if len(pr.Failed) > 0 {
		c.add("periph", Warn, fmt.Sprintf("periph.io drivers: %d loaded, %d failed: %s", len(pr.Loaded), len(pr.Failed), strings.Join(pr.Failed, "; ")),
			"GPIO needs the service user in group gpio (the flashed unit adds it) or root")
	} else {
		c.add("periph", Info, fmt.Sprintf("periph.io drivers: %d loaded (%s), %d skipped (hardware absent)", len(pr.Loaded), strings.Join(pr.Loaded, ", "), len(pr.Skipped)), "")
	}
}

// cpu reports the CPU, the memory and a 32-bit userland on a 64-bit CPU.
func (c *checker) cpu() {
	d := c.r.Detection
	c.add("cpu", OK, cpuLine(d, c.env.Kernels), "")
	if d.Known && d.Board.CPU.DotProd && !d.DotProd && d.Cores > 0 {
		c.add("cpu", Warn, "the table says this board has dot-product instructions but /proc/cpuinfo lacks asimddp", "update the kernel; kernels fall back to ARMv8.0 code meanwhile")
	}
	if d.MemMB > 0 && d.MemMB < 1024 {
		c.add("memory", Warn, fmt.Sprintf("%d MiB RAM", d.MemMB), "run with --threads 2 and the native backend")
	} else if d.MemMB > 0 {
		c.add("memory", OK, fmt.Sprintf("%d MiB RAM", d.MemMB), "")
	}
	if d.Board.GOARCH != "" && d.Arch != "" && d.Arch != d.Board.GOARCH {
		c.add("userland", Warn, fmt.Sprintf("kernel CPU is %s but the board entry %s is %s", d.Arch, d.Board.Name, d.Board.GOARCH),
			"a 32-bit userland on a 64-bit CPU: flash --board generic-armv7")
	}
}

// cameras lists the V4L2 devices and libcamera's tools.
func (c *checker) cameras() {
	d, r, env := c.r.Detection, &c.r, c.env
	vids, _ := filepath.Glob(c.path("dev/video*"))
	sort.Strings(vids)
	for _, v := range vids {
		name := strings.TrimPrefix(v, strings.TrimSuffix(env.Root, "/"))
		if b, err := os.ReadFile(c.path(filepath.Join("sys/class/video4linux", filepath.Base(v), "name"))); err == nil {
			name += " (" + strings.TrimSpace(string(b)) + ")"
		}
		r.Cameras = append(r.Cameras, name)
	}
	var libcam string
	for _, cmd := range []string{"rpicam-vid", "libcamera-vid"} {
		if path, err := env.LookPath(cmd); err == nil {
			libcam = path
			break
		}
	}
	if libcam != "" {
		r.Cameras = append(r.Cameras, "libcamera: "+libcam)
	}
	switch {
	case len(r.Cameras) > 0:
		c.add("camera", OK, strings.Join(r.Cameras, ", "), "")
	case d.Board.Camera == "libcamera":
		c.add("camera", Warn, "no /dev/video* device and no rpicam-vid/libcamera-vid", "connect the camera ribbon, then: sudo apt install rpicam-apps; or use --camera DIR (a folder of images) / --camera stdin:mjpeg")
	default:
		c.add("camera", Warn, "no /dev/video* device", "plug in a UVC webcam, or use --camera DIR (a folder of images) / --camera stdin:mjpeg")
	}
	if d.Board.Camera == "libcamera" && libcam == "" && len(vids) > 0 {
		c.add("camera", Info, "Raspberry Pi CSI cameras need libcamera", "sudo apt install rpicam-apps")
	}
}

// accelerators looks for Edge TPUs (USB, PCIe) and CUDA, and checks that
// the libraries they need are there.
func (c *checker) accelerators() {
	d, r := c.r.Detection, &c.r
	usb, _ := filepath.Glob(c.path("sys/bus/usb/devices/*/idVendor"))
	for _, vf := range usb {
		dir := filepath.Dir(vf)
		v, _ := os.ReadFile(vf)
		pr, _ := os.ReadFile(filepath.Join(dir, "idProduct"))
		id := strings.TrimSpace(string(v)) + ":" + strings.TrimSpace(string(pr))
		if desc, ok := edgeTPUUSB[id]; ok {
			r.Accelerators = append(r.Accelerators, fmt.Sprintf("%s %s at usb %s", boards.AccelEdgeTPUUSB, id, filepath.Base(dir)))
			c.add("edgetpu", OK, desc+" on USB "+filepath.Base(dir), "")
		}
	}
	if _, err := os.Stat(c.path("dev/apex_0")); err == nil {
		r.Accelerators = append(r.Accelerators, boards.AccelEdgeTPUPCIe+" /dev/apex_0")
		c.add("edgetpu", OK, "Edge TPU on PCIe (/dev/apex_0)", "")
	} else if d.Board.Name == "coral-devboard" {
		c.add("edgetpu", Error, "Coral Dev Board without /dev/apex_0", "load the gasket/apex driver: sudo modprobe apex (Mendel ships it)")
	}
	hasTPU := len(r.Accelerators) > 0
	if hasTPU && r.Libraries[LibEdgeTPU] == "" {
		c.add("edgetpu", Error, "an Edge TPU is attached but "+LibEdgeTPU+" is missing",
			"add Coral's apt repository (packages.cloud.google.com/apt coral-edgetpu-stable) and: sudo apt install libedgetpu1-std")
	}
	if cu := r.Libraries[LibCUDART]; cu != "" {
		r.Accelerators = append(r.Accelerators, boards.AccelCUDA+" "+cu)
		detail := "CUDA runtime " + cu
		if nv := r.Libraries[LibNVInfer]; nv != "" {
			detail += ", TensorRT " + nv
		}
		c.add("cuda", OK, detail, "")
	} else if hasAccel(d.Board, boards.AccelCUDA) {
		c.add("cuda", Warn, "board has an NVIDIA GPU but libcudart is not found", "install JetPack's CUDA runtime (sudo apt install nvidia-jetpack), or use the native CPU backend")
	}
	if len(r.Accelerators) == 0 && len(d.Board.Accels) == 0 {
		c.add("accelerators", Info, "none found (Edge TPU USB/PCIe, CUDA); the CPU backends are used", "")
	}
}

// backends checks that the library of every backend compiled into this
// binary is found, and notes the missing libraries.
func (c *checker) backends() {
	r := &c.r
	for _, be := range c.env.Backends {
		switch be {
		case "tflite":
			if r.Libraries[LibTFLite] == "" {
				c.add("backend tflite", Error, "this binary has the tflite backend but "+LibTFLite+" is not found (lib/ beside the binary, or the loader path)",
					"re-flash with edgecnn flash --backend tflite (it bundles the library in lib/), or use --backend native")
			} else {
				c.add("backend tflite", OK, r.Libraries[LibTFLite], "")
			}
		case "onnxruntime":
			if r.Libraries[LibORT] == "" {
				c.add("backend onnxruntime", Error, "this binary has the onnxruntime backend but libonnxruntime.so.1 is not found",
					"re-flash with edgecnn flash --backend onnxruntime (it bundles the library in lib/), or set EDGECNN_ORT_LIB")
			} else {
				c.add("backend onnxruntime", OK, r.Libraries[LibORT], "")
			}
		}
	}
	for _, lib := range []string{LibTFLite, LibORT, LibEdgeTPU} {
		if r.Libraries[lib] == "" {
			c.add("library", Info, lib+" not found", "")
		}
	}
}

// service reports whether edgecnn.service is installed, and its release.
func (c *checker) service() {
	if _, err := os.Stat(c.path("etc/systemd/system/edgecnn.service")); err == nil {
		detail := "edgecnn.service installed"
		if t, err := os.Readlink(c.path("opt/edgecnn/current")); err == nil {
			detail += ", current → " + t
		}
		c.add("service", OK, detail, "")
	} else {
		c.add("service", Info, "edgecnn.service not installed", "from your computer: edgecnn flash --board "+c.r.Detection.Board.Name+" --host USER@THIS-BOARD")
	}
}

// x86Features are the amd64 CPU flags the engine's kernels use.
var x86Features = []string{"avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni"}

// cpuLine describes the CPU by what the kernels use: NEON and dot product
// on arm, AVX2/FMA/AVX-512/VNNI on amd64, plus the kernels selected.
func cpuLine(d boards.Detection, kernels string) string {
	line := fmt.Sprintf("%s, %d cores", d.Arch, d.Cores)
	switch d.Arch {
	case "arm64", "arm":
		line += fmt.Sprintf(", NEON=%v, dotprod=%v", d.NEON, d.DotProd)
	case "amd64", "386":
		var have []string
		for _, f := range x86Features {
			if slices.Contains(d.Features, f) {
				have = append(have, f)
			}
		}
		if len(have) == 0 {
			have = []string{"no AVX2 (generic kernels)"}
		}
		line += ", " + strings.Join(have, " ")
	}
	if kernels != "" {
		line += "; kernels: " + kernels
	}
	return line
}

func hasAccel(b boards.Board, a string) bool {
	for _, x := range b.Accels {
		if x == a {
			return true
		}
	}
	return false
}

// findLib looks for a library beside the binary, in the loader cache and
// in the usual directories.
func findLib(env Env, ldconfig, name string) string {
	cands := []string{name}
	if !strings.HasSuffix(name, ".1") {
		cands = append(cands, name+".1")
	}
	if env.ExeDir != "" {
		for _, c := range cands {
			if p := filepath.Join(env.ExeDir, "lib", c); exists(p) {
				return p
			}
		}
	}
	for _, line := range strings.Split(ldconfig, "\n") {
		l := strings.TrimSpace(line)
		for _, c := range cands {
			if strings.HasPrefix(l, c+" ") || strings.HasPrefix(l, c+".") {
				if _, path, ok := strings.Cut(l, "=> "); ok {
					return strings.TrimSpace(path)
				}
			}
		}
	}
	dirs := []string{"usr/lib", "usr/local/lib", "usr/lib/aarch64-linux-gnu", "usr/lib/arm-linux-gnueabihf", "usr/lib/x86_64-linux-gnu",
		"usr/local/cuda/lib64", "usr/local/cuda/targets/aarch64-linux/lib", "usr/lib/aarch64-linux-gnu/tegra"}
	for _, d := range dirs {
		for _, c := range cands {
			if m, _ := filepath.Glob(filepath.Join(env.Root, d, c+"*")); len(m) > 0 {
				return m[0]
			}
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
