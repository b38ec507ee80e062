//go:build !board

package main

import (
	"encoding/json"
	"fmt"

	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/edgecnn/edgecnn/quantize/qdata"
	"github.com/urfave/cli/v2"
)

func quantizeCommand() *cli.Command {
	var o struct {
		qdata.Job
		JSON bool `flag:"json" usage:"print the report as JSON instead of the summary"`
	}
	return &cli.Command{
		Name:  "quantize",
		Usage: "quantize a float checkpoint to an int8 .tflite and report what it cost, layer by layer",
		Description: "Calibrates on the first --calib training images, picks the clipping ranges\n" +
			"(--method auto tries minmax, percentile, entropy and mse and keeps the best on the\n" +
			"next --val training images), writes TFLite's full-integer int8 model and evaluates\n" +
			"float vs int8 on the test set with the native int8 engine. With image folders among\n" +
			"the --data sources (or --eval-data) the report adds a table of accuracy per source.",
		Flags: cliflags.Flags(&o, cliflags.With(threadsFlag()),
			cliflags.Prefix("data", "calibration and test data (calibration images are drawn from every source by --mix; the report has a row per source)")),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			o.Log = c.App.ErrWriter
			rep, err := qdata.Run(c.Context, o.Job)
			if err != nil {
				return err
			}
			w := c.App.Writer
			if o.JSON {
				return json.NewEncoder(w).Encode(rep)
			}
			if err := rep.WriteText(w); err != nil {
				return err
			}
			fmt.Fprintf(w, "wrote %s", o.Out)
			if o.Report != "" {
				fmt.Fprintf(w, " and report %s", o.Report)
			}
			fmt.Fprintln(w)
			return nil
		}),
	}
}
