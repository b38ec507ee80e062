//go:build !board

package main

import (
	"fmt"
	"os"
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
			&cli.StringFlag{Name: "model", Usage: "model file (default: the first of " + strings.Join(defaultModels, ", ") + ")"},
			&cli.StringFlag{Name: "config", Usage: "config file (passed to edgecnn run --config)"},
			&cli.StringFlag{Name: "binary", Usage: "edgecnn binary built for the board (default: edgecnn build for --board)"},
			&cli.StringSliceFlag{Name: "backend", Usage: "backend(s) to build in and run (default: the board's)"},
			&cli.StringFlag{Name: "release-version", Usage: "release version (default: git describe)"},
			&cli.StringFlag{Name: "prefix", Value: deploy.DefaultPrefix, Usage: "install prefix on the board"},
			&cli.StringFlag{Name: "camera", Value: "auto", Usage: "camera source for the service"},
			&cli.StringFlag{Name: "http", Value: "127.0.0.1:8080", Usage: "the service's HTTP listen address (its /healthz is the health check)"},
		},
		Action: func(c *cli.Context) error {
			b, err := boards.Target(c.String("board"))
			if err != nil {
				return err
			}
			model, err := modelOrDefault(c.String("model"))
			if err != nil {
				return fmt.Errorf("bundle: %w", err)
			}
			backends := c.StringSlice("backend")
			if len(backends) == 0 {
				backends = []string{b.Backend}
			}
			bin, libs, version, err := flashBinary(c, b, backends)
			if err != nil {
				return err
			}
			runBackend := "native"
			for _, be := range backends {
				if be != "native" && !strings.Contains(be, ",") {
					runBackend = be
				}
			}
			bu, err := deploy.NewBundle(deploy.Spec{Board: b, Binary: bin, Libs: libs, Model: model, Config: c.String("config"), Version: version,
				Service: deploy.Service{Prefix: c.String("prefix"), Backend: runBackend, Camera: c.String("camera"), HTTP: c.String("http")}})
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

// modelOrDefault returns model, or when empty the first of defaultModels
// that exists; it must be a regular file.
func modelOrDefault(model string) (string, error) {
	if model == "" {
		for _, m := range defaultModels {
			if _, err := os.Stat(m); err == nil {
				model = m
				break
			}
		}
		if model == "" {
			return "", fmt.Errorf("no --model given and none of %s exists", strings.Join(defaultModels, ", "))
		}
	}
	if st, err := os.Stat(model); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("--model %s: not a readable file", model)
	}
	return model, nil
}
