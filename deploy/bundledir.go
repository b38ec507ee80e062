package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// BundleManifest describes a bundle written by WriteBundle, for tools
// other than flash (the Ansible role in deploy/ansible reads it).
type BundleManifest struct {
	Release string   `json:"release"` // folder under releases/
	Version string   `json:"version"` // release version
	Board   string   `json:"board"`   // board name
	Arch    string   `json:"arch"`    // GOARCH; the role compares it with uname -m
	Unames  []string `json:"unames"`  // uname -m values that fit the board
	Service string   `json:"service"` // unit name without .service
	Unit    string   `json:"unit"`    // unit file name
	// RollbackUnit is the board-side rollback unit the service's
	// OnFailure= starts.
	RollbackUnit string `json:"rollback_unit"`
	Prefix       string `json:"prefix"`     // install prefix on the board
	HealthURL    string `json:"health_url"` // fetched on the board; 2xx is healthy
}

// ManifestFile is the name of the manifest in a bundle folder.
const ManifestFile = "bundle.json"

// WriteBundle writes b into dir as dir/releases/<release>/ (the same files,
// SHA256SUMS, unit and sysusers entry a flash installs, written the same
// atomic way) and dir/bundle.json naming it. Releases already in dir stay;
// unchanged files are hard-linked between them.
func WriteBundle(ctx context.Context, dir string, b *Bundle) (BundleManifest, error) {
	m := BundleManifest{Release: b.Release, Version: b.Version, Board: b.Board.Name, Arch: b.Board.GOARCH,
		Service: b.Service.Name, Unit: b.Service.UnitName(), RollbackUnit: b.Service.RollbackUnitName(), Prefix: b.Service.Prefix,
		HealthURL: b.Service.HealthURL()}
	for u, a := range archNames {
		if a == b.Board.GOARCH {
			m.Unames = append(m.Unames, u)
		}
	}
	sort.Strings(m.Unames)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, fmt.Errorf("bundle: %w", err)
	}
	f := localFS{Root: dir}
	if _, err := installRelease(ctx, f, b, "/", func(string, ...any) {}); err != nil {
		return m, fmt.Errorf("bundle %s: %w", dir, err)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'), 0o644); err != nil {
		return m, fmt.Errorf("bundle: %w", err)
	}
	return m, nil
}

// BundleDir is where WriteBundle put a release inside dir.
func BundleDir(dir, release string) string {
	return filepath.Join(dir, filepath.FromSlash(path.Join("releases", release)))
}
