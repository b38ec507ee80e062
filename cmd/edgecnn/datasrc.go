//go:build !board

package main

import (
	"fmt"
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
	paths := c.StringSlice("data")
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("no --data source")
	}
	weights, err := data.ParseMix(c.String("mix"))
	if err != nil {
		return nil, nil, err
	}
	if weights != nil && len(weights) != len(paths) {
		return nil, nil, fmt.Errorf("--mix has %d weights for %d --data sources", len(weights), len(paths))
	}
	if opt.Threads == 0 {
		opt.Threads = loadThreads(c)
	}
	srcs, err := data.OpenAll(c.Context, paths, opt)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range srcs {
		if s.Info.Kind == data.KindFolder {
			fmt.Fprintf(w, "%s: %s\n", s.Info.Path, s.Summary)
		}
	}
	return srcs, weights, nil
}

// loadThreads is --threads for decoding and preprocessing image folders.
func loadThreads(c *cli.Context) int {
	n, err := threads(c)
	if err != nil {
		return 1
	}
	return n
}
