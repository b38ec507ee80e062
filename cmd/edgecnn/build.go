//go:build !board

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/edgecnn/edgecnn/cross"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "build",
		Usage: "cross-compile edgecnn for a board (pure Go, or with the cgo tflite/onnxruntime backends and their libraries in lib/)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "board", Usage: "board name (edgecnn boards)", Required: true},
			&cli.StringSliceFlag{Name: "backend", Value: cli.NewStringSlice("native"), Usage: "native (pure Go, static), tflite, onnxruntime or all; repeat or comma-separate"},
			&cli.StringFlag{Name: "out", Usage: "folder for edgecnn and lib/ (default bin/BOARD)"},
			&cli.StringFlag{Name: "release-version", Usage: "version stamped into the binary (default: git describe)"},
			&cli.StringFlag{Name: "cache", Usage: "cache folder (default: .cache in the source tree)"},
			&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		},
		Action: func(c *cli.Context) error {
			b, err := boards.Target(c.String("board"))
			if err != nil {
				return err
			}
			out := c.String("out")
			if out == "" {
				out = filepath.Join("bin", b.Name)
			}
			res, err := cross.Build(c.Context, cross.Request{
				Board: b, Backends: c.StringSlice("backend"), Out: out,
				Version: c.String("release-version"), CacheDir: c.String("cache"), Log: c.App.ErrWriter,
			})
			if err != nil {
				return err
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, res)
			}
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
			return nil
		},
	})
}
