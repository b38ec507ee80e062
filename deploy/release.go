package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// installStats says what installing a release cost.
type installStats struct {
	Present  bool  // the release directory already existed with the same SHA256SUMS
	Uploaded int   // files sent
	Linked   int   // files hard-linked from an earlier release
	Payload  int64 // bytes of file contents sent
}

// releasesDir is PREFIX/releases.
func releasesDir(prefix string) string { return path.Join(prefix, "releases") }

// installRelease puts b into PREFIX/releases/<b.Release>. Files go into a
// staging directory under temporary names and are renamed when complete;
// the staging directory is renamed to its final name only once every file
// and SHA256SUMS are in place, so an interrupted install never leaves a
// half release under a release name (and never touches `current`). Files
// whose checksum matches a file of an existing release are hard-linked
// instead of sent.
func installRelease(ctx context.Context, f fileSystem, b *Bundle, prefix string, logf func(string, ...any)) (installStats, error) {
	var st installStats
	rels := releasesDir(prefix)
	if err := f.MkdirAll(rels); err != nil {
		return st, fmt.Errorf("create %s: %w", rels, err)
	}
	// Staging directories of failed installs are removed first, so the
	// space they hold counts as free below.
	if removed := removeStaging(f, prefix); len(removed) > 0 {
		logf("removed what an interrupted flash left: %s", strings.Join(removed, ", "))
	}
	final := path.Join(rels, b.Release)
	if old, err := f.ReadFile(path.Join(final, SumsFile)); err == nil && bytes.Equal(old, b.Sums) {
		st.Present = true
		return st, nil
	}

	// Index the files of existing releases by checksum.
	have := map[string]string{}
	ents, _ := f.ReadDir(rels)
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := f.ReadFile(path.Join(rels, e.Name(), SumsFile))
		if err != nil {
			continue
		}
		sums, err := ParseSums(data)
		if err != nil {
			continue
		}
		for name, sum := range sums {
			if _, ok := have[sum]; !ok {
				have[sum] = path.Join(rels, e.Name(), name)
			}
		}
	}

	// Free space: what must be sent, plus 1 MiB of slack.
	var need int64
	for _, file := range b.Files {
		if _, ok := have[file.Sum]; !ok {
			need += file.Size
		}
	}
	if free, ok := f.Free(rels); ok && free < need+1<<20 {
		return st, fmt.Errorf("not enough space on the target: %s has %s free, the release needs %s; free some space (old releases are in %s)",
			rels, human(free), human(need+1<<20), rels)
	}

	var rnd [4]byte
	rand.Read(rnd[:])
	stage := path.Join(rels, ".staging-"+b.Release+"-"+hex.EncodeToString(rnd[:]))
	if err := f.MkdirAll(stage); err != nil {
		return st, fmt.Errorf("create %s: %w", stage, err)
	}
	for _, file := range b.Files {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		dst := path.Join(stage, file.Name)
		if dir := path.Dir(dst); dir != stage {
			if err := f.MkdirAll(dir); err != nil {
				return st, fmt.Errorf("create %s: %w", dir, err)
			}
		}
		if src, ok := have[file.Sum]; ok {
			if err := f.Link(src, dst); err == nil {
				st.Linked++
				continue
			} else {
				logf("hard link %s failed (%v); sending it", src, err)
			}
		}
		tmp := path.Join(path.Dir(dst), "."+path.Base(dst)+".part")
		r, err := file.Open()
		if err != nil {
			return st, fmt.Errorf("read %s: %w", file.Name, err)
		}
		n, err := f.WriteNew(tmp, file.Mode, r)
		r.Close()
		if err != nil {
			if free, ok := f.Free(rels); ok && free < file.Size-n {
				return st, fmt.Errorf("upload %s: %w: the target ran out of space (%s free)", file.Name, err, human(free))
			}
			return st, fmt.Errorf("upload %s: %w", file.Name, err)
		}
		if n != file.Size {
			return st, fmt.Errorf("upload %s: wrote %d of %d bytes (local file changed?)", file.Name, n, file.Size)
		}
		if fi, err := f.Lstat(tmp); err != nil || fi.Size() != file.Size {
			return st, fmt.Errorf("upload %s: size on target does not match (%v)", file.Name, err)
		}
		if err := f.Rename(tmp, dst); err != nil {
			return st, fmt.Errorf("rename %s: %w", dst, err)
		}
		st.Uploaded++
		st.Payload += n
	}
	if err := writeAtomic(f, path.Join(stage, SumsFile), 0o644, b.Sums); err != nil {
		return st, err
	}
	st.Payload += int64(len(b.Sums))
	// A leftover directory under the final name (a release whose SUMS
	// differ, e.g. a corrupt earlier attempt) is replaced.
	if _, err := f.Lstat(final); err == nil {
		if err := f.RemoveAll(final); err != nil {
			return st, fmt.Errorf("replace %s: %w", final, err)
		}
	}
	if err := f.Rename(stage, final); err != nil {
		return st, fmt.Errorf("rename %s → %s: %w", stage, final, err)
	}
	return st, nil
}

