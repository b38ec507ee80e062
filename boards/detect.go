package boards

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// Detection is what Detect found out about the machine it runs on.
type Detection struct {
	Board  Board  `json:"board"`
	Known  bool   `json:"known"`  // false: only a generic-* fallback matched
	Source string `json:"source"` // "device-tree", "cpuinfo-model", "cpuinfo-revision" or "arch"
	Model  string `json:"model,omitempty"`
	// Revision is the Raspberry Pi revision code, when /proc/cpuinfo has one.
	Revision string   `json:"revision,omitempty"`
	Arch     string   `json:"arch"` // GOARCH of the CPU as the kernel reports it
	Cores    int      `json:"cores"`
	MemMB    int      `json:"mem_mb"`
	Features []string `json:"cpu_features,omitempty"`
	NEON     bool     `json:"neon"`
	DotProd  bool     `json:"dotprod"`
}

// Detector detects the board below Root (normally "/"; tests point it at a
// directory of fixture files laid out like proc/device-tree/model,
// proc/cpuinfo and proc/meminfo). Detection runs once, lazily, and is
// cached, as in periph.io's host packages.
type Detector struct {
	Root string

	once sync.Once
	det  Detection
}

// NewDetector returns a detector for the filesystem under root.
func NewDetector(root string) *Detector { return &Detector{Root: root} }

var host = NewDetector("/")

// Detect describes the machine this process runs on (cached).
func Detect() Detection { return host.Detect() }

// Detect runs detection on first use and returns the cached result.
func (d *Detector) Detect() Detection {
	d.once.Do(func() { d.det = d.detect() })
	return d.det
}

func (d *Detector) path(p string) string { return filepath.Join(d.Root, p) }

func (d *Detector) detect() Detection {
	var det Detection
	info := parseCPUInfo(d.path("proc/cpuinfo"))
	det.Cores = info.processors
	det.Features = info.features
	det.Revision = info.revision
	det.Arch = info.arch()
	if det.Arch == "" {
		det.Arch = runtime.GOARCH
	}
	det.NEON = det.Arch == "arm64" || has(info.features, "neon") || has(info.features, "asimd")
	det.DotProd = has(info.features, "asimddp")
	det.MemMB = memTotalMB(d.path("proc/meminfo"))

	// 1. The device tree names the board exactly.
	if m := readModel(d.path("proc/device-tree/model")); m != "" {
		det.Model = m
		if b, ok := byModel(m); ok {
			det.Board, det.Known, det.Source = b, true, "device-tree"
			return det
		}
	} else if m := readModel(d.path("sys/firmware/devicetree/base/model")); m != "" {
		det.Model = m
		if b, ok := byModel(m); ok {
			det.Board, det.Known, det.Source = b, true, "device-tree"
			return det
		}
	}
	// 2. /proc/cpuinfo's Model line (Raspberry Pi kernels print it).
	if info.model != "" {
		if det.Model == "" {
			det.Model = info.model
		}
		if b, ok := byModel(info.model); ok {
			det.Board, det.Known, det.Source = b, true, "cpuinfo-model"
			return det
		}
	}
	// 3. The Raspberry Pi revision code.
	if typ, ok := rpiRevisionType(info.revision); ok {
		for _, b := range table {
			for _, r := range b.Revisions {
				if r == typ {
					det.Board, det.Known, det.Source = b, true, "cpuinfo-revision"
					return det
				}
			}
		}
	}
	// 4. Fall back to the generic board of the architecture.
	if b, ok := ForArch(det.Arch); ok {
		det.Board, det.Source = b, "arch"
	}
	return det
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// byModel matches a device-tree model string against the table's prefixes.
func byModel(model string) (Board, bool) {
	for _, b := range table {
		for _, p := range b.Models {
			if strings.HasPrefix(model, p) {
				return b, true
			}
		}
	}
	return Board{}, false
}

// rpiRevisionType decodes a new-style Raspberry Pi revision code (bit 23
// set) into its board type (bits 4..11).
func rpiRevisionType(rev string) (int, bool) {
	if rev == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimPrefix(rev, "0x"), 16, 32)
	if err != nil || v&(1<<23) == 0 {
		return 0, false
	}
	return int(v>>4) & 0xff, true
}

func readModel(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(bytes.TrimRight(b, "\x00")))
}

type cpuInfo struct {
	processors int
	features   []string
	flags      bool // x86 "flags" line seen
	cpuArch    string
	model      string
	hardware   string
	revision   string
}

func (c cpuInfo) arch() string {
	switch {
	case c.flags:
		return "amd64"
	case c.cpuArch == "8" || has(c.features, "asimd"):
		return "arm64"
	case c.cpuArch != "" || has(c.features, "neon") || has(c.features, "vfpv3"):
		return "arm"
	}
	return ""
}

func parseCPUInfo(path string) cpuInfo {
	var c cpuInfo
	f, err := os.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "processor":
			c.processors++
		case "Features":
			if c.features == nil {
				c.features = strings.Fields(v)
			}
		case "flags":
			if c.features == nil {
				c.features = strings.Fields(v)
			}
			c.flags = true
		case "CPU architecture":
			c.cpuArch = v
		case "Model":
			c.model = v
		case "Hardware":
			c.hardware = v
		case "Revision":
			c.revision = v
		}
	}
	return c
}

func memTotalMB(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.Atoi(f[1])
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
