package deploy

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// LockFile is the per-board flash lock under PREFIX. Flash holds it (an
// flock(1) kept by a process of its own SSH session) from before the
// upload until the end; the board-side rollback script takes it too.
const LockFile = ".flash.lock"

// lockOwnerFile records who holds the lock, for the "board busy" error.
const lockOwnerFile = ".flash.owner"

// lockLease is how long the board keeps the lock of a flash it hears
// nothing from (its heartbeat comes every lockBeat): a link that dies
// without closing the TCP connection releases the lock after this.
const (
	lockLease = 60 * time.Second
	lockBeat  = 5 * time.Second
	// lockExitWait bounds the wait for a failed lock script's exit (and
	// its stderr).
	lockExitWait = 5 * time.Second
)

// BusyError is a board on which another flash (or the board-side
// rollback) holds the lock.
type BusyError struct {
	Target string
	Owner  string // "<since> by <who> ...", as the holder recorded it
}

func (e *BusyError) Error() string {
	owner := e.Owner
	if owner == "" {
		owner = "(holder unknown)"
	}
	return fmt.Sprintf("board busy: flash in progress since %s; wait for it to finish, or re-run with --wait DURATION", owner)
}

// boardLock is a held flash lock: a shell on the board that holds an
// flock on PREFIX/.flash.lock for as long as it reads heartbeats on its
// stdin. Closing stdin, a dropped connection or a missed lease ends it
// and releases the lock.
type boardLock struct {
	sess  *ssh.Session
	stdin io.WriteCloser
	stop  chan struct{}
	done  chan struct{}
}

// lockScript takes the lock or reports its holder. $1 is the prefix, $2
// the owner line, $3 the lease in seconds.
const lockScript = `set -u
mkdir -p "$1" && cd "$1" || exit 1
exec 9>> ` + LockFile + ` || exit 1
if ! flock -n 9; then
	echo BUSY
	cat ` + lockOwnerFile + ` 2>/dev/null
	exit 0
fi
printf '%s\n' "$2" > ` + lockOwnerFile + `.tmp && mv -f ` + lockOwnerFile + `.tmp ` + lockOwnerFile + `
echo LOCKED
while [ "$(timeout "$3" head -c 1 | wc -c)" -gt 0 ] 2>/dev/null; do :; done
rm -f ` + lockOwnerFile + `
`

// lockOwner describes this flash for the owner file.
func lockOwner(release string) string {
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s by %s@%s (pid %d) installing %s", time.Now().UTC().Format(time.RFC3339), who, host, os.Getpid(), release)
}

// lock takes the board's flash lock, retrying until wait has passed when
// the board is busy.
func (c *Conn) lock(ctx context.Context, prefix, owner string, wait, lease time.Duration, logf func(string, ...any)) (*boardLock, error) {
	if lease <= 0 {
		lease = lockLease
	}
	deadline := time.Now().Add(wait)
	logged := false
	for {
		l, busy, err := c.tryLock(ctx, prefix, owner, lease)
		if err != nil || busy == nil {
			return l, err
		}
		if !time.Now().Before(deadline) {
			return nil, busy
		}
		if !logged {
			logf("board busy (flash in progress since %s); waiting up to %s", busy.Owner, wait.Round(time.Second))
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w while waiting: %w", ctx.Err(), busy)
		case <-time.After(min(2*time.Second, time.Until(deadline)+10*time.Millisecond)):
		}
	}
}

func (c *Conn) tryLock(ctx context.Context, prefix, owner string, lease time.Duration) (*boardLock, *BusyError, error) {
	s, err := c.Client.NewSession()
	if err != nil {
		return nil, nil, fmt.Errorf("lock: ssh session: %w", err)
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("lock: %w", err)
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("lock: %w", err)
	}
	var stderr strings.Builder
	s.Stderr = &limitedWriter{w: &stderr, n: 4096}
	cmd := "sh -c " + shq(lockScript) + " edgecnn-lock " + shq(prefix) + " " + shq(owner) + " " + fmt.Sprint(max(1, int(lease/time.Second)))
	if err := s.Start(cmd); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("lock: %w", err)
	}
	stopCtx := context.AfterFunc(ctx, func() { s.Close() })
	defer stopCtx()
	r := bufio.NewReader(io.LimitReader(stdout, 64<<10))
	first, err := r.ReadString('\n')
	switch strings.TrimSpace(first) {
	case "LOCKED":
	case "BUSY":
		rest, _ := io.ReadAll(r)
		s.Wait()
		s.Close()
		return nil, &BusyError{Target: c.Target.String(), Owner: strings.TrimSpace(string(rest))}, nil
	default:
		// The script failed (stdout ended): its stderr is copied until the
		// command's exit arrives, which may come after stdout's end, so
		// it is read only once Wait has returned (else the error would
		// lose its reason, such as "Permission denied").
		exited := waitExit(s, lockExitWait)
		s.Close()
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("lock %s: %w", path.Join(prefix, LockFile), ctx.Err())
		}
		msg := ""
		if exited {
			msg = strings.TrimSpace(stderr.String())
		}
		if msg == "" && err != nil {
			msg = err.Error()
		}
		return nil, nil, &CommandError{Cmd: "flock " + path.Join(prefix, LockFile), Status: 1, Stderr: msg}
	}
	l := &boardLock{sess: s, stdin: stdin, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		io.Copy(io.Discard, stdout)
		s.Wait()
	}()
	go func() {
		t := time.NewTicker(min(lockBeat, lease/4))
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-l.done:
				return
			case <-t.C:
				if _, err := stdin.Write([]byte{'.'}); err != nil {
					return
				}
			}
		}
	}()
	return l, nil, nil
}

// release ends the lock holder (closing its stdin) and waits briefly for
// it; a dead connection has released the lock already.
func (l *boardLock) release() {
	if l == nil {
		return
	}
	close(l.stop)
	l.stdin.Close()
	select {
	case <-l.done:
	case <-time.After(5 * time.Second):
	}
	l.sess.Close()
}

// lost reports whether the lock holder ended before release (the
// connection dropped or the lease ran out).
func (l *boardLock) lost() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// waitExit waits up to d for the command of s to exit and reports whether
// it did (then its stdout and stderr have been copied in full).
func waitExit(s *ssh.Session, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		s.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}