// currentRelease is the release `current` points at ("" when none).
func currentRelease(f fileSystem, prefix string) string { return linkedRelease(f, prefix, "current") }

// goodRelease is the release `good` points at: the last one that passed a
// health check ("" when none is recorded). The board-side rollback goes
// back to it.
func goodRelease(f fileSystem, prefix string) string { return linkedRelease(f, prefix, "good") }

// linkedRelease is the release the symlink PREFIX/name points at.
func linkedRelease(f fileSystem, prefix, name string) string {
	t, err := f.Readlink(path.Join(prefix, name))
	if err != nil {
		return ""
	}
	return path.Base(t)
}

// releaseExists reports whether releases/<rel> is a complete release.
func releaseExists(f fileSystem, prefix, rel string) bool {
	_, err := f.Lstat(path.Join(releasesDir(prefix), rel, SumsFile))
	return rel != "" && err == nil
}

// switchCurrent points PREFIX/current at releases/<rel> atomically: a new
// symlink current.tmp is renamed over current.
func switchCurrent(f fileSystem, prefix, rel string) error { return setLink(f, prefix, "current", rel) }

// setLink points the symlink PREFIX/name at releases/<rel> atomically.
func setLink(f fileSystem, prefix, name, rel string) error {
	tmp := path.Join(prefix, name+".tmp")
	f.RemoveAll(tmp)
	if err := f.Symlink(path.Join("releases", rel), tmp); err != nil {
		return fmt.Errorf("symlink %s: %w", tmp, err)
	}
	if err := f.Rename(tmp, path.Join(prefix, name)); err != nil {
		f.RemoveAll(tmp)
		return fmt.Errorf("switch %s/%s: %w", prefix, name, err)
	}
	return nil
}

// removeStaging removes what interrupted installs left behind: staging
// directories under releases/ and half-made symlinks. It runs under the
// board's flash lock (or on an SD card), so none of it belongs to a live
// flash. It returns the names removed.
func removeStaging(f fileSystem, prefix string) []string {
	var removed []string
	rels := releasesDir(prefix)
	ents, _ := f.ReadDir(rels)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".staging-") {
			if f.RemoveAll(path.Join(rels, e.Name())) == nil {
				removed = append(removed, e.Name())
			}
		}
	}
	for _, n := range []string{"current.tmp", "good.tmp"} {
		if _, err := f.Lstat(path.Join(prefix, n)); err == nil && f.RemoveAll(path.Join(prefix, n)) == nil {
			removed = append(removed, n)
		}
	}
	return removed
}

// pruneReleases removes stale staging directories and all but the keep
// newest releases, never touching the ones in protect.
func pruneReleases(f fileSystem, prefix string, keep int, protect ...string) []string {
	rels := releasesDir(prefix)
	ents, err := f.ReadDir(rels)
	if err != nil {
		return nil
	}
	var removed []string
	var list []releaseInfo
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".staging-") {
			if f.RemoveAll(path.Join(rels, e.Name())) == nil {
				removed = append(removed, e.Name())
			}
			continue
		}
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			list = append(list, releaseInfo{e.Name(), e.ModTime().UnixNano()})
		}
	}
	if keep <= 0 {
		return removed
	}
	sort.Slice(list, func(i, j int) bool { return list[i].mtime > list[j].mtime })
	kept := 0
	for _, r := range list {
		protected := false
		for _, p := range protect {
			if p == r.name {
				protected = true
			}
		}
		if protected || kept < keep {
			kept++
			continue
		}
		if f.RemoveAll(path.Join(rels, r.name)) == nil {
			removed = append(removed, r.name)
		}
	}
	return removed
}

type releaseInfo struct {
	name  string
	mtime int64
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
