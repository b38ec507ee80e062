package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/model"
)

// DefaultModels are tried, in order, when a flash names no model.
var DefaultModels = []string{"out/demo/model.int8.tflite", "models/mnist.int8.tflite", "model.int8.tflite", "out/demo/model.tflite"}

// Request is everything edgecnn flash was asked for: where (hosts, an
// inventory or an SD card's root), what (board, model, config, binary,
// backends, version) and how (service settings, SSH, install options).
//
// The tags declare edgecnn flash's flags (package cliflags).
type Request struct {
	// Board is the board name; an inventory's edgecnn_board overrides it
	// per host.
	Board string `flag:"board" usage:"board name (edgecnn boards); an inventory's edgecnn_board= overrides it per host"`
	// Hosts are user@address[:port].
	Hosts []string `flag:"host" usage:"user@address[:port] of a board (repeatable)"`
	// Inventory is an Ansible inventory (INI or YAML).
	Inventory string `flag:"inventory" usage:"Ansible inventory, INI or YAML (.yml/.yaml): hosts, groups and children, ansible_host, ansible_user, ansible_port, ansible_ssh_private_key_file, edgecnn_board"`
	// Group is the inventory group (""/all: every host).
	Group string `flag:"group" usage:"inventory group to flash (default: all)"`
	// Port is the SSH port for hosts without one (0: 22).
	Port int        `flag:"port" usage:"SSH port for hosts without one (default 22)"`
	SSH  SSHOptions // keys and known_hosts

	// Model "" is the first of DefaultModels that exists.
	Model string `flag:"model" usage:"model file to deploy (.tflite or .onnx; default: the first of {models})"`
	// Judge is the segmentation judge shipped beside the model (PickJudge:
	// "" the one beside Model when present, NoJudge none).
	Judge string `flag:"judge" usage:"segmentation judge shipped beside the model for --multi (default: judge<ext> beside --model when present; none: no judge)"`
	// Config is an optional config file for edgecnn run --config.
	Config string `flag:"config" usage:"config file to deploy (passed to edgecnn run --config)"`
	// Binary is a board binary; "" → BoardBinary builds one.
	Binary string `flag:"binary" usage:"edgecnn binary built for the board (default: edgecnn build for --board from this source tree)"`
	// Backends are the backends to build in (default: the board's).
	Backends []string `flag:"backend" usage:"backend(s) to build in and run: native, tflite, onnxruntime (default: the board's)"`
	// ReleaseVersion "" is the build's version.
	ReleaseVersion string `flag:"release-version" usage:"release version (default: git describe)"`
	// ProgramVersion is the running edgecnn's version (used when it ships
	// itself; see ProgramVersion).
	ProgramVersion string

	// Dest is a mounted root filesystem to write instead of SSH.
	Dest string `flag:"dest" usage:"write into this mounted root filesystem (SD card) instead of SSH; the unit is enabled for first boot"`
	// DryRun prints the plan (Execute) and changes nothing.
	DryRun  bool    `flag:"dry-run" usage:"print the plan and change nothing"`
	Service Service // Prefix, Camera, HTTP, RollbackAfter, MemoryMax, HealthTimeout
	// Sudo is "auto" (when the login user is not root), "yes" or "no".
	Sudo    string  `flag:"sudo" default:"auto" usage:"run privileged steps with sudo -n: auto (when the login user is not root), yes, no"`
	Options Options // install options shared by every job
	// Parallel is how many boards Execute flashes at once (0: all).
	Parallel int       `flag:"parallel" default:"8" usage:"boards flashed at once"`
	Log      io.Writer // build progress
}

// UsageVars fills the lists in the flags' usage texts (package cliflags).
func (Request) UsageVars() map[string]string {
	return map[string]string{"models": strings.Join(DefaultModels, ", ")}
}

// FlashPlan is a Request resolved: the bundle for every board and either
// one job per target or, for an SD card, the bundle to write to Dest.
type FlashPlan struct {
	Jobs       []Job
	Dest       string
	DestBundle *Bundle
}

