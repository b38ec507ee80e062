package oci

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
)

// SysrootDirs are the folders searched for a cgo binary's C libraries:
// the Debian cross toolchain's /usr/TRIPLE/lib, and for the host's own
// architecture /lib/TRIPLE and /usr/lib/TRIPLE.
func SysrootDirs(b boards.Board) []string {
	if b.CCTriple == "" {
		return nil
	}
	return []string{"/usr/" + b.CCTriple + "/lib", "/lib/" + b.CCTriple, "/usr/lib/" + b.CCTriple}
}

// systemLibs returns what a dynamically linked binary needs to start in a
// base-less image: its program interpreter (the dynamic loader, at the
// path the ELF names) and every library it and the bundled libraries load,
// found in dirs and placed in /lib (on LD_LIBRARY_PATH). A static binary
// needs nothing. Bundled libraries (by file name) are not looked up.
func systemLibs(binary string, bundled []string, dirs []string) ([]tarFile, error) {
	f, err := elf.Open(binary)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s is not an ELF executable (give the binary edgecnn build made for the board)", binary)
		}
		return nil, fmt.Errorf("read %s: %w", binary, err)
	}
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: interpreter: %w", binary, err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	f.Close()
	if interp == "" {
		return nil, nil // static
	}
	find := func(name string) (string, error) {
		for _, d := range dirs {
			p := filepath.Join(d, name)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s is needed but not found in %s (install the cross toolchain's runtime libraries, e.g. make deps)", name, strings.Join(dirs, ", "))
	}
	ld, err := find(path.Base(interp))
	if err != nil {
		return nil, err
	}
	out := []tarFile{{name: strings.TrimPrefix(interp, "/"), src: ld, mode: 0o755}}
	have := map[string]bool{path.Base(interp): true}
	for _, l := range bundled {
		have[filepath.Base(l)] = true
	}
	queue := append([]string{binary}, bundled...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		ef, err := elf.Open(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		needed, err := ef.ImportedLibraries()
		ef.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		for _, n := range needed {
			if have[n] {
				continue
			}
			have[n] = true
			src, err := find(n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
			}
			out = append(out, tarFile{name: "lib/" + n, src: src, mode: 0o755})
			queue = append(queue, src)
		}
	}
	return out, nil
}
