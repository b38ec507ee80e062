// Package atomicfile writes files so that a reader (or a crash) sees either
// the old content or the new content, never a mix: the data goes to a
// temporary file in the same directory, is fsynced, renamed over the target,
// and the directory is fsynced.
//
// Temporary files are named .<target>.tmp-<pid>-<random>. A write that was
// killed (kill -9, power loss) leaves its temporary file behind; the next
// write to the same target removes those whose process is gone, and any
// older than StaleAfter (the process id may have been reused).
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StaleAfter is the age after which another process's temporary file is
// removed even though a process with its id runs.
const StaleAfter = time.Hour

// WriteFile atomically replaces path with data, using permission perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// tmpPrefix is the name prefix of path's temporary files.
func tmpPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// ErrNotRegular is Write's error for a target that exists and is not a
// regular file (after symbolic links): a device such as /dev/null, a
// pipe, a socket or a directory. Renaming a file over it would replace
// the device node itself, so it is refused.
var ErrNotRegular = errors.New("not a regular file, refusing to replace it")

// Write atomically replaces path with whatever fill writes. If fill returns
// an error the target is left untouched and the temporary file is removed.
// A target that exists and is not a regular file is refused (ErrNotRegular).
func Write(path string, perm os.FileMode, fill func(w io.Writer) error) (err error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("atomic write %s: %w (%v)", path, ErrNotRegular, fi.Mode().Type())
	}
	dir := filepath.Dir(path)
	RemoveStale(path)
	f, err := os.CreateTemp(dir, tmpPrefix(path)+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("atomic write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomic write %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // best effort: not every filesystem supports directory fsync
		d.Close()
	}
	return nil
}

// RemoveStale removes the temporary files that interrupted writes to path
// left: those of processes that no longer run, those older than
// StaleAfter, and those without a process id in their name (older
// versions). It returns the names removed; errors are ignored (a file that
// cannot be removed is no worse than before).
func RemoveStale(path string) []string {
	dir, prefix := filepath.Dir(path), tmpPrefix(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		stale := true
		if pidStr, _, ok := strings.Cut(rest, "-"); ok {
			if pid, err := strconv.Atoi(pidStr); err == nil && pid > 0 && processRuns(pid) {
				info, err := e.Info()
				stale = err == nil && time.Since(info.ModTime()) > StaleAfter
			}
		}
		if stale && os.Remove(filepath.Join(dir, name)) == nil {
			removed = append(removed, name)
		}
	}
	return removed
}
