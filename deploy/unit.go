package deploy

import (
	"errors"
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/edgecnn/edgecnn/boards"
)

// unitSyntax is the kind of place a value takes in a systemd unit file;
// each has its own quoting and escaping rules (systemd.syntax(7),
// systemd.service(5) "Command lines", systemd.unit(5) "Specifiers").
type unitSyntax int

const (
	// unitArg is one word of an Exec*= command line: double-quoted when it
	// holds blanks or special characters, with \ and " backslash-escaped,
	// % doubled (no specifier expansion) and $ doubled (no environment
	// variable substitution).
	unitArg unitSyntax = iota
	// unitPath is an absolute path in a single-path setting
	// (WorkingDirectory=): % doubled; blanks allowed.
	unitPath
	// unitListPath is an absolute path in a space-separated list
	// (ReadWritePaths=): no blanks, quotes or backslashes; % doubled.
	unitListPath
	// unitName is a user, group or unit name: letters, digits, _ . -,
	// not starting with a digit, - or ., at most 31 characters.
	unitName
	// unitText is free text such as Description=: % doubled.
	unitText
	// unitDevice is a DeviceAllow= entry: "char-CLASS MODE",
	// "block-CLASS MODE" or "/dev/PATH MODE", MODE of r, w, m.
	unitDevice
	// unitSize is a memory size: bytes with an optional K/M/G/T suffix,
	// a percentage of physical memory, or "infinity".
	unitSize
)