// PlanFlash resolves req: targets from hosts and the inventory, a board
// for each, the model, one bundle per board (building its binary), and
// the jobs. Nothing is changed on any board.
func PlanFlash(ctx context.Context, req Request) (*FlashPlan, error) {
	targets, boardOf, err := resolveTargets(req)
	if err != nil {
		return nil, err
	}
	model, err := PickModel(req.Model)
	if err != nil {
		return nil, fmt.Errorf("flash: %w", err)
	}
	if _, err := PickJudge(req.Judge, model); err != nil { // before the builds
		return nil, fmt.Errorf("flash: %w", err)
	}
	bundles := map[string]*Bundle{}
	for name, b := range boardOf {
		if bundles[name], err = BundleFor(ctx, b, model, req); err != nil {
			return nil, err
		}
	}
	if req.Dest != "" {
		return &FlashPlan{Dest: req.Dest, DestBundle: bundles[req.Board]}, nil
	}
	plan := &FlashPlan{}
	for _, t := range targets {
		o := req.Options
		switch req.Sudo {
		case "yes":
			o.Sudo = true
		case "no":
		case "", "auto":
			o.Sudo = t.User != "root"
		default:
			return nil, fmt.Errorf("flash: --sudo must be auto, yes or no, not %q", req.Sudo)
		}
		plan.Jobs = append(plan.Jobs, Job{Target: t, Bundle: bundles[t.Board], SSH: req.SSH, Opts: o})
	}
	return plan, nil
}

// Targets parses the --host values of command cmd (a host without a port
// gets port; 0: the SSH default) and appends the targets of the inventory
// ("": none) restricted to group.
func Targets(cmd string, hosts []string, port int, inventory, group string) ([]Target, error) {
	var targets []Target
	for _, h := range hosts {
		t, err := ParseTarget(h)
		if err != nil {
			return nil, fmt.Errorf("%s: --host: %w", cmd, err)
		}
		if t.Port == 0 {
			t.Port = port
		}
		targets = append(targets, t)
	}
	if inventory != "" {
		ts, err := ReadInventory(inventory, group)
		if err != nil {
			return nil, err
		}
		targets = append(targets, ts...)
	}
	return targets, nil
}

// resolveTargets parses the hosts and the inventory and gives every
// target a board (its inventory's edgecnn_board, else req.Board).
func resolveTargets(req Request) ([]Target, map[string]boards.Board, error) {
	var board boards.Board
	if req.Board != "" {
		b, err := boards.Target(req.Board)
		if err != nil {
			return nil, nil, err
		}
		board = b
	}
	targets, err := Targets("flash", req.Hosts, req.Port, req.Inventory, req.Group)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case req.Dest == "" && len(targets) == 0:
		return nil, nil, errors.New("flash: no board to flash: give --host user@address (repeatable), --inventory FILE or --dest ROOTFS")
	case req.Dest != "" && len(targets) > 0:
		return nil, nil, errors.New("flash: --dest writes an SD card; it cannot be combined with --host/--inventory")
	}
	boardOf := map[string]boards.Board{}
	for i, t := range targets {
		if t.Board == "" {
			if board.Name == "" {
				return nil, nil, fmt.Errorf("flash: no --board for %s; known boards: %s", t, strings.Join(boards.Names(), ", "))
			}
			targets[i].Board = board.Name
			continue
		}
		b, err := boards.Target(t.Board)
		if err != nil {
			return nil, nil, fmt.Errorf("flash: %s: %w", t, err)
		}
		boardOf[b.Name] = b
	}
	if board.Name != "" {
		boardOf[board.Name] = board
	}
	if len(boardOf) == 0 {
		return nil, nil, fmt.Errorf("flash: --board is required; known boards: %s", strings.Join(boards.Names(), ", "))
	}
	return targets, boardOf, nil
}

// BundleFor builds (or takes) the board binary for b and bundles it with
// model, req's segmentation judge (PickJudge) and req's config and service
// settings: the release flash, bundle and the Ansible role install.
func BundleFor(ctx context.Context, b boards.Board, model string, req Request) (*Bundle, error) {
	judge, err := PickJudge(req.Judge, model)
	if err != nil {
		return nil, err
	}
	backends := req.Backends
	if len(backends) == 0 {
		backends = []string{b.Backend}
	}
	bin, libs, version, err := BoardBinary(ctx, b, backends, req)
	if err != nil {
		return nil, err
	}
	svc := req.Service
	svc.Backend = "native"
	for _, be := range backends {
		if be != "native" && !strings.Contains(be, ",") {
			svc.Backend = be
		}
	}
	return NewBundle(Spec{Board: b, Binary: bin, Libs: libs, Model: model, Judge: judge, Config: req.Config, Version: version, Service: svc})
}

