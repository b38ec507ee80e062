//go:build !board

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/edgecnn/edgecnn/cross/oci"
	"github.com/edgecnn/edgecnn/deploy"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "build",
		Usage: "cross-compile edgecnn for a board (pure Go, or with the cgo tflite/onnxruntime backends and their libraries in lib/), optionally as an OCI container image",
		Description: `With --image oci:DIR[:TAG] and/or --push REGISTRY/REPO:TAG, the build is also packed into a
base-less OCI image (binary, model, bundled libraries, labels, entrypoint "edgecnn run", a
healthcheck) in pure Go, no Docker daemon; several --board give one multi-arch index.
Layers are reproducible (SOURCE_DATE_EPOCH sets their time; default the Unix epoch).`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "board", Usage: "board name (edgecnn boards); repeat for a multi-arch image", Required: true},
			&cli.StringSliceFlag{Name: "backend", Value: cli.NewStringSlice("native"), Usage: "native (pure Go, static), tflite, onnxruntime or all; repeat or comma-separate"},
			&cli.StringFlag{Name: "out", Usage: "folder for edgecnn and lib/ (default bin/BOARD; with several boards, OUT/BOARD)"},
			&cli.StringFlag{Name: "release-version", Usage: "version stamped into the binary (default: git describe)"},
			&cli.StringFlag{Name: "cache", Usage: "cache folder (default: .cache in the source tree)"},
			&cli.StringFlag{Name: "image", Usage: "also write an OCI image layout: oci:DIR or oci:DIR:TAG (default tag latest)"},
			&cli.StringFlag{Name: "push", Usage: "also push the image to REGISTRY/REPO:TAG (credentials from ~/.docker/config.json)"},
			&cli.BoolFlag{Name: "insecure-registry", Usage: "plain HTTP to --push's registry (loopback and private addresses use it anyway)"},
			&cli.StringFlag{Name: "model", Usage: "model file for the image (default: the first of " + strings.Join(deploy.DefaultModels, ", ") + ")"},
			&cli.StringFlag{Name: "config", Usage: "config file for the image (edgecnn run --config)"},
			&cli.StringFlag{Name: "http", Value: "0.0.0.0:8080", Usage: "the image's HTTP listen address"},
			&cli.StringFlag{Name: "health-http", Usage: "the image's health responder address, asked by its healthcheck (default: loopback, the --http port + 1; - for none)"},
			&cli.StringFlag{Name: "camera", Value: "auto", Usage: "the image's camera source"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		},
		Action: buildAction,
	})
}

func buildAction(c *cli.Context) error {
	bs, err := boards.Targets(c.StringSlice("board"))
	if err != nil {
		return err
	}
	image, push := c.String("image"), c.String("push")
	if len(bs) > 1 && image == "" && push == "" && c.Bool("json") {
		return errors.New("build: several boards with --json: give --image or --push, or build one board at a time")
	}
	// Check the image's inputs before the (long) build.
	model := ""
	if image != "" || push != "" {
		if image != "" {
			if _, _, err := oci.ParseLayoutRef(image); err != nil {
				return fmt.Errorf("build: --image: %w", err)
			}
		}
		m, err := deploy.PickModel(c.String("model"))
		if err != nil {
			return fmt.Errorf("build: an image needs a model: %w", err)
		}
		model = m
	}
	var results []*cross.Result
	for _, b := range bs {
		res, err := cross.Build(c.Context, cross.Request{
			Board: b, Backends: c.StringSlice("backend"), Out: cross.OutDir(c.String("out"), b.Name, len(bs)),
			Version: c.String("release-version"), CacheDir: c.String("cache"), Log: c.App.ErrWriter,
		})
		if err != nil {
			return err
		}
		results = append(results, res)
		if c.Bool("json") && image == "" && push == "" {
			return writeJSON(c.App.Writer, res)
		}
		if !c.Bool("json") {
			printBuild(c, b, res)
		}
	}
	if image == "" && push == "" {
		return nil
	}
	created, err := oci.CreatedFromEnv()
	if err != nil {
		return err
	}
	m, err := oci.Make(c.Context, oci.Request{
		Boards: bs, Backends: c.StringSlice("backend"), Builds: results, Version: c.String("release-version"),
		Image:  oci.Options{Model: model, Config: c.String("config"), Created: created, HTTP: c.String("http"), HealthHTTP: c.String("health-http"), Camera: c.String("camera")},
		Layout: image, Push: push, PushOpts: oci.PushOptions{Insecure: c.Bool("insecure-registry")}, Log: c.App.ErrWriter,
	})
	if err != nil {
		return err
	}
	var plats []string
	for _, im := range m.Result.Images {
		plats = append(plats, im.Platform.String())
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, map[string]any{
			"digest": m.Digest.String(), "platforms": plats, "layout": m.LayoutDir, "tag": m.Tag, "pushed": m.Pushed,
			"layers": m.Layers, "reused_layers": m.ReusedLayers, "image_seconds": m.ImageTime.Seconds(), "push_seconds": m.PushTime.Seconds(),
		})
	}
	if m.LayoutDir != "" {
		fmt.Fprintf(c.App.Writer, "image oci:%s:%s  %s  %s  %d layers, %d already in the layout  (%.1fs)\n",
			m.LayoutDir, m.Tag, m.Digest, strings.Join(plats, ","), m.Layers, m.ReusedLayers, m.ImageTime.Seconds())
	}
	if m.Pushed != "" {
		fmt.Fprintf(c.App.Writer, "pushed %s  %s  (%.1fs)\n", m.Pushed, m.Digest, m.PushTime.Seconds())
	}
	return nil
}

func printBuild(c *cli.Context, b boards.Board, res *cross.Result) {
	st, _ := os.Stat(res.Binary)
	var size int64
	if st != nil {
		size = st.Size()
	}
	how := fmt.Sprintf("built in %.1fs", res.Duration.Seconds())
	if res.CacheHit {
		how = "cache hit"
	}
	fmt.Fprintf(c.App.Writer, "%s  %s  %.1f MiB  version %s  key %s  (%s)\n", res.Binary, b.Triple(), float64(size)/(1<<20), res.Version, res.Key[:12], how)
	for _, l := range res.Libs {
		fmt.Fprintf(c.App.Writer, "%s  (bundled, found through rpath $ORIGIN/lib)\n", l)
	}
}
