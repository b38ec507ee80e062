package deploy

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// RootResult says what InstallRoot did.
type RootResult struct {
	Release  string
	Previous string
	Present  bool // the release was already on the card
	Uploaded int
	Linked   int
	Payload  int64
}

// InstallRoot writes the bundle into a mounted root filesystem at dest
// (e.g. the rootfs partition of a Raspberry Pi OS SD card) with the same
// layout as Flash, installs the unit and the sysusers entry, and enables
// the unit by symlink in etc/systemd/system/multi-user.target.wants, so it
// starts on first boot (systemd-sysusers creates the user at boot).
func InstallRoot(ctx context.Context, dest string, b *Bundle, unitDir, sysusersDir string, log func(string, ...any)) (RootResult, error) {
	res := RootResult{Release: b.Release}
	if log == nil {
		log = func(string, ...any) {}
	}
	if unitDir == "" {
		unitDir = "/etc/systemd/system"
	}
	if sysusersDir == "" {
		sysusersDir = "/etc/sysusers.d"
	}
	if st, err := os.Stat(filepath.Join(dest, "etc")); err != nil || !st.IsDir() {
		return res, fmt.Errorf("%s does not look like a root filesystem (no etc/): mount the SD card's rootfs partition and pass its mount point", dest)
	}
	f := localFS{Root: dest}
	prefix := b.Service.Prefix
	res.Previous = currentRelease(f, prefix)
	st, err := installRelease(ctx, f, b, prefix, log)
	res.Present, res.Uploaded, res.Linked, res.Payload = st.Present, st.Uploaded, st.Linked, st.Payload
	if err != nil {
		return res, fmt.Errorf("write release: %w", err)
	}
	if err := f.MkdirAll(unitDir); err != nil {
		return res, err
	}
	unitPath := path.Join(unitDir, b.Service.UnitName())
	if err := writeAtomic(f, unitPath, 0o644, []byte(b.Unit)); err != nil {
		return res, err
	}
	if err := writeAtomic(f, path.Join(unitDir, b.Service.RollbackUnitName()), 0o644, []byte(b.RollbackUnit)); err != nil {
		return res, err
	}
	if err := f.MkdirAll(sysusersDir); err != nil {
		return res, err
	}
	if err := writeAtomic(f, path.Join(sysusersDir, b.Service.Name+".conf"), 0o644, []byte(b.Service.Sysusers())); err != nil {
		return res, err
	}
	wants := path.Join(unitDir, "multi-user.target.wants")
	if err := f.MkdirAll(wants); err != nil {
		return res, err
	}
	link := path.Join(wants, b.Service.UnitName())
	tmp := link + ".tmp"
	f.RemoveAll(tmp)
	if err := f.Symlink(unitPath, tmp); err != nil {
		return res, fmt.Errorf("enable unit: %w", err)
	}
	if err := f.Rename(tmp, link); err != nil {
		return res, fmt.Errorf("enable unit: %w", err)
	}
	// The release that was current is the board-side rollback's fallback
	// until the new one passes a health check (a later flash records it).
	good := goodRelease(f, prefix)
	if !releaseExists(f, prefix, good) && res.Previous != "" && res.Previous != b.Release {
		if err := setLink(f, prefix, "good", res.Previous); err != nil {
			return res, err
		}
		good = res.Previous
	}
	if err := switchCurrent(f, prefix, b.Release); err != nil {
		return res, err
	}
	pruneReleases(f, prefix, 3, b.Release, res.Previous, good)
	log("wrote release %s into %s; %s enabled for first boot", b.Release, dest, b.Service.UnitName())
	return res, nil
}