// PickModel returns model, or when empty the first of DefaultModels that
// exists; it must be a regular file.
func PickModel(model string) (string, error) {
	if model == "" {
		for _, m := range DefaultModels {
			if _, err := os.Stat(m); err == nil {
				model = m
				break
			}
		}
		if model == "" {
			return "", fmt.Errorf("no --model given and none of %s exists (make demo or edgecnn quantize writes one)", strings.Join(DefaultModels, ", "))
		}
	}
	if st, err := os.Stat(model); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("--model %s: not a readable file", model)
	}
	return model, nil
}

// NoJudge is the --judge value that ships no segmentation judge.
const NoJudge = model.NoJudge

// PickJudge returns the segmentation judge to ship beside model ("":
// none): judge when named (a regular file, not the model itself, with the
// model's extension; see JudgeFileName), none for NoJudge, and when judge is
// empty the file `edgecnn run --multi` would read beside model
// (model.FindJudgeBeside: out/demo/judge.int8.tflite beside
// out/demo/model.int8.tflite) when present.
func PickJudge(judge, modelPath string) (string, error) {
	switch judge {
	case NoJudge:
		return "", nil
	case "":
		return model.FindJudgeBeside(modelPath), nil
	}
	switch err := model.CheckJudge(judge, modelPath); {
	case errors.Is(err, model.ErrJudgeIsModel):
		return "", fmt.Errorf("--judge %s is the model file itself: give the segmentation judge (make model-judge writes models/judge.ckpt)", judge)
	case err != nil:
		return "", fmt.Errorf("--judge %s: not a readable file (--judge %s ships none)", judge, NoJudge)
	}
	if _, err := JudgeFileName(modelPath, judge); err != nil {
		return "", err
	}
	return judge, nil
}

// JudgeFileName is the name of the segmentation judge file in a release:
// "judge" and the model's extension, as the model is "model" and its
// extension (model.tflite, judge.tflite), so that `edgecnn run --multi`
// finds it beside the model. A judge with another extension than the
// model's is refused: the board opens both with one backend.
func JudgeFileName(modelPath, judge string) (string, error) {
	me, je := strings.ToLower(filepath.Ext(modelPath)), strings.ToLower(filepath.Ext(judge))
	if je != me {
		return "", fmt.Errorf("--judge %s: a %q file beside a %q model: the board opens both with one backend; export the judge to %s as well (edgecnn export --model models/judge.ckpt ...)",
			judge, je, me, me)
	}
	return model.JudgeName("model" + me), nil
}

// BoardBinary returns the binary (and libraries) to ship for b:
// req.Binary, else a cross build from the edgecnn source tree
// (cross.SourceTree), else the running binary when it already suits the
// board and runs the native backend.
func BoardBinary(ctx context.Context, b boards.Board, backends []string, req Request) (bin string, libs []string, version string, err error) {
	version = req.ReleaseVersion
	if req.Binary != "" {
		if version == "" {
			version = "custom"
		}
		return req.Binary, nil, version, nil
	}
	if root, rerr := cross.SourceTree(); rerr == nil {
		res, err := cross.Build(ctx, cross.Request{Board: b, Backends: backends, ModuleRoot: root, Version: version, Log: req.Log})
		if err != nil {
			return "", nil, "", err
		}
		if res.CacheHit && req.Log != nil {
			fmt.Fprintf(req.Log, "build: cache hit %s\n", res.Key[:12])
		}
		return res.Binary, res.Libs, res.Version, nil
	}
	native := len(backends) == 0 || (len(backends) == 1 && backends[0] == "native")
	if native && b.GOOS == goruntime.GOOS && b.GOARCH == goruntime.GOARCH {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, "", err
		}
		if version == "" {
			version = req.ProgramVersion
		}
		return exe, nil, version, nil
	}
	return "", nil, "", fmt.Errorf("flash: not in the edgecnn source tree, so cannot build for %s: run it there, set %s, or pass --binary FILE", b.Name, cross.SourceEnv)
}

// Failed summarizes flash results as an error: nil when every board
// succeeded, the one board's error, or how many failed.
func Failed(results []Result) error {
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	switch {
	case failed == 0:
		return nil
	case len(results) == 1:
		return fmt.Errorf("flash %s: %w", results[0].Target, results[0].Err)
	}
	return fmt.Errorf("flash: %d of %d boards failed", failed, len(results))
}
