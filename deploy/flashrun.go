package deploy

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/edgecnn/edgecnn/boards"
)

// flashRun is one Flash in progress: the board, the bundle and what the
// steps found out so far.
type flashRun struct {
	ctx    context.Context
	c      *Conn
	b      *Bundle
	o      Options
	f      fileSystem
	prefix string
	sudo   string // "sudo -n " or ""
	res    *Result

	unitPath, rbPath string // where the service and rollback units go
	unit, sysctl     string // quoted unit name; [sudo] systemctl
	prev, good       string // the current and the last good release before
	unitChanged      bool   // the board's units differ from the bundle's
	back             string // the release to roll back to ("" none)
}

func (r *flashRun) logf(format string, args ...any) {
	fmt.Fprintf(r.o.Log, "%s: %s\n", r.c.Target, fmt.Sprintf(format, args...))
}

func (r *flashRun) run(cmd string) error {
	_, err := r.c.Run(r.ctx, cmd)
	return err
}

func (r *flashRun) untouched() string {
	return fmt.Sprintf("the running release %s is untouched", orNone(r.prev))
}

// preflight checks the board's architecture and, with sudo, makes the
// prefix the login user's.
func (r *flashRun) preflight() error {
	b := r.b
	if !r.o.SkipArchCheck {
		out, err := r.c.Run(r.ctx, "uname -m")
		if err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		m := strings.TrimSpace(out)
		if got, ok := archNames[m]; ok && got != b.Board.GOARCH {
			hint := "pick the board's own --board"
			if g, ok := boards.ForArch(m); ok {
				hint = "pick the right --board (or " + g.Name + ")"
			}
			return fmt.Errorf("preflight: the board reports %s (%s) but the bundle is for %s (%s): %s",
				m, got, b.Board.Name, b.Board.Triple(), hint)
		}
	}
	if r.o.Sudo {
		if err := r.run(r.sudo + "install -d -m 0755 -o \"$(id -un)\" " + shq(r.prefix) + " " + shq(path.Join(r.prefix, "releases"))); err != nil {
			return fmt.Errorf("preflight: create %s with sudo: %w", r.prefix, sudoHint(err, r.c.Target.User))
		}
	}
	return nil
}

// upload puts the release directory on the board.
func (r *flashRun) upload() error {
	b, res := r.b, r.res
	r.o.phase("upload")
	r.logf("installing release %s (%s, %d files)", b.Release, human(b.TotalSize()), len(b.Files)+1)
	// Cancelling during the upload drops the connection (SFTP calls take no
	// context); nothing has been switched yet, so that is safe.
	stopUpload := context.AfterFunc(r.ctx, func() { r.c.Client.Close() })
	st, err := installRelease(r.ctx, r.f, b, r.prefix, r.logf)
	stopUpload()
	if err != nil && r.ctx.Err() != nil {
		err = fmt.Errorf("%w (%v)", r.ctx.Err(), err)
	}
	res.Uploaded, res.Linked, res.Payload = st.Uploaded, st.Linked, st.Payload
	if err != nil {
		return fmt.Errorf("upload: %w (%s)", noSudoHint(err, r.o, r.c.Target.User), r.untouched())
	}
	if st.Present {
		r.logf("release %s already on the board; nothing sent", b.Release)
	} else {
		r.logf("sent %d files (%s), hard-linked %d unchanged", st.Uploaded, human(st.Payload), st.Linked)
	}
	return nil
}

// installUser installs the sysusers entry and creates the service user;
// it also notes whether the board's units differ from the bundle's.
func (r *flashRun) installUser() error {
	b := r.b
	r.o.phase("unit")
	r.unitChanged = true
	if old, err := r.f.ReadFile(r.unitPath); err == nil && string(old) == b.Unit {
		if old, err := r.f.ReadFile(r.rbPath); err == nil && string(old) == b.RollbackUnit {
			r.unitChanged = false
		}
	}
	rel := path.Join(releasesDir(r.prefix), b.Release)
	sysusers := path.Join(r.o.SysusersDir, b.Service.Name+".conf")
	install := r.sudo + "install -D -m 0644 " + shq(path.Join(rel, "sysusers.conf")) + " " + shq(sysusers) + " && " + r.sudo + shq(r.o.Sysusers) + " " + shq(sysusers)
	if err := r.run(install); err != nil {
		return fmt.Errorf("install the service user: %w (%s)", noSudoHint(err, r.o, r.c.Target.User), r.untouched())
	}
	return nil
}

// switchTo installs release rel's units (when withUnits) and points
// current at rel, as one command on the board that ignores a dropped link
// (SIGHUP, SIGPIPE) and is not cancelled: the unit and current never
// disagree, whatever happens to the connection meanwhile.
func (r *flashRun) switchTo(rel string, withUnits bool) error {
	var steps []string
	if withUnits {
		rd := path.Join(releasesDir(r.prefix), rel)
		for _, u := range [][2]string{{"edgecnn.service", r.unitPath}, {"edgecnn-rollback.service", r.rbPath}} {
			src := shq(path.Join(rd, u[0]))
			steps = append(steps, "test ! -f "+src+" || "+r.sudo+"install -D -m 0644 "+src+" "+shq(u[1]))
		}
	}
	tmp, cur := shq(path.Join(r.prefix, "current.tmp")), shq(path.Join(r.prefix, "current"))
	steps = append(steps, "rm -f "+tmp, "ln -s "+shq(path.Join("releases", rel))+" "+tmp, "mv -T "+tmp+" "+cur)
	script := "trap '' HUP PIPE; set -e; " + strings.Join(steps, "; ")
	cmd := "trap '' HUP PIPE; e=$(mktemp) || exit 1; sh -c " + shq(script) + " </dev/null >/dev/null 2>\"$e\"; rc=$?; cat \"$e\" >&2; rm -f \"$e\"; exit $rc"
	sctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), time.Minute)
	defer cancel()
	if _, err := r.c.Run(sctx, cmd); err != nil {
		return fmt.Errorf("switch %s/current to %s: %w", r.prefix, rel, noSudoHint(err, r.o, r.c.Target.User))
	}
	return nil
}

