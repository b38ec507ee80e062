package deploy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/pkg/sftp"
)

// fileSystem is the little a release install needs. Paths are absolute and
// slash-separated on the target. sftpFS works on a board over SSH; localFS
// on a mounted root filesystem (SD card).
type fileSystem interface {
	MkdirAll(p string) error
	ReadFile(p string) ([]byte, error)
	// WriteNew creates (or truncates) p with mode and copies r into it.
	WriteNew(p string, mode os.FileMode, r io.Reader) (int64, error)
	Link(oldname, newname string) error
	Symlink(target, link string) error
	Rename(oldname, newname string) error // replaces newname (POSIX rename)
	RemoveAll(p string) error
	ReadDir(p string) ([]fs.FileInfo, error)
	Readlink(p string) (string, error)
	Lstat(p string) (fs.FileInfo, error)
	// Free is the space available below p in bytes (ok=false: unknown).
	Free(p string) (int64, bool)
}

type sftpFS struct{ c *sftp.Client }

func (s sftpFS) MkdirAll(p string) error { return s.c.MkdirAll(p) }
func (s sftpFS) ReadFile(p string) ([]byte, error) {
	f, err := s.c.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
func (s sftpFS) WriteNew(p string, mode os.FileMode, r io.Reader) (int64, error) {
	f, err := s.c.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return 0, err
	}
	n, err := f.ReadFrom(r)
	if err != nil {
		f.Close()
		return n, err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return n, err
	}
	return n, f.Close()
}
func (s sftpFS) Link(o, n string) error                  { return s.c.Link(o, n) }
func (s sftpFS) Symlink(t, l string) error               { return s.c.Symlink(t, l) }
func (s sftpFS) Rename(o, n string) error                { return s.c.PosixRename(o, n) }
func (s sftpFS) RemoveAll(p string) error                { return s.c.RemoveAll(p) }
func (s sftpFS) ReadDir(p string) ([]fs.FileInfo, error) { return s.c.ReadDir(p) }
func (s sftpFS) Readlink(p string) (string, error)       { return s.c.ReadLink(p) }
func (s sftpFS) Lstat(p string) (fs.FileInfo, error)     { return s.c.Lstat(p) }
func (s sftpFS) Free(p string) (int64, bool) {
	for {
		st, err := s.c.StatVFS(p)
		if err == nil {
			return int64(st.FreeSpace()), true
		}
		if p == "/" || p == "." {
			return 0, false
		}
		p = path.Dir(p)
	}
}

// localFS is a root filesystem mounted at Root (e.g. an SD card's rootfs).
type localFS struct{ Root string }

func (l localFS) real(p string) string { return filepath.Join(l.Root, filepath.FromSlash(p)) }

func (l localFS) MkdirAll(p string) error             { return os.MkdirAll(l.real(p), 0o755) }
func (l localFS) ReadFile(p string) ([]byte, error)   { return os.ReadFile(l.real(p)) }
func (l localFS) Link(o, n string) error              { return os.Link(l.real(o), l.real(n)) }
func (l localFS) Symlink(t, link string) error        { return os.Symlink(t, l.real(link)) }
func (l localFS) Rename(o, n string) error            { return os.Rename(l.real(o), l.real(n)) }
func (l localFS) RemoveAll(p string) error            { return os.RemoveAll(l.real(p)) }
func (l localFS) Readlink(p string) (string, error)   { return os.Readlink(l.real(p)) }
func (l localFS) Lstat(p string) (fs.FileInfo, error) { return os.Lstat(l.real(p)) }
func (l localFS) ReadDir(p string) ([]fs.FileInfo, error) {
	ents, err := os.ReadDir(l.real(p))
	if err != nil {
		return nil, err
	}
	var out []fs.FileInfo
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			out = append(out, fi)
		}
	}
	return out, nil
}
func (l localFS) WriteNew(p string, mode os.FileMode, r io.Reader) (int64, error) {
	f, err := os.OpenFile(l.real(p), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
func (l localFS) Free(p string) (int64, bool) {
	var st syscall.Statfs_t
	q := l.real(p)
	for {
		if err := syscall.Statfs(q, &st); err == nil {
			return int64(st.Bavail) * int64(st.Bsize), true
		}
		parent := filepath.Dir(q)
		if parent == q {
			return 0, false
		}
		q = parent
	}
}

func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, os.ErrNotExist) || isSFTPStatus(err, 2)
}

func isSFTPStatus(err error, code uint32) bool {
	var se *sftp.StatusError
	return errors.As(err, &se) && se.Code == code
}

// writeAtomic writes data to p through a temporary name in the same
// directory and a rename.
func writeAtomic(f fileSystem, p string, mode os.FileMode, data []byte) error {
	tmp := path.Join(path.Dir(p), "."+path.Base(p)+".tmp")
	if _, err := f.WriteNew(tmp, mode, bytesReader(data)); err != nil {
		f.RemoveAll(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	if err := f.Rename(tmp, p); err != nil {
		f.RemoveAll(tmp)
		return fmt.Errorf("rename %s: %w", p, err)
	}
	return nil
}
