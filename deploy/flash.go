package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"time"
)

// Options configure an install on a board over SSH.
type Options struct {
	// UnitDir is where the unit goes (default /etc/systemd/system);
	// SysusersDir where the sysusers entry goes (default /etc/sysusers.d).
	UnitDir     string `flag:"unit-dir" default:"/etc/systemd/system" hidden:"true" usage:"unit directory on the board"`
	SysusersDir string `flag:"sysusers-dir" default:"/etc/sysusers.d" hidden:"true" usage:"sysusers.d directory on the board"`
	// Systemctl and Sysusers are the commands run on the board (defaults
	// "systemctl" and "systemd-sysusers"; tests point them at stand-ins).
	Systemctl string `flag:"systemctl" default:"systemctl" hidden:"true" usage:"systemctl command on the board"`
	Sysusers  string `flag:"sysusers" default:"systemd-sysusers" hidden:"true" usage:"systemd-sysusers command on the board"`
	// Sudo prefixes privileged commands with "sudo -n" (for a non-root
	// login with passwordless sudo, like Raspberry Pi OS's first user).
	Sudo bool
	// HealthCommand runs on the board and must exit 0 for the service to
	// count as healthy; "" means "<systemctl> is-active --quiet <unit>".
	HealthCommand string `flag:"health-cmd" usage:"health command run on the board (default: systemctl is-active --quiet edgecnn.service)"`
	// HealthURL is fetched from the board's side through the SSH
	// connection (a direct-tcpip channel, so no curl is needed there) and
	// must answer 2xx; "" means the service's HealthURL, "-" skips it.
	HealthURL string `flag:"health-url" usage:"URL fetched from the board's side through SSH (default: /healthz of --health-http, else of --http; - to skip)"`
	// HealthTimeout bounds the wait for a healthy service (default 30s);
	// HealthInterval is the time between tries (default 500ms).
	HealthTimeout  time.Duration `flag:"health-timeout"`
	HealthInterval time.Duration
	// Keep is how many releases to keep on the board (default 3).
	Keep int `flag:"keep" default:"3" usage:"releases to keep on the board"`
	// SkipArchCheck skips comparing `uname -m` with the board's GOARCH.
	SkipArchCheck bool
	// LockWait is how long to wait for another flash of the same board to
	// finish (0: fail at once with a BusyError).
	LockWait time.Duration `flag:"wait" usage:"when another flash holds the board's lock, wait this long for it (default: fail at once with \"board busy\")"`
	// Log receives progress lines (nil: discarded).
	Log io.Writer

	// onPhase, when set (tests), is called as Flash enters each phase:
	// locked, upload, unit, switch, restart, health, confirm, rollback.
	onPhase func(phase string)
	// lockLease, when set (tests), replaces the 60 s lease of the lock.
	lockLease time.Duration
}

func (o Options) phase(p string) {
	if o.onPhase != nil {
		o.onPhase(p)
	}
}

