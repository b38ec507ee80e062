//go:build !board

package main

import (
	"io"

	"github.com/edgecnn/edgecnn/train/data"
	"github.com/urfave/cli/v2"
)

// dataFlags are the data-source flags of train, eval and quantize.
func dataFlags(usage string) []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "data", Value: cli.NewStringSlice("data/mnist"),
			Usage: usage + "; repeat to mix sources: MNIST IDX folders and image folders DIR/<label>/*.{png,jpg,jpeg,gif,pgm,ppm} (labels 0..9, x = not a digit)"},
		&cli.StringFlag{Name: "mix", Usage: "weights of the --data sources in every batch, e.g. 1,1 (default: an equal share each)"},
	}
}

// openSources opens every --data source, printing each folder's summary.
func openSources(c *cli.Context, opt data.OpenOptions, w io.Writer) ([]*data.Source, []float64, error) {
	if opt.Threads == 0 {
		opt.Threads = loadThreads(c)
	}
	return data.OpenMixed(c.Context, c.StringSlice("data"), c.String("mix"), opt, w)
}

// loadThreads is --threads for decoding and preprocessing image folders.
func loadThreads(c *cli.Context) int {
	n, err := threads(c)
	if err != nil {
		return 1
	}
	return n
}
