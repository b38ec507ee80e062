package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/user"

	"github.com/edgecnn/edgecnn/boards"
)

// Execute carries out req (edgecnn flash): it plans the flash (PlanFlash),
// then writes the SD card at req.Dest or flashes every board, req.Parallel
// at a time, and writes the summary to out. With req.DryRun it writes the
// plan to out and changes nothing. Progress goes to req.Log.
func Execute(ctx context.Context, req Request, out io.Writer) error {
	plan, err := PlanFlash(ctx, req)
	if err != nil {
		return err
	}
	if plan.Dest != "" {
		bu := plan.DestBundle
		if req.DryRun {
			fmt.Fprint(out, Plan(bu, "rootfs "+plan.Dest, req.Options))
			return nil
		}
		r, err := InstallRoot(ctx, plan.Dest, bu, "", "", func(f string, a ...any) { fmt.Fprintf(logWriter(req.Log), f+"\n", a...) })
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: release %s written (%d files, %d hard-linked), %s enabled for first boot\n", plan.Dest, r.Release, r.Uploaded, r.Linked, bu.Service.UnitName())
		return nil
	}
	if req.DryRun {
		for _, j := range plan.Jobs {
			fmt.Fprint(out, Plan(j.Bundle, j.Target.String(), j.Opts))
		}
		return nil
	}
	results := FlashAll(ctx, plan.Jobs, req.Parallel)
	Summary(out, results)
	return Failed(results)
}

func logWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// ProgramVersion is the version a release of the running edgecnn carries:
// version, or "dev-USER" for an unstamped build.
func ProgramVersion(version string) string {
	if version != "" {
		return version
	}
	if u, err := user.Current(); err == nil {
		return "dev-" + u.Username
	}
	return "dev"
}

// StatusErr is the error of a status run: how many of rows are offline,
// not installed or unhealthy (nil: none).
func StatusErr(rows []BoardStatus) error {
	bad := 0
	for _, r := range rows {
		if !r.Online || !r.Healthy {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("status: %d of %d boards offline, not installed or unhealthy", bad, len(rows))
	}
	return nil
}

// ErrNoStatusTarget is status's error when no board is given.
var ErrNoStatusTarget = errors.New("status: no board: give --inventory FILE or --host user@address")

// StatusRequest is what edgecnn status was asked (the tags declare its
// flags; package cliflags).
type StatusRequest struct {
	Inventory string   `flag:"inventory" usage:"Ansible inventory, INI or YAML"`
	Group     string   `flag:"group" usage:"inventory group (default: all)"`
	Hosts     []string `flag:"host" usage:"user@address[:port] of a board (repeatable)"`
	SSH       SSHOptions
	StatusOptions
}

// Status asks every board of req for its status, in parallel (see
// FleetStatus); it fails only when req names no board.
func Status(ctx context.Context, req StatusRequest) ([]BoardStatus, error) {
	targets, err := Targets("status", req.Hosts, 0, req.Inventory, req.Group)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, ErrNoStatusTarget
	}
	return FleetStatus(ctx, targets, req.SSH, req.StatusOptions), nil
}

// PullRequest is what edgecnn pull was asked (the tags declare its flags;
// package cliflags).
type PullRequest struct {
	Host      string `flag:"host" required:"true" usage:"user@address[:port] of the board"`
	RemoteDir string `flag:"remote-dir" default:"/var/lib/edgecnn/collect" usage:"the board's collection directory (run --collect)"`
	Port      int    `flag:"port" usage:"SSH port when --host has none (default 22)"`
	SSH       SSHOptions
}

// PullFrom copies req.RemoteDir from the board into localDir over SFTP
// (see Pull) and returns the board it asked and what was copied.
func PullFrom(ctx context.Context, req PullRequest, localDir string) (Target, PullResult, error) {
	t, err := ParseTarget(req.Host)
	if err != nil {
		return t, PullResult{}, fmt.Errorf("pull: --host: %w", err)
	}
	if t.Port == 0 {
		t.Port = req.Port
	}
	conn, err := Dial(ctx, t, req.SSH)
	if err != nil {
		return t, PullResult{}, fmt.Errorf("pull: %w", err)
	}
	defer conn.Close()
	res, err := Pull(ctx, conn, req.RemoteDir, localDir, nil)
	return t, res, err
}

// BundleRequest is what edgecnn bundle was asked (the tags declare its
// flags; package cliflags).
type BundleRequest struct {
	Board          string   `flag:"board" required:"true" usage:"board name (edgecnn boards)"`
	Out            string   `flag:"out" required:"true" usage:"folder: OUT/releases/<release>/ and OUT/bundle.json"`
	Model          string   `flag:"model" usage:"model file (default: the first of {models})"`
	Judge          string   `flag:"judge" usage:"segmentation judge shipped beside the model for --multi (default: judge<ext> beside --model when present; none: no judge)"`
	Config         string   `flag:"config" usage:"config file (passed to edgecnn run --config)"`
	Binary         string   `flag:"binary" usage:"edgecnn binary built for the board (default: edgecnn build for --board)"`
	Backends       []string `flag:"backend" usage:"backend(s) to build in and run (default: the board's)"`
	ReleaseVersion string   `flag:"release-version" usage:"release version (default: git describe)"`
	Prefix         string   `flag:"prefix" default:"/opt/edgecnn" usage:"install prefix on the board"`
	Camera         string   `flag:"camera" default:"auto" usage:"camera source for the service"`
	HTTP           string   `flag:"http" default:"127.0.0.1:8080" usage:"the service's HTTP listen address"`
	HealthHTTP     string   `flag:"health-http" usage:"the service's health responder address (run --health-http), the health check (default: loopback, the --http port + 1; - for none)"`
	ProgramVersion string   // the running edgecnn's version (see ProgramVersion)
	Log            io.Writer
}

// UsageVars fills the lists in the flags' usage texts (package cliflags).
func (BundleRequest) UsageVars() map[string]string { return Request{}.UsageVars() }

// WriteRelease builds the bundle flash would install for req.Board and
// writes it into req.Out (see WriteBundle); it returns the manifest and
// the number of files written.
func WriteRelease(ctx context.Context, req BundleRequest) (BundleManifest, int, error) {
	b, err := boards.Target(req.Board)
	if err != nil {
		return BundleManifest{}, 0, err
	}
	model, err := PickModel(req.Model)
	if err != nil {
		return BundleManifest{}, 0, fmt.Errorf("bundle: %w", err)
	}
	if _, err := PickJudge(req.Judge, model); err != nil { // before the build
		return BundleManifest{}, 0, fmt.Errorf("bundle: %w", err)
	}
	bu, err := BundleFor(ctx, b, model, Request{Judge: req.Judge, Config: req.Config, Binary: req.Binary, Backends: req.Backends,
		ReleaseVersion: req.ReleaseVersion, ProgramVersion: req.ProgramVersion, Log: req.Log,
		Service: Service{Prefix: req.Prefix, Camera: req.Camera, HTTP: req.HTTP, HealthHTTP: req.HealthHTTP}})
	if err != nil {
		return BundleManifest{}, 0, err
	}
	m, err := WriteBundle(ctx, req.Out, bu)
	return m, len(bu.Files) + 1, err
}
