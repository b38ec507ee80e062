// Package boards is the single table of supported targets. Everything that
// depends on a board — `edgecnn boards`, cross builds (package cross), the
// deployment bundle and its systemd unit (package deploy) and on-device
// detection (`edgecnn doctor`) — reads it from here.
//
// Like Go's cmd/dist, the table is the one point of truth; GOARM is always
// explicit for 32-bit arm.
package boards

import (
	"fmt"
	"sort"
	"strings"
)

// Kind says whether an entry is a computer that runs edgecnn or an
// accelerator attached to one.
type Kind string

// Kinds of entries.
const (
	KindBoard       Kind = "board"
	KindAccelerator Kind = "accelerator"
)

// Accelerator names used in the table and by detection.
const (
	AccelEdgeTPUUSB  = "edgetpu-usb"  // Coral USB Accelerator (1a6e:089a, 18d1:9302)
	AccelEdgeTPUPCIe = "edgetpu-pcie" // Coral PCIe/M.2 or Dev Board (/dev/apex_0)
	AccelCUDA        = "cuda"         // NVIDIA GPU through CUDA / TensorRT
)

// CPU describes a board's processor as far as the kernels care.
type CPU struct {
	Model   string `json:"model"`   // e.g. "Cortex-A72"
	Cores   int    `json:"cores"`   // online cores
	MHz     int    `json:"mhz"`     // nominal maximum clock
	NEON    bool   `json:"neon"`    // Advanced SIMD (always on arm64)
	DotProd bool   `json:"dotprod"` // ARMv8.2 SDOT/UDOT (asimddp)
}

// Board is one row of the table.
type Board struct {
	Name     string   `json:"name"`
	Title    string   `json:"title"`
	Kind     Kind     `json:"kind"`
	GOOS     string   `json:"goos,omitempty"`
	GOARCH   string   `json:"goarch,omitempty"`
	GOARM    string   `json:"goarm,omitempty"` // always set when GOARCH is arm
	CPU      CPU      `json:"cpu"`
	RAMMB    []int    `json:"ram_mb,omitempty"` // the variants sold, in MiB
	Accels   []string `json:"accelerators,omitempty"`
	Backend  string   `json:"default_backend,omitempty"` // runtime backend the deploy defaults to
	Camera   string   `json:"default_camera,omitempty"`  // camera source the unit defaults to
	CCTriple string   `json:"cc_triple,omitempty"`       // Debian cross-compiler prefix for cgo builds
	// Models are prefixes of /proc/device-tree/model (or the "Model" line of
	// /proc/cpuinfo) that identify the board.
	Models []string `json:"dt_models,omitempty"`
	// Revisions are Raspberry Pi new-style revision-code board types
	// (bits 4..11 of the "Revision" line in /proc/cpuinfo), a fallback when
	// the device tree is not mounted.
	Revisions []int `json:"rpi_revision_types,omitempty"`
	// Groups are the supplementary groups the service user joins (camera,
	// GPIO, accelerator device nodes).
	Groups []string `json:"groups,omitempty"`
	// OS is the operating system the board usually runs.
	OS    string `json:"os,omitempty"`
	Notes string `json:"notes,omitempty"`
}

// Triple returns the platform as GOOS/GOARCH[/vGOARM].
func (b Board) Triple() string {
	if b.GOOS == "" {
		return "-"
	}
	s := b.GOOS + "/" + b.GOARCH
	if b.GOARM != "" {
		s += "/v" + b.GOARM
	}
	return s
}

// Generic reports whether the board is one of the generic-* fallbacks.
func (b Board) Generic() bool { return strings.HasPrefix(b.Name, "generic-") }