func (o Options) withDefaults(b *Bundle) Options {
	if o.UnitDir == "" {
		o.UnitDir = "/etc/systemd/system"
	}
	if o.SysusersDir == "" {
		o.SysusersDir = "/etc/sysusers.d"
	}
	if o.Systemctl == "" {
		o.Systemctl = "systemctl"
	}
	if o.Sysusers == "" {
		o.Sysusers = "systemd-sysusers"
	}
	if o.HealthCommand == "" {
		o.HealthCommand = shq(o.Systemctl) + " is-active --quiet " + shq(b.Service.UnitName())
	}
	if o.HealthURL == "" {
		o.HealthURL = b.Service.HealthURL()
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 30 * time.Second
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = 500 * time.Millisecond
	}
	if o.Keep == 0 {
		o.Keep = 3
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o
}

// Result is the outcome of one flash.
type Result struct {
	Target     string
	Release    string
	Previous   string // release that was current before ("" on first flash)
	Unchanged  bool   // the release was already installed and current
	Uploaded   int    // files sent
	Linked     int    // files hard-linked from earlier releases
	Payload    int64  // file bytes sent
	BytesSent  int64  // bytes on the wire, SSH overhead included
	RolledBack bool
	Duration   time.Duration
	Err        error
}

// Status is a one-word outcome for summaries.
func (r Result) Status() string {
	switch {
	case r.Err == nil && r.Unchanged:
		return "unchanged"
	case r.Err == nil:
		return "ok"
	case r.RolledBack:
		return "rolled-back"
	}
	var busy *BusyError
	if errors.As(r.Err, &busy) {
		return "busy"
	}
	return "failed"
}

// archNames maps `uname -m` to GOARCH.
var archNames = map[string]string{
	"aarch64": "arm64", "arm64": "arm64", "armv7l": "arm", "armv8l": "arm", "armv6l": "arm",
	"x86_64": "amd64", "amd64": "amd64", "i686": "386",
}

// Flash installs b on the board behind c: the board's flash lock,
// release upload (skipping files the board already has), the service
// user, the units and the `current` switch as one link-proof command,
// restart, health check, the `good` record, and rollback to the last good
// release if the new one is not healthy. On any error before the switch,
// the running release is untouched; if the link dies after it, the board
// rolls back by itself (edgecnn-rollback.service).
func Flash(ctx context.Context, c *Conn, b *Bundle, o Options) (res Result) {
	start := time.Now()
	sent0 := c.BytesSent()
	res = Result{Target: c.Target.String(), Release: b.Release}
	defer func() {
		res.Duration = time.Since(start)
		res.BytesSent = c.BytesSent() - sent0
	}()
	o = o.withDefaults(b)
	r := &flashRun{ctx: ctx, c: c, b: b, o: o, f: sftpFS{c.SFTP}, prefix: b.Service.Prefix, res: &res}
	if o.Sudo {
		r.sudo = "sudo -n "
	}
	r.unitPath = path.Join(o.UnitDir, b.Service.UnitName())
	r.rbPath = path.Join(o.UnitDir, b.Service.RollbackUnitName())
	r.unit = shq(b.Service.UnitName())
	r.sysctl = r.sudo + shq(o.Systemctl)

	if res.Err = r.preflight(); res.Err != nil {
		return
	}
	lk, err := c.lock(ctx, r.prefix, lockOwner(b.Release), o.LockWait, o.lockLease, r.logf)
	if err != nil {
		var busy *BusyError
		if errors.As(err, &busy) {
			res.Err = err
		} else {
			res.Err = fmt.Errorf("lock: %w (nothing was changed on the board)", noSudoHint(err, o, c.Target.User))
		}
		return
	}
	defer lk.release()
	o.phase("locked")
	r.prev, r.good = currentRelease(r.f, r.prefix), goodRelease(r.f, r.prefix)
	res.Previous = r.prev
	if res.Err = r.upload(); res.Err != nil {
		return
	}
	if res.Err = r.installUser(); res.Err != nil {
		return
	}
	if r.prev == b.Release && r.good == b.Release && !r.unitChanged {
		r.keepUnchanged()
		return
	}
	r.activate()
	return
}

// sudoHint explains a failed "sudo -n" on the board.
func sudoHint(err error, user string) error {
	var ce *CommandError
	if !errors.As(err, &ce) {
		return err
	}
	switch msg := ce.Stderr; {
	case strings.Contains(msg, "password is required") || strings.Contains(msg, "not in the sudoers") ||
		strings.Contains(msg, "may not run sudo") || strings.Contains(msg, "is not allowed to"):
		return fmt.Errorf("%w: user %q has no password-less sudo on the board: give it a NOPASSWD rule in /etc/sudoers.d (Pi OS's first user has one), or log in as root with --sudo no", err, user)
	case ce.Status == 127 && strings.Contains(msg, "sudo"):
		return fmt.Errorf("%w: sudo is not installed on the board: install it (apt install sudo), or log in as root with --sudo no", err)
	}
	return err
}

// noSudoHint explains a permission error of a non-root login user that
// flashes without sudo (--sudo no).
func noSudoHint(err error, o Options, user string) error {
	if o.Sudo || user == "root" {
		return err
	}
	var ce *CommandError
	if errors.Is(err, fs.ErrPermission) || isSFTPStatus(err, 3) ||
		errors.As(err, &ce) && strings.Contains(ce.Stderr, "Permission denied") {
		return fmt.Errorf("%w: user %q may not write there without sudo: use --sudo auto (the default) with password-less sudo, or log in as root", err, user)
	}
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// health polls the health command and URL until both pass or wait ends.
func (c *Conn) health(ctx context.Context, o Options, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var last error
	for {
		last = c.healthOnce(ctx, o)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not healthy after %s: %w", wait, last)
		case <-time.After(o.HealthInterval):
		}
	}
}

func (c *Conn) healthOnce(ctx context.Context, o Options) error {
	if _, err := c.Run(ctx, o.HealthCommand); err != nil {
		return err
	}
	if o.HealthURL == "-" {
		return nil
	}
	return c.HTTPGet(ctx, o.HealthURL)
}

// HTTPGet fetches url as seen from the board (through a direct-tcpip
// channel of the SSH connection) and requires a 2xx answer.
func (c *Conn) HTTPGet(ctx context.Context, url string) error {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return c.Client.DialContext(ctx, "tcp", addr)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health URL: %w", err)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("GET %s on the board: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s on the board: %s %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Plan describes what Flash (or InstallRoot) would do, for --dry-run.
func Plan(b *Bundle, target string, o Options) string {
	o = o.withDefaults(b)
	var s strings.Builder
	prefix := b.Service.Prefix
	rel := path.Join(releasesDir(prefix), b.Release)
	fmt.Fprintf(&s, "plan for %s (board %s, %s):\n", target, b.Board.Name, b.Board.Triple())
	fmt.Fprintf(&s, "  1. lock %s (flock held by this SSH session; another flash gets \"board busy\"", path.Join(prefix, LockFile))
	if o.LockWait > 0 {
		fmt.Fprintf(&s, " or waits up to %s", o.LockWait)
	}
	fmt.Fprintf(&s, ")\n")
	fmt.Fprintf(&s, "  2. remove staging directories of failed uploads; upload release %s (%s) into %s.staging-*, files already on the board (same SHA-256) hard-linked:\n", b.Release, human(b.TotalSize()), releasesDir(prefix)+"/")
	for _, f := range b.Files {
		fmt.Fprintf(&s, "       %-28s %10s  %s…\n", f.Name, human(f.Size), f.Sum[:16])
	}
	fmt.Fprintf(&s, "       %-28s %10s\n", SumsFile, human(int64(len(b.Sums))))
	fmt.Fprintf(&s, "     then rename it to %s\n", rel)
	fmt.Fprintf(&s, "  3. install %s/%s.conf; %s\n", o.SysusersDir, b.Service.Name, o.Sysusers)
	fmt.Fprintf(&s, "  4. in one board-side command: install %s and %s, point %s/current at releases/%s\n",
		path.Join(o.UnitDir, b.Service.UnitName()), path.Join(o.UnitDir, b.Service.RollbackUnitName()), prefix, b.Release)
	fmt.Fprintf(&s, "  5. %s daemon-reload; reset-failed; enable; restart %s (its ExecStartPost= waits for %s)\n", o.Systemctl, b.Service.UnitName(), b.Service.HealthURL())
	fmt.Fprintf(&s, "  6. health: `%s` and GET %s within %s; else roll back to the last good release\n", o.HealthCommand, o.HealthURL, o.HealthTimeout)
	fmt.Fprintf(&s, "  7. record %s/good -> releases/%s; keep the %d newest releases\n", prefix, b.Release, o.Keep)
	fmt.Fprintf(&s, "  on the board, without this laptop: after %d failed starts, %s switches current back to good\n", b.Service.RollbackAfter, b.Service.RollbackUnitName())
	return s.String()
}
