package main

import (
	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/agent/collect"
	"github.com/urfave/cli/v2"
)

// collectFlags are run's flags for keeping frames to label (package collect).
func collectFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "collect", Usage: "keep doubtful frames in DIR for labelling (full JPEG, 28×28 crops, JSON sidecar; label them at /label)"},
		&cli.Float64Flag{Name: "collect-below", Value: collect.DefaultBelow, Usage: "--collect: keep frames with a digit below this confidence"},
		&cli.Float64Flag{Name: "collect-rate", Value: collect.DefaultRate, Usage: "--collect: also keep this fraction of other frames as a random sample (0: none)"},
		&cli.IntFlag{Name: "collect-max-mb", Value: collect.DefaultMaxBytes >> 20, Usage: "--collect: disk quota in MiB; the oldest frames are deleted first"},
		&cli.IntFlag{Name: "collect-min-free-mb", Value: collect.DefaultMinFree >> 20, Usage: "--collect: keep this much space free on the disk for the system (0: no reserve)"},
		&cli.DurationFlag{Name: "collect-min-gap", Value: collect.DefaultMinGap, Usage: "--collect: least time between two kept frames (0: none)"},
		&cli.StringFlag{Name: "label-dir", Usage: "--collect: image folder the labelling view files crops into (default DIR/labelled)"},
	}
}

// collectSettings reads the --collect flags.
func collectSettings(c *cli.Context) agent.CollectSettings {
	s := agent.CollectSettings{Dir: c.String("collect"), LabelDir: c.String("label-dir"),
		Below: c.Float64("collect-below"), Rate: c.Float64("collect-rate"), MaxMiB: c.Int("collect-max-mb"),
		MinFreeMiB: c.Int("collect-min-free-mb"), MinGap: c.Duration("collect-min-gap")}
	for _, f := range []string{"collect-below", "collect-rate", "collect-max-mb", "collect-min-free-mb", "collect-min-gap", "label-dir"} {
		if s.WithoutDir == "" && c.IsSet(f) {
			s.WithoutDir = f
		}
	}
	return s
}