// table is the single source of truth. Keep it sorted by name.
var table = []Board{
	{
		Name: "coral-devboard", Title: "Coral Dev Board (NXP i.MX 8M + Edge TPU)", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:   CPU{Model: "Cortex-A53", Cores: 4, MHz: 1500, NEON: true},
		RAMMB: []int{1024, 4096}, Accels: []string{AccelEdgeTPUPCIe},
		Backend: "native", Camera: "v4l2", CCTriple: "aarch64-linux-gnu",
		Models: []string{"Freescale i.MX8MQ Phanbell", "Coral Dev Board"},
		Groups: []string{"video", "apex", "plugdev"}, OS: "Mendel Linux (Debian 10)",
		Notes: "Edge TPU on PCIe (/dev/apex_0) needs libedgetpu.so.1 and an Edge-TPU-compiled model; Mendel's glibc 2.28 may be too old for the bundled TFLite library, so the default is the pure-Go native build; use the Edge TPU with --backend tflite once `edgecnn doctor` on the board finds libedgetpu.so.1.",
	},
	{
		Name: "coral-usb", Title: "Coral USB Accelerator (Edge TPU, attached to a host board)", Kind: KindAccelerator,
		Accels: []string{AccelEdgeTPUUSB}, Backend: "tflite",
		Groups: []string{"plugdev"},
		Notes:  "Not a computer: plug it into a host board (e.g. rpi4, rpi5) and flash that board with --backend tflite; `edgecnn doctor` on the host detects the stick (USB 1a6e:089a before firmware load, 18d1:9302 after) and checks for libedgetpu.so.1.",
	},
	{
		Name: "generic-amd64", Title: "Any x86-64 Linux machine", Kind: KindBoard,
		GOOS: "linux", GOARCH: "amd64",
		CPU:     CPU{Model: "x86-64", Cores: 0},
		Backend: "native", Camera: "v4l2", CCTriple: "x86_64-linux-gnu",
		Groups: []string{"video"}, OS: "any glibc Linux",
		Notes: "Fallback for PCs and NUCs; the native engine uses AVX2/AVX-512 VNNI when the CPU has them.",
	},
	{
		Name: "generic-arm64", Title: "Any 64-bit ARM Linux machine", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:     CPU{Model: "ARMv8-A", NEON: true},
		Backend: "native", Camera: "v4l2", CCTriple: "aarch64-linux-gnu",
		Groups: []string{"video"}, OS: "any arm64 Linux",
		Notes: "Fallback for arm64 boards not in the table; dot-product kernels are chosen at run time from /proc/cpuinfo (asimddp).",
	},
	{
		Name: "generic-armv7", Title: "Any 32-bit ARMv7 (hard-float) Linux machine", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm", GOARM: "7",
		CPU:     CPU{Model: "ARMv7-A", NEON: true},
		Backend: "native", Camera: "v4l2", CCTriple: "arm-linux-gnueabihf",
		Groups: []string{"video"}, OS: "32-bit Raspberry Pi OS / armhf Debian",
		Notes: "For 32-bit userlands (e.g. 32-bit Raspberry Pi OS on a Pi 2/3/4). Pure Go only: no prebuilt armhf TFLite/ONNX Runtime library is bundled.",
	},
	{
		Name: "jetson-nano", Title: "NVIDIA Jetson Nano (Maxwell GPU)", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:   CPU{Model: "Cortex-A57", Cores: 4, MHz: 1430, NEON: true},
		RAMMB: []int{2048, 4096}, Accels: []string{AccelCUDA},
		Backend: "native", Camera: "v4l2", CCTriple: "aarch64-linux-gnu",
		Models: []string{"NVIDIA Jetson Nano"},
		Groups: []string{"video", "gpio"}, OS: "JetPack 4 (Ubuntu 18.04, glibc 2.27)",
		Notes: "JetPack 4's glibc 2.27 is older than the prebuilt TFLite/ONNX Runtime libraries need: use the static pure-Go build (native backend). CUDA 10.2/TensorRT 8 are present but need an ONNX Runtime built on the board.",
	},
	{
		Name: "jetson-orin-nano", Title: "NVIDIA Jetson Orin Nano (Ampere GPU)", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:   CPU{Model: "Cortex-A78AE", Cores: 6, MHz: 1500, NEON: true, DotProd: true},
		RAMMB: []int{4096, 8192}, Accels: []string{AccelCUDA},
		Backend: "native", Camera: "v4l2", CCTriple: "aarch64-linux-gnu",
		Models: []string{"NVIDIA Jetson Orin Nano", "NVIDIA Jetson Orin NX"},
		Groups: []string{"video", "gpio"}, OS: "JetPack 6 (Ubuntu 22.04)",
		Notes: "CPU backends work with the bundled libraries; the CUDA/TensorRT execution providers need a GPU build of ONNX Runtime from JetPack (point --lib at it).",
	},
	{
		Name: "rpi-zero2w", Title: "Raspberry Pi Zero 2 W", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:     CPU{Model: "Cortex-A53", Cores: 4, MHz: 1000, NEON: true},
		RAMMB:   []int{512},
		Backend: "native", Camera: "libcamera", CCTriple: "aarch64-linux-gnu",
		Models: []string{"Raspberry Pi Zero 2"}, Revisions: []int{0x12},
		Groups: []string{"video", "gpio"}, OS: "Raspberry Pi OS Lite (64-bit)",
		Notes: "512 MiB RAM: keep --threads at 2-4 and prefer the native engine; with 32-bit Pi OS use generic-armv7.",
	},
	{
		Name: "rpi3", Title: "Raspberry Pi 3 Model B/B+/A+", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:     CPU{Model: "Cortex-A53", Cores: 4, MHz: 1400, NEON: true},
		RAMMB:   []int{512, 1024},
		Backend: "native", Camera: "libcamera", CCTriple: "aarch64-linux-gnu",
		Models: []string{"Raspberry Pi 3", "Raspberry Pi Compute Module 3"}, Revisions: []int{0x08, 0x0a, 0x0d, 0x0e, 0x10},
		Groups: []string{"video", "gpio"}, OS: "Raspberry Pi OS Lite (64-bit)",
		Notes: "With 32-bit Pi OS use generic-armv7.",
	},
	{
		Name: "rpi4", Title: "Raspberry Pi 4 Model B / 400 / CM4", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:     CPU{Model: "Cortex-A72", Cores: 4, MHz: 1800, NEON: true},
		RAMMB:   []int{1024, 2048, 4096, 8192},
		Backend: "native", Camera: "libcamera", CCTriple: "aarch64-linux-gnu",
		Models: []string{"Raspberry Pi 4", "Raspberry Pi 400", "Raspberry Pi Compute Module 4"}, Revisions: []int{0x11, 0x13, 0x14, 0x15},
		Groups: []string{"video", "gpio"}, OS: "Raspberry Pi OS Lite (64-bit)",
		Notes: "A Coral USB Accelerator on a USB 3 port works with --backend tflite.",
	},
	{
		Name: "rpi5", Title: "Raspberry Pi 5 / CM5", Kind: KindBoard,
		GOOS: "linux", GOARCH: "arm64",
		CPU:     CPU{Model: "Cortex-A76", Cores: 4, MHz: 2400, NEON: true, DotProd: true},
		RAMMB:   []int{2048, 4096, 8192, 16384},
		Backend: "native", Camera: "libcamera", CCTriple: "aarch64-linux-gnu",
		Models: []string{"Raspberry Pi 5", "Raspberry Pi Compute Module 5", "Raspberry Pi 500"}, Revisions: []int{0x17, 0x18, 0x19},
		Groups: []string{"video", "gpio"}, OS: "Raspberry Pi OS Lite (64-bit, Bookworm)",
		Notes: "ARMv8.2 dot-product (SDOT) kernels apply; PCIe M.2 HAT takes a Coral M.2 Edge TPU (/dev/apex_0).",
	},
}