// restartCmd reloads the units and restarts the service (reset-failed
// first: a start-limited unit refuses to start).
func (r *flashRun) restartCmd(enable bool) string {
	en := ""
	if enable {
		en = r.sysctl + " enable " + r.unit + " && "
	}
	return r.sysctl + " daemon-reload && { " + r.sysctl + " reset-failed " + r.unit + " 2>/dev/null; " + en + r.sysctl + " restart " + r.unit + "; }"
}

// keepUnchanged handles a release that is current, good and unchanged:
// it is enabled and, if not healthy, restarted.
func (r *flashRun) keepUnchanged() {
	b, res := r.b, r.res
	res.Unchanged = true
	if err := r.run(r.sysctl + " enable " + r.unit); err != nil {
		res.Err = fmt.Errorf("systemctl enable: %w", err)
		return
	}
	if err := r.c.health(r.ctx, r.o, 2*time.Second); err == nil {
		r.logf("release %s already current and healthy", b.Release)
		pruneReleases(r.f, r.prefix, r.o.Keep, b.Release)
		return
	}
	res.Unchanged = false
	r.logf("release %s is current but not healthy; restarting it", b.Release)
	if err := r.run(r.restartCmd(true)); err != nil {
		res.Err = fmt.Errorf("systemctl restart: %w", err)
		return
	}
	if err := r.c.health(r.ctx, r.o, r.o.HealthTimeout); err != nil {
		res.Err = fmt.Errorf("health check: %w", err)
	}
}

// activate switches to the new release, restarts it, checks its health,
// records it as good, and rolls back on failure.
func (r *flashRun) activate() {
	b, res, f, prefix := r.b, r.res, r.f, r.prefix
	// back is the release to go back to: the last good one, else the one
	// running.
	switch {
	case r.good != "" && r.good != b.Release && releaseExists(f, prefix, r.good):
		r.back = r.good
	case r.prev != "" && r.prev != b.Release:
		r.back = r.prev
	}
	if r.back != "" && !releaseExists(f, prefix, r.good) {
		// No good release on record (installed before edgecnn recorded
		// one): the running release is the board-side fallback.
		if err := setLink(f, prefix, "good", r.back); err != nil {
			res.Err = fmt.Errorf("%w (%s)", err, r.untouched())
			return
		}
	}
	if r.prev != b.Release {
		r.o.phase("switch")
		if err := r.switchTo(b.Release, r.unitChanged); err != nil {
			res.Err = fmt.Errorf("%w (%s)", err, r.untouched())
			return
		}
		r.logf("current → releases/%s", b.Release)
	} else {
		if r.unitChanged {
			r.o.phase("switch")
			if err := r.switchTo(b.Release, true); err != nil {
				res.Err = fmt.Errorf("install the unit: %w (%s)", err, r.untouched())
				return
			}
		}
		r.logf("release %s is current but was never confirmed healthy; restarting it", b.Release)
	}
	r.o.phase("restart")
	if err := r.run(r.restartCmd(true)); err != nil {
		r.rollback("restart", err)
		return
	}
	r.o.phase("health")
	if err := r.c.health(r.ctx, r.o, r.o.HealthTimeout); err != nil {
		r.rollback("health check", err)
		return
	}
	r.o.phase("confirm")
	if err := setLink(f, prefix, "good", b.Release); err != nil {
		res.Err = fmt.Errorf("healthy, but recording it as the good release failed: %w", err)
		return
	}
	r.logf("healthy")
	if removed := pruneReleases(f, prefix, r.o.Keep, b.Release, r.back); len(removed) > 0 {
		r.logf("removed old releases: %s", strings.Join(removed, ", "))
	}
}

// rollback goes back to r.back after step failed (or stops the service
// when there is none). It uses a fresh context, so a cancelled flash
// still rolls back.
func (r *flashRun) rollback(step string, err error) {
	b, res := r.b, r.res
	res.Err = fmt.Errorf("%s: %w", step, err)
	if r.back == "" {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 30*time.Second)
		defer cancel()
		r.c.Run(rctx, r.sysctl+" stop "+r.unit)
		res.Err = fmt.Errorf("%w; no previous release to roll back to, service stopped", res.Err)
		return
	}
	r.o.phase("rollback")
	r.logf("%s failed (%v); rolling back to %s", step, err, r.back)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), r.o.HealthTimeout+30*time.Second)
	defer cancel()
	boardSide := fmt.Sprintf("; the board rolls back to %s by itself after %d failed starts (%s)", r.back, b.Service.RollbackAfter, b.Service.RollbackUnitName())
	if err := r.switchTo(r.back, true); err != nil {
		res.Err = fmt.Errorf("%w; ROLLBACK FAILED: %v%s", res.Err, err, boardSide)
		return
	}
	res.RolledBack = true
	if _, err := r.c.Run(rctx, r.restartCmd(false)); err != nil {
		res.Err = fmt.Errorf("%w; rolled back to %s but restarting it failed: %v%s", res.Err, r.back, err, boardSide)
		return
	}
	if err := r.c.health(rctx, r.o, r.o.HealthTimeout); err != nil {
		res.Err = fmt.Errorf("%w; rolled back to %s, which is not healthy either: %v", res.Err, r.back, err)
		return
	}
	res.Err = fmt.Errorf("%w; rolled back to %s, which is running", res.Err, r.back)
}
