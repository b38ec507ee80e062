package deploy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/internal/atomicfile"
)

// DefaultCollectDir is where a flashed service keeps collected frames when
// its config says "collect": it lies in the unit's StateDirectory
// (/var/lib/edgecnn), the one place ProtectSystem=strict lets it write.
const DefaultCollectDir = "/var/lib/edgecnn/collect"

// PullResult says what a pull did.
type PullResult struct {
	Files    int   // regular files found on the board
	Fetched  int   // files transferred
	Skipped  int   // already here: same size and modification time
	Verified int   // same size, other time, same SHA-256: not transferred
	Vanished int   // deleted on the board during the pull (quota, labelling)
	Bytes    int64 // file bytes transferred
}

// Pull copies the files under remoteDir on the board into localDir,
// keeping the relative layout (inbox/, skipped/, labelled/<label>/ of a
// collection directory). It is incremental: a file present locally with
// the same size and modification time is skipped; one with the same size
// but another time is compared by SHA-256 (sha256sum on the board) and
// fetched only if it differs. Each file is written atomically and gets the
// board's modification time. Temporary files (names starting with ".")
// and anything but regular files and directories are ignored. Nothing is
// deleted on either side.
func Pull(ctx context.Context, c *Conn, remoteDir, localDir string, logf func(string, ...any)) (PullResult, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	remoteDir = path.Clean(remoteDir)
	if !path.IsAbs(remoteDir) {
		return PullResult{}, fmt.Errorf("pull: remote directory %q is not absolute", remoteDir)
	}
	fi, err := c.SFTP.Stat(remoteDir)
	if err != nil {
		if notExist(err) {
			return PullResult{}, fmt.Errorf("pull: %s has no %s: is the recognizer running with --collect %s (or \"collect\" in its config)?", c.Target, remoteDir, remoteDir)
		}
		return PullResult{}, fmt.Errorf("pull: %s:%s: %w", c.Target, remoteDir, err)
	}
	if !fi.IsDir() {
		return PullResult{}, fmt.Errorf("pull: %s:%s is not a directory", c.Target, remoteDir)
	}
	if err := os.MkdirAll(localDir, 0o755); err != nil {
		return PullResult{}, fmt.Errorf("pull: %w", err)
	}
	p := &puller{ctx: ctx, c: c, remoteDir: remoteDir, localDir: localDir}
	check, err := p.walk()
	if err != nil {
		return p.res, err
	}
	// Same size, other time: fetch only what differs.
	for len(check) > 0 {
		batch := check[:min(len(check), 64)]
		check = check[len(batch):]
		if err := p.verify(batch); err != nil {
			return p.res, err
		}
	}
	res := p.res
	logf("pulled %s:%s → %s: %d files, %d fetched (%s), %d up to date, %d vanished", c.Target, remoteDir, localDir,
		res.Files, res.Fetched, human(res.Bytes), res.Skipped+res.Verified, res.Vanished)
	return res, nil
}

// puller is one Pull in progress.
type puller struct {
	ctx                 context.Context
	c                   *Conn
	remoteDir, localDir string
	res                 PullResult
}

// pending is a remote file of the same size as the local one but another
// modification time: its checksum decides.
type pending struct {
	rel   string
	size  int64
	mtime time.Time
}

// walk visits every regular file under the remote directory: it skips
// those up to date, fetches those missing or of another size, and returns
// those to compare by checksum.
func (p *puller) walk() ([]pending, error) {
	var check []pending
	w := p.c.SFTP.Walk(p.remoteDir)
	for w.Step() {
		if err := p.ctx.Err(); err != nil {
			return nil, err
		}
		rp := w.Path()
		if err := w.Err(); err != nil {
			if notExist(err) {
				continue // removed while walking
			}
			return nil, fmt.Errorf("pull: %s:%s: %w", p.c.Target, rp, err)
		}
		if rp == p.remoteDir {
			continue
		}
		st := w.Stat()
		if strings.HasPrefix(path.Base(rp), ".") {
			if st.IsDir() {
				w.SkipDir()
			}
			continue
		}
		if st.IsDir() || !st.Mode().IsRegular() {
			continue
		}
		rel, ok := strings.CutPrefix(rp, p.remoteDir+"/")
		if !ok || rel == "" || !fs.ValidPath(rel) {
			return nil, fmt.Errorf("pull: unexpected remote path %q", rp)
		}
		p.res.Files++
		local := filepath.Join(p.localDir, filepath.FromSlash(rel))
		if li, err := os.Stat(local); err == nil && li.Mode().IsRegular() && li.Size() == st.Size() {
			if li.ModTime().Equal(st.ModTime()) {
				p.res.Skipped++
				continue
			}
			check = append(check, pending{rel, st.Size(), st.ModTime()})
			continue
		}
		if err := p.fetch(rp, local, st.Size(), st.ModTime()); err != nil {
			return nil, err
		}
	}
	return check, nil
}

// verify compares a batch of files by SHA-256 (sha256sum on the board):
// a match only gets the board's time, the others are fetched.
func (p *puller) verify(batch []pending) error {
	remote := map[string]string{}
	args := make([]string, len(batch))
	for i, b := range batch {
		args[i] = shq(path.Join(p.remoteDir, b.rel))
	}
	// A file removed meanwhile makes sha256sum exit 1; the others still print.
	out, err := p.c.Run(p.ctx, "sha256sum -- "+strings.Join(args, " "))
	var ce *CommandError
	if err != nil && !errors.As(err, &ce) {
		return fmt.Errorf("pull: checksums on %s: %w", p.c.Target, err)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if ok && len(sum) == 64 {
			remote[name] = sum
		}
	}
	for _, b := range batch {
		local := filepath.Join(p.localDir, filepath.FromSlash(b.rel))
		rp := path.Join(p.remoteDir, b.rel)
		if sum, ok := remote[rp]; ok {
			if mine, err := fileSHA256(local); err == nil && mine == sum {
				os.Chtimes(local, b.mtime, b.mtime)
				p.res.Verified++
				continue
			}
		}
		if err := p.fetch(rp, local, b.size, b.mtime); err != nil {
			return err
		}
	}
	return nil
}

// fetch copies remote file rp to local and counts it; a file deleted on
// the board meanwhile counts as vanished.
func (p *puller) fetch(rp, local string, size int64, mtime time.Time) error {
	n, err := fetch(p.ctx, p.c, rp, local, size, mtime)
	switch {
	case err == nil:
		p.res.Fetched++
		p.res.Bytes += n
	case notExist(err):
		p.res.Vanished++
	default:
		return err
	}
	return nil
}

// fetch copies remote file p to local atomically and sets its time.
func fetch(ctx context.Context, c *Conn, p, local string, size int64, mtime time.Time) (int64, error) {
	f, err := c.SFTP.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	stop := context.AfterFunc(ctx, func() { f.Close() })
	defer stop()
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return 0, fmt.Errorf("pull: %w", err)
	}
	var n int64
	err = atomicfile.Write(local, 0o644, func(w io.Writer) error {
		var err error
		n, err = io.Copy(w, f)
		if err == nil && n != size {
			err = fmt.Errorf("got %d bytes, the board said %d (file changed during the pull?)", n, size)
		}
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, fmt.Errorf("pull: %s:%s: %w", c.Target, p, err)
	}
	if err := os.Chtimes(local, mtime, mtime); err != nil {
		return n, fmt.Errorf("pull: %w", err)
	}
	return n, nil
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