var (
	nameRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,30}$`)
	deviceRE = regexp.MustCompile(`^(char-[A-Za-z0-9_.+-]+|block-[A-Za-z0-9_.+-]+|/dev/[A-Za-z0-9_./*+-]+) [rwm]{1,3}$`)
	sizeRE   = regexp.MustCompile(`^([1-9][0-9]{0,15}[KMGT]?|[1-9][0-9]?%|100%|infinity)$`)
)

// unitValue is the one place where a value enters a unit file: it
// refuses what cannot be written safely (control characters such as a
// newline, which would start a new setting; invalid UTF-8; a value that
// does not fit its syntax) and escapes and quotes the rest for its place.
func unitValue(kind unitSyntax, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029' {
			return "", fmt.Errorf("control character %U not allowed", r)
		}
	}
	pct := strings.NewReplacer("%", "%%")
	switch kind {
	case unitArg:
		if s != "" && !strings.ContainsAny(s, " \t\"'\\;$%") {
			return s, nil
		}
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`, `%`, `%%`)
		return `"` + r.Replace(s) + `"`, nil
	case unitPath, unitListPath:
		if !path.IsAbs(s) || path.Clean(s) != s {
			return "", errors.New("not a clean absolute path")
		}
		if kind == unitListPath && strings.ContainsAny(s, " \t\"'\\") {
			return "", errors.New("blanks, quotes and backslashes are not allowed in this path")
		}
		return pct.Replace(s), nil
	case unitName:
		if !nameRE.MatchString(s) {
			return "", errors.New("not a valid name (letters, digits, _ . -; not starting with a digit, - or .; at most 31 characters)")
		}
		return s, nil
	case unitText:
		return pct.Replace(s), nil
	case unitDevice:
		if !deviceRE.MatchString(s) {
			return "", errors.New(`not a DeviceAllow= entry ("char-CLASS rw", "/dev/PATH rw")`)
		}
		return pct.Replace(s), nil
	case unitSize:
		if !sizeRE.MatchString(s) {
			return "", errors.New(`not a memory size (e.g. 512M, 50%, infinity)`)
		}
		return s, nil
	}
	return "", fmt.Errorf("unknown unit syntax %d", kind)
}

// unitWriter collects unit lines; the first invalid value is kept as err.
type unitWriter struct {
	b   strings.Builder
	err error
}

// raw writes a line the code itself composed (no outside input).
func (w *unitWriter) raw(line string) { w.b.WriteString(line + "\n") }

// set writes key=value, value checked and escaped as kind; what names the
// value in an error (e.g. "--camera").
func (w *unitWriter) set(key string, kind unitSyntax, what, value string) {
	w.setLead(key, "", kind, what, value)
}

// setLead is set with lead (e.g. "-": ignore a missing path) before the value.
func (w *unitWriter) setLead(key, lead string, kind unitSyntax, what, value string) {
	v, err := unitValue(kind, value)
	if err != nil {
		if w.err == nil {
			w.err = fmt.Errorf("unit %s: %s %q: %w", key, what, value, err)
		}
		return
	}
	w.raw(key + "=" + lead + v)
}

// list writes key= with several values of one kind, space-separated.
func (w *unitWriter) list(key string, kind unitSyntax, what string, values []string) {
	var out []string
	for _, s := range values {
		v, err := unitValue(kind, s)
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("unit %s: %s %q: %w", key, what, s, err)
			}
			return
		}
		out = append(out, v)
	}
	w.raw(key + "=" + strings.Join(out, " "))
}

// command writes an Exec*= line; what[i] names args[i] in errors.
func (w *unitWriter) command(key string, args, what []string) {
	var out []string
	for i, a := range args {
		v, err := unitValue(unitArg, a)
		if err != nil {
			if w.err == nil {
				w.err = fmt.Errorf("unit %s: %s %q: %w", key, what[i], a, err)
			}
			return
		}
		out = append(out, v)
	}
	w.raw(key + "=" + strings.Join(out, " "))
}

// cameraDevices are the device classes (/proc/devices names) a camera
// source opens: V4L2 nodes (/dev/video*, /dev/v4l-subdev*), and for
// libcamera (rpicam-vid) also the media controller, DMA heaps and the
// Raspberry Pi VideoCore interfaces.
var cameraDevices = map[string][]string{
	"v4l2":      {"char-video4linux rw"},
	"libcamera": {"char-video4linux rw", "char-media rw", "char-dma_heap rw", "char-vchiq rw", "char-vcsm-cma rw"},
}

// accelDevices are the device classes an accelerator's runtime opens.
var accelDevices = map[string][]string{
	boards.AccelEdgeTPUUSB:  {"char-usb_device rw"},
	boards.AccelEdgeTPUPCIe: {"char-apex rw"},
	boards.AccelCUDA:        {"char-nvidia-frontend rw", "char-nvidia-uvm rw", "char-nvidia-caps rw", "char-nvhost rw", "char-nvmap rw"},
}

// devices is the DeviceAllow= list for the service: the camera's device
// classes (all of them for "auto"; none for stdin, files and the
// synthetic source), GPIO when the service user joins the gpio group,
// the accelerator when a backend that drives it runs, plus s.Devices.
func (s Service) devices(b boards.Board) []string {
	var out []string
	seen := map[string]bool{}
	add := func(d ...string) {
		for _, x := range d {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	cam := s.Camera
	if i := strings.IndexAny(cam, ":"); i >= 0 {
		cam = cam[:i]
	}
	switch {
	case cam == "auto":
		add(cameraDevices["v4l2"]...)
		add(cameraDevices["libcamera"]...)
	case strings.HasPrefix(cam, "/dev/"):
		add(cameraDevices["v4l2"]...)
	default:
		add(cameraDevices[cam]...)
	}
	for _, g := range s.Groups {
		if g == "gpio" {
			add("char-gpiochip rw", "/dev/gpiomem rw")
		}
	}
	if s.Backend != "native" {
		for _, a := range b.Accels {
			add(accelDevices[a]...)
		}
		if s.Backend == "tflite" {
			add(accelDevices[boards.AccelEdgeTPUUSB]...) // a Coral USB stick on any host
		}
	}
	add(s.Devices...)
	return out
}

// memoryMax is MemoryMax= for the board: half of its smallest RAM variant
// (at least 256 MiB), or 50% of the machine's memory when the table does
// not know the board's RAM.
func memoryMax(b boards.Board) string {
	if len(b.RAMMB) == 0 {
		return "50%"
	}
	least := b.RAMMB[0]
	for _, m := range b.RAMMB {
		least = min(least, m)
	}
	return strconv.Itoa(max(least/2, 256)) + "M"
}

// DefaultHealthHTTP is the health responder's address that goes with the
// API address httpAddr: loopback, the next port ("-", none, when
// httpAddr has no numeric port below 65535).
func DefaultHealthHTTP(httpAddr string) string {
	_, port, err := net.SplitHostPort(httpAddr)
	p, perr := strconv.Atoi(port)
	if err != nil || perr != nil || p <= 0 || p >= 65535 {
		return "-"
	}
	return "127.0.0.1:" + strconv.Itoa(p+1)
}

// HealthURL is the URL that health checks fetch on the board: the health
// responder's /healthz (the API's without one), on loopback when it
// listens on all addresses.
func (s Service) HealthURL() string {
	addr := s.HTTP
	if s.HealthHTTP != "" && s.HealthHTTP != "-" {
		addr = s.HealthHTTP
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr + "/healthz"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}

// RollbackUnitName is the unit that the service's OnFailure= starts.
func (s Service) RollbackUnitName() string { return s.Name + "-rollback.service" }

// validate checks the names that also go into sysusers.conf and paths.
func (s Service) validate() error {
	for _, v := range []struct{ what, s string }{{"service name", s.Name}, {"user", s.User}} {
		if _, err := unitValue(unitName, v.s); err != nil {
			return fmt.Errorf("%s %q: %w", v.what, v.s, err)
		}
	}
	for _, g := range s.Groups {
		if _, err := unitValue(unitName, g); err != nil {
			return fmt.Errorf("group %q: %w", g, err)
		}
	}
	if _, err := unitValue(unitPath, s.Prefix); err != nil {
		return fmt.Errorf("--prefix %q: %w", s.Prefix, err)
	}
	if s.RollbackAfter < 1 || s.RollbackAfter > 100 {
		return fmt.Errorf("rollback after %d failed starts: want 1..100", s.RollbackAfter)
	}
	if s.HealthTimeout < time.Second || s.HealthTimeout > time.Hour {
		return fmt.Errorf("health timeout %s: want 1s..1h", s.HealthTimeout)
	}
	if s.HealthHTTP != "" && s.HealthHTTP != "-" {
		if _, port, err := net.SplitHostPort(s.HealthHTTP); err != nil || port == "" {
			return fmt.Errorf("health responder address %q: want HOST:PORT or - (none)", s.HealthHTTP)
		}
		if s.HealthHTTP == s.HTTP {
			return fmt.Errorf("health responder address %q is the API's address; give it a port of its own", s.HealthHTTP)
		}
	}
	return nil
}

// renderUnit renders the service unit for board b. Every value from
// outside goes through unitValue.
func (s Service) renderUnit(b boards.Board) (string, error) {
	if err := s.validate(); err != nil {
		return "", fmt.Errorf("unit: %w", err)
	}
	cur := path.Join(s.Prefix, "current")
	args := []string{path.Join(cur, "edgecnn"), "run",
		"--model", path.Join(cur, s.ModelFile),
		"--backend", s.Backend,
		"--camera", s.Camera, "--wait-camera", // a service may start before its camera appears
		"--http", s.HTTP}
	what := []string{"--prefix", "", "", "model file", "", "--backend", "", "--camera", "", "", "--http"}
	if s.HealthHTTP != "" && s.HealthHTTP != "-" {
		args = append(args, "--health-http", s.HealthHTTP)
		what = append(what, "", "--health-http")
	}
	if s.ConfigFile != "" {
		args = append(args, "--config", path.Join(cur, s.ConfigFile))
		what = append(what, "", "config file")
	}
	for _, a := range s.Args {
		args = append(args, a)
		what = append(what, "extra argument")
	}
	state := "/var/lib/" + s.Name
	health := int(s.HealthTimeout.Round(time.Second) / time.Second)
	// Each start may take the agent's own start-up plus the health gate;
	// RollbackAfter of them must fit into the start-limit interval.
	startTimeout := 60 + health
	interval := max(600, s.RollbackAfter*(startTimeout+5)+60)

	w := &unitWriter{}
	w.raw("# Installed by edgecnn flash; edits are overwritten on the next flash.")
	w.raw("[Unit]")
	w.raw("Description=edgecnn handwritten-digit recognizer")
	w.raw("Documentation=https://github.com/edgecnn/edgecnn/blob/main/docs/deploy.md")
	w.raw("Wants=network-online.target")
	w.raw("After=network-online.target")
	w.raw("# Board-side rollback: after " + strconv.Itoa(s.RollbackAfter) + " failed starts (crash, watchdog, or the")
	w.raw("# ExecStartPost= health gate) the unit fails and " + s.RollbackUnitName() + " switches")
	w.raw("# current back to the last release that passed a health check.")
	w.raw("StartLimitIntervalSec=" + strconv.Itoa(interval))
	w.raw("StartLimitBurst=" + strconv.Itoa(s.RollbackAfter))
	w.set("OnFailure", unitName, "rollback unit", s.RollbackUnitName())
	w.raw("")
	w.raw("[Service]")
	w.raw("Type=notify")
	w.raw("NotifyAccess=main")
	w.set("User", unitName, "user", s.User)
	w.set("Group", unitName, "user", s.User)
	if len(s.Groups) > 0 {
		w.list("SupplementaryGroups", unitName, "group", s.Groups)
	}
	w.command("ExecStart", args, what)
	w.command("ExecStartPost", []string{path.Join(cur, "edgecnn"), "healthcheck", "--url", s.HealthURL(), "--timeout", strconv.Itoa(health) + "s"},
		[]string{"--prefix", "", "", "--http", "", ""})
	w.set("WorkingDirectory", unitPath, "--prefix", cur)
	w.raw("Environment=EDGECNN_STATE_DIR=" + state) // Name is checked by validate
	w.raw("Restart=on-failure")
	w.raw("RestartSec=2s")
	w.raw("WatchdogSec=" + strconv.Itoa(int(s.Watchdog.Round(time.Second)/time.Second)))
	w.raw("TimeoutStartSec=" + strconv.Itoa(startTimeout))
	w.set("StateDirectory", unitName, "service name", s.Name)
	w.raw("StateDirectoryMode=0700")
	w.setLead("ReadWritePaths", "-", unitListPath, "state directory", state)
	w.raw("UMask=0077")
	w.set("MemoryMax", unitSize, "memory limit", s.MemoryMax)
	w.raw(`# Sandbox (systemd-analyze security; see docs/deploy.md "Unit hardening").`)
	for _, l := range []string{
		"NoNewPrivileges=yes",
		"CapabilityBoundingSet=",
		"AmbientCapabilities=",
		"ProtectSystem=strict",
		"ProtectHome=yes",
		"PrivateTmp=yes",
		"PrivateUsers=yes",
		"PrivateMounts=yes",
		"ProtectKernelTunables=yes",
		"ProtectKernelModules=yes",
		"ProtectKernelLogs=yes",
		"ProtectControlGroups=yes",
		"ProtectClock=yes",
		"ProtectHostname=yes",
		"ProtectProc=invisible",
		"RestrictNamespaces=yes",
		"RestrictSUIDSGID=yes",
		"RestrictRealtime=yes",
		"LockPersonality=yes",
		"MemoryDenyWriteExecute=yes",
		"RemoveIPC=yes",
		"KeyringMode=private",
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
		"SystemCallArchitectures=native",
		"SystemCallFilter=@system-service",
		"SystemCallFilter=~@privileged @resources @mount @swap @reboot @raw-io @debug @module @cpu-emulation @obsolete @clock",
		"SystemCallErrorNumber=EPERM",
		"DevicePolicy=closed",
	} {
		w.raw(l)
	}
	if s.Backend == "onnxruntime" {
		// ONNX Runtime pins its thread pool to cores (@resources).
		w.raw("SystemCallFilter=sched_setaffinity")
	}
	for _, d := range s.devices(b) {
		w.set("DeviceAllow", unitDevice, "device", d)
	}
	w.raw("")
	w.raw("[Install]")
	w.raw("WantedBy=multi-user.target")
	if w.err != nil {
		return "", w.err
	}
	return w.b.String(), nil
}

// RollbackScript is the file name of the board-side rollback script in
// every release.
const RollbackScript = "edgecnn-rollback"

// renderRollbackUnit renders the oneshot unit the service's OnFailure=
// starts. It runs the rollback script of the release that failed (a
// shell script, so a broken binary cannot break it) as root.
func (s Service) renderRollbackUnit() (string, error) {
	if err := s.validate(); err != nil {
		return "", fmt.Errorf("rollback unit: %w", err)
	}
	w := &unitWriter{}
	w.raw("# Installed by edgecnn flash; edits are overwritten on the next flash.")
	w.raw("# Started by " + s.UnitName() + "'s OnFailure= when it failed " + strconv.Itoa(s.RollbackAfter) + " starts in a row:")
	w.raw("# switches current back to the last good release and restarts it.")
	w.raw("[Unit]")
	w.raw("Description=edgecnn: roll back to the last good release")
	w.raw("Documentation=https://github.com/edgecnn/edgecnn/blob/main/docs/deploy.md")
	w.raw("")
	w.raw("[Service]")
	w.raw("Type=oneshot")
	w.command("ExecStart", []string{"/bin/sh", path.Join(s.Prefix, "current", RollbackScript), s.Prefix, s.UnitName()},
		[]string{"", "--prefix", "--prefix", "service name"})
	w.raw("# Waits for a flash in progress (its lock), and for the retry delay when")
	w.raw("# there is nothing to roll back to.")
	w.raw("TimeoutStartSec=30min")
	w.raw("NoNewPrivileges=yes")
	w.raw("ProtectHome=yes")
	w.raw("PrivateTmp=yes")
	if w.err != nil {
		return "", w.err
	}
	return w.b.String(), nil
}

// rollbackScript is the board-side rollback (POSIX sh, util-linux flock,
// coreutils). Arguments: PREFIX UNIT. Environment: SYSTEMCTL (default
// systemctl), EDGECNN_RETRY_SEC (default 300: how long to wait before
// restarting a good release that failed, so a release with nothing to
// fall back to is retried slowly rather than left dead).
//
//   - It takes PREFIX/.flash.lock (waiting up to 20 minutes), so it never
//     interleaves with a flash; a flash whose link died releases the lock
//     when its SSH session ends (or its 60 s lease runs out).
//   - current == good (or no good release recorded): nothing to roll back
//     to; after the retry delay the unit is reset and started again.
//   - otherwise current is switched to good (a symlink renamed over
//     current), good's unit file is put back if it differs, the unit is
//     reset and restarted, and the step is logged to PREFIX/rollback.log
//     and the journal.
const rollbackScript = `#!/bin/sh
# edgecnn-rollback PREFIX UNIT: board-side rollback, started by
# UNIT's OnFailure= (see docs/deploy.md "Board-side rollback").
set -u
prefix=$1 unit=$2
sc=${SYSTEMCTL:-systemctl}
retry=${EDGECNN_RETRY_SEC:-300}
log() {
	echo "edgecnn-rollback: $*"
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >> "$prefix/rollback.log" 2>/dev/null
}
exec 9>> "$prefix/.flash.lock" || { log "cannot open $prefix/.flash.lock"; exit 1; }
if ! flock -w 1200 9; then
	log "a flash has held $prefix/.flash.lock for 20 minutes; not rolling back"
	exit 1
fi
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) by board-side rollback ($unit failed; pid $$)" > "$prefix/.flash.owner"
cur=$(readlink "$prefix/current" 2>/dev/null || true)
good=$(readlink "$prefix/good" 2>/dev/null || true)
# restore_unit R: install release R's unit file where systemd has the unit,
# if it differs (a release's ExecStart and sandbox are its own).
restore_unit() {
	frag=$("$sc" show -p FragmentPath --value "$unit" 2>/dev/null || true)
	[ -n "$frag" ] && [ -f "$prefix/$1/edgecnn.service" ] || return 1
	cmp -s "$prefix/$1/edgecnn.service" "$frag" && return 1
	if cp "$prefix/$1/edgecnn.service" "$frag.tmp" && chmod 0644 "$frag.tmp" && mv -f "$frag.tmp" "$frag"; then
		log "restored the unit of ${1#releases/}"
		return 0
	fi
	log "restoring $frag failed"
	return 1
}
if [ -z "$cur" ]; then
	log "no current release; nothing to do"
	exit 0
fi
if [ -z "$good" ] || [ "$cur" = "$good" ] || [ ! -f "$prefix/$good/SHA256SUMS" ]; then
	if restore_unit "$cur"; then
		"$sc" daemon-reload
	else
		log "${cur#releases/} failed and there is no other good release to roll back to; restarting it in ${retry}s"
		sleep "$retry"
	fi
	"$sc" reset-failed "$unit"
	"$sc" start --no-block "$unit"
	exit 0
fi
log "${cur#releases/} failed its starts; rolling back to ${good#releases/}"
rm -f "$prefix/current.tmp"
if ! ln -s "$good" "$prefix/current.tmp" || ! mv -T "$prefix/current.tmp" "$prefix/current"; then
	log "switching current to ${good#releases/} failed"
	exit 1
fi
restore_unit "$good"
"$sc" daemon-reload
"$sc" reset-failed "$unit"
if ! "$sc" restart "$unit"; then
	log "restarting ${good#releases/} failed"
	exit 1
fi
log "rolled back to ${good#releases/}"
exit 0
`
