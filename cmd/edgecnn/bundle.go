//go:build !board

package main

import (
	"fmt"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/deploy"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "bundle",
		Usage: "write the release flash would install (binary, libraries, model, unit, SHA256SUMS) into a folder, for Ansible (deploy/ansible) or other tools",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "board", Usage: "board name (edgecnn boards)", Required: true},
			&cli.StringFlag{Name: "out", Usage: "folder: OUT/releases/<release>/ and OUT/bundle.json", Required: true},
			&cli.StringFlag{Name: "model", Usage: "model file (default: the first of " + strings.Join(deploy.DefaultModels, ", ") + ")"},
			&cli.StringFlag{Name: "config", Usage: "config file (passed to edgecnn run --config)"},
			&cli.StringFlag{Name: "binary", Usage: "edgecnn binary built for the board (default: edgecnn build for --board)"},
			&cli.StringSliceFlag{Name: "backend", Usage: "backend(s) to build in and run (default: the board's)"},
			&cli.StringFlag{Name: "release-version", Usage: "release version (default: git describe)"},
			&cli.StringFlag{Name: "prefix", Value: deploy.DefaultPrefix, Usage: "install prefix on the board"},
			&cli.StringFlag{Name: "camera", Value: "auto", Usage: "camera source for the service"},
			&cli.StringFlag{Name: "http", Value: "127.0.0.1:8080", Usage: "the service's HTTP listen address (its /healthz is the health check)"},
			&cli.StringFlag{Name: "health-http", Usage: "the service's health responder address (run --health-http), asked by the health checks (default: loopback, the --http port + 1; - for none)"},
		},
		Action: func(c *cli.Context) error {
			b, err := boards.Target(c.String("board"))
			if err != nil {
				return err
			}
			model, err := deploy.PickModel(c.String("model"))
			if err != nil {
				return fmt.Errorf("bundle: %w", err)
			}
			bu, err := deploy.BundleFor(c.Context, b, model, deploy.Request{
				Config: c.String("config"), Binary: c.String("binary"), Backends: c.StringSlice("backend"),
				ReleaseVersion: c.String("release-version"), ProgramVersion: programVersion(), Log: c.App.ErrWriter,
				Service: deploy.Service{Prefix: c.String("prefix"), Camera: c.String("camera"), HTTP: c.String("http"), HealthHTTP: c.String("health-http")}})
			if err != nil {
				return err
			}
			m, err := deploy.WriteBundle(c.Context, c.String("out"), bu)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "%s: release %s for %s (%d files), manifest %s\n", c.String("out"), m.Release, m.Board, len(bu.Files)+1, deploy.ManifestFile)
			return nil
		},
	})
}