// All returns a copy of the table, sorted by name.
func All() []Board {
	out := make([]Board, len(table))
	copy(out, table)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names lists the board names, sorted.
func Names() []string {
	var n []string
	for _, b := range All() {
		n = append(n, b.Name)
	}
	return n
}

// UnknownBoardError is returned by Lookup for a name not in the table.
type UnknownBoardError struct{ Name string }

func (e *UnknownBoardError) Error() string {
	return fmt.Sprintf("unknown board %q; known boards: %s", e.Name, strings.Join(Names(), ", "))
}

// Lookup finds a board by name (case-insensitive; "_" and "-" are the same).
func Lookup(name string) (Board, error) {
	key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	for _, b := range table {
		if b.Name == key {
			return b, nil
		}
	}
	return Board{}, &UnknownBoardError{Name: name}
}

// Target is Lookup restricted to entries that run edgecnn themselves: an
// accelerator such as coral-usb is refused with a hint to flash its host.
func Target(name string) (Board, error) {
	b, err := Lookup(name)
	if err != nil {
		return b, err
	}
	if b.Kind != KindBoard {
		return Board{}, fmt.Errorf("%s is an accelerator, not a board: %s", b.Name, b.Notes)
	}
	return b, nil
}

// ForArch returns the generic board for a GOARCH (and GOARM for arm).
func ForArch(goarch string) (Board, bool) {
	switch goarch {
	case "arm64", "aarch64":
		b, _ := Lookup("generic-arm64")
		return b, true
	case "arm", "armv7l", "armv7", "armhf":
		b, _ := Lookup("generic-armv7")
		return b, true
	case "amd64", "x86_64":
		b, _ := Lookup("generic-amd64")
		return b, true
	}
	return Board{}, false
}

// Targets is Target for every name; each may be a comma-separated list
// (`edgecnn build --board rpi4,rpi5 --board generic-amd64`).
func Targets(names []string) ([]Board, error) {
	var bs []Board
	for _, n := range names {
		for _, n := range strings.Split(n, ",") {
			b, err := Target(strings.TrimSpace(n))
			if err != nil {
				return nil, err
			}
			bs = append(bs, b)
		}
	}
	return bs, nil
}
