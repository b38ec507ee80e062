package main

import (
	"fmt"
	"log/slog"

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

// newCollector opens the collector --collect asks for (nil without it).
func newCollector(c *cli.Context, log *slog.Logger) (*collect.Collector, error) {
	dir := c.String("collect")
	if dir == "" {
		for _, f := range []string{"collect-below", "collect-rate", "collect-max-mb", "collect-min-free-mb", "collect-min-gap", "label-dir"} {
			if c.IsSet(f) {
				return nil, fmt.Errorf("--%s needs --collect DIR", f)
			}
		}
		return nil, nil
	}
	below, rate, mb := c.Float64("collect-below"), c.Float64("collect-rate"), c.Int("collect-max-mb")
	if !(below >= 0 && below <= 1) {
		return nil, fmt.Errorf("--collect-below %v out of range [0, 1]", below)
	}
	if !(rate >= 0 && rate <= 1) {
		return nil, fmt.Errorf("--collect-rate %v out of range [0, 1]", rate)
	}
	if mb <= 0 {
		return nil, fmt.Errorf("--collect-max-mb %d must be positive", mb)
	}
	if c.Int("collect-min-free-mb") < 0 {
		return nil, fmt.Errorf("--collect-min-free-mb %d is negative", c.Int("collect-min-free-mb"))
	}
	if c.Duration("collect-min-gap") < 0 {
		return nil, fmt.Errorf("--collect-min-gap %v is negative", c.Duration("collect-min-gap"))
	}
	cfg := collect.Config{Dir: dir, LabelDir: c.String("label-dir"), Below: float32(below), Rate: rate,
		MaxBytes: int64(mb) << 20, MinFree: int64(c.Int("collect-min-free-mb")) << 20, MinGap: c.Duration("collect-min-gap"), Log: log}
	// 0 means "off" on the command line; the package's zero value means default.
	if below == 0 {
		cfg.Below = -1
	}
	if rate == 0 {
		cfg.Rate = -1
	}
	if cfg.MinGap == 0 {
		cfg.MinGap = -1
	}
	if cfg.MinFree == 0 {
		cfg.MinFree = -1
	}
	v, err := collect.ModelVersion(c.String("model"))
	if err != nil {
		return nil, err
	}
	cfg.ModelVersion = v
	return collect.New(cfg)
}
