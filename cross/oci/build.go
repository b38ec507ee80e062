package oci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/deploy"
)

// BuildRequest is what edgecnn build was asked: cross builds for one or
// more boards and, with Image or Push, an OCI image of them (the tags
// declare its flags; package cliflags).
type BuildRequest struct {
	Boards   []string `flag:"board" required:"true" usage:"board name (edgecnn boards); repeat for a multi-arch image"`
	Backends []string `flag:"backend" default:"native" usage:"native (pure Go, static), tflite, onnxruntime or all; repeat or comma-separate"`
	Out      string   `flag:"out" usage:"folder for edgecnn and lib/ (default bin/BOARD; with several boards, OUT/BOARD)"`
	Version  string   `flag:"release-version" usage:"version stamped into the binary (default: git describe)"`
	Cache    string   `flag:"cache" usage:"cache folder (default: .cache in the source tree)"`
	Image    string   `flag:"image" usage:"also write an OCI image layout: oci:DIR or oci:DIR:TAG (default tag latest)"`
	Push     string   `flag:"push" usage:"also push the image to REGISTRY/REPO:TAG (credentials from ~/.docker/config.json)"`
	Insecure bool     `flag:"insecure-registry" usage:"plain HTTP to --push's registry (loopback and private addresses use it anyway)"`
	Model    string   `flag:"model" usage:"model file for the image (default: the first of {models})"`
	Judge    string   `flag:"judge" usage:"segmentation judge placed beside the model for --multi (default: judge<ext> beside --model when present; none: no judge)"`
	Config   string   `flag:"config" usage:"config file for the image (edgecnn run --config)"`
	HTTP     string   `flag:"http" default:"0.0.0.0:8080" usage:"the image's HTTP listen address"`
	// HealthHTTP is the image's health responder address (Options.HealthHTTP).
	HealthHTTP string `flag:"health-http" usage:"the image's health responder address, asked by its healthcheck (default: loopback, the --http port + 1; - for none)"`
	Camera     string `flag:"camera" default:"auto" usage:"the image's camera source"`
	// JSON asks for one result: several boards need an image.
	JSON bool `flag:"json" usage:"print the result as JSON"`
	Log  io.Writer
	// OnBuild, when set, is called after each board's build.
	OnBuild func(boards.Board, *cross.Result)
}

// UsageVars fills the lists in the flags' usage texts (package cliflags).
func (BuildRequest) UsageVars() map[string]string { return deploy.Request{}.UsageVars() }

// BuildBoards carries out req: the image's inputs are checked first, then every
// board is built (cross.Build) and, with req.Image or req.Push, packed
// into one image (Make; nil Made without).
func BuildBoards(ctx context.Context, req BuildRequest) ([]*cross.Result, *Made, error) {
	bs, err := boards.Targets(req.Boards)
	if err != nil {
		return nil, nil, err
	}
	image := req.Image != "" || req.Push != ""
	if len(bs) > 1 && !image && req.JSON {
		return nil, nil, errors.New("build: several boards with --json: give --image or --push, or build one board at a time")
	}
	model, judge := "", ""
	if image { // check the image's inputs before the (long) build
		if req.Image != "" {
			if _, _, err := ParseLayoutRef(req.Image); err != nil {
				return nil, nil, fmt.Errorf("build: --image: %w", err)
			}
		}
		if model, err = deploy.PickModel(req.Model); err != nil {
			return nil, nil, fmt.Errorf("build: an image needs a model: %w", err)
		}
		if judge, err = deploy.PickJudge(req.Judge, model); err != nil {
			return nil, nil, fmt.Errorf("build: %w", err)
		}
	}
	var results []*cross.Result
	for _, b := range bs {
		res, err := cross.Build(ctx, cross.Request{Board: b, Backends: req.Backends, Out: cross.OutDir(req.Out, b.Name, len(bs)),
			Version: req.Version, CacheDir: req.Cache, Log: req.Log})
		if err != nil {
			return nil, nil, err
		}
		results = append(results, res)
		if req.OnBuild != nil {
			req.OnBuild(b, res)
		}
	}
	if !image {
		return results, nil, nil
	}
	created, err := CreatedFromEnv()
	if err != nil {
		return nil, nil, err
	}
	m, err := Make(ctx, Request{
		Boards: bs, Backends: req.Backends, Builds: results, Version: req.Version,
		Image:  Options{Model: model, Judge: judge, Config: req.Config, Created: created, HTTP: req.HTTP, HealthHTTP: req.HealthHTTP, Camera: req.Camera},
		Layout: req.Image, Push: req.Push, PushOpts: PushOptions{Insecure: req.Insecure}, Log: req.Log,
	})
	return results, m, err
}

// Summary is m as edgecnn build --json prints it.
func (m *Made) Summary() map[string]any {
	return map[string]any{
		"digest": m.Digest.String(), "platforms": m.platforms(), "layout": m.LayoutDir, "tag": m.Tag, "pushed": m.Pushed,
		"layers": m.Layers, "reused_layers": m.ReusedLayers, "image_seconds": m.ImageTime.Seconds(), "push_seconds": m.PushTime.Seconds(),
	}
}

func (m *Made) platforms() []string {
	var plats []string
	for _, im := range m.Result.Images {
		plats = append(plats, im.Platform.String())
	}
	return plats
}

// WriteText writes what m wrote and pushed, a line each.
func (m *Made) WriteText(w io.Writer) {
	if m.LayoutDir != "" {
		fmt.Fprintf(w, "image oci:%s:%s  %s  %s  %d layers, %d already in the layout  (%.1fs)\n",
			m.LayoutDir, m.Tag, m.Digest, strings.Join(m.platforms(), ","), m.Layers, m.ReusedLayers, m.ImageTime.Seconds())
	}
	if m.Pushed != "" {
		fmt.Fprintf(w, "pushed %s  %s  (%.1fs)\n", m.Pushed, m.Digest, m.PushTime.Seconds())
	}
}

// WriteBuild writes one board's build result as edgecnn build prints it:
// the binary, its size, version and cache key, then each bundled library.
func WriteBuild(w io.Writer, b boards.Board, res *cross.Result) {
	var size int64
	if st, err := os.Stat(res.Binary); err == nil {
		size = st.Size()
	}
	how := fmt.Sprintf("built in %.1fs", res.Duration.Seconds())
	if res.CacheHit {
		how = "cache hit"
	}
	fmt.Fprintf(w, "%s  %s  %.1f MiB  version %s  key %s  (%s)\n", res.Binary, b.Triple(), float64(size)/(1<<20), res.Version, res.Key[:12], how)
	for _, l := range res.Libs {
		fmt.Fprintf(w, "%s  (bundled, found through rpath $ORIGIN/lib)\n", l)
	}
}
