package main

import (
	"encoding/json"
	"fmt"

	"github.com/edgecnn/edgecnn/agent"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func predictCommand() *cli.Command {
	var o struct {
		agent.RecognizerSettings
		JSON bool `flag:"json" usage:"one JSON object per image"`
	}
	return &cli.Command{
		Name:      "predict",
		Usage:     "recognise the digit(s) in photos or images (same preprocessing as edgecnn run)",
		ArgsUsage: "IMAGE|DIR|-...",
		Description: "Each argument is an image file, a directory (its images in name order) or - (one image\n" +
			"read from standard input).\n\nEXAMPLES:\n" +
			"   edgecnn predict --model model.int8.tflite photo.jpg\n" +
			"   edgecnn predict --model model.int8.tflite --json photos/\n" +
			"   rpicam-still -o - | edgecnn predict --model model.int8.tflite -",
		Flags: cliflags.Flags(&o, cliflags.With(threadsFlag())),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			if c.NArg() == 0 {
				return fmt.Errorf("predict: no images given (usage: edgecnn predict --model FILE IMAGE...)")
			}
			p, err := agent.NewPredictor(o.RecognizerSettings)
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			defer p.Close()
			out, errw := c.App.Writer, c.App.ErrWriter
			if pl := p.Placement; pl.Fallback {
				fmt.Fprintf(errw, "predict: warning: running on %s %s, not %s: %s\n", pl.Backend, pl.Delegate, pl.Requested, pl.Reason)
			}
			if p.Judge != "" && o.Judge == "" && !o.JSON {
				fmt.Fprintf(errw, "note: --multi reads with the segmentation judge %s found beside the model (--judge %s: without)\n", p.Judge, agent.NoJudge)
			}
			if p.Note() != "" && !o.JSON {
				fmt.Fprintf(errw, "note: rejection of non-digits is by confidence only (≥ %.2f): the model has no \"x\" (not a digit) class\n", p.Rejection().Threshold)
			}
			enc := json.NewEncoder(out)
			failed, n, err := p.Each(c.Context, c.Args().Slice(), c.App.Reader, func(l agent.PredictLine) {
				switch {
				case o.JSON:
					enc.Encode(l)
				case l.Error != "":
					fmt.Fprintf(errw, "%s: error: %s\n", l.File, l.Error)
				case l.OK():
					fmt.Fprintf(out, "%s: %s (confidence %.3f)\n", l.File, l.Text, l.Confidence)
				default:
					fmt.Fprintf(out, "%s: no digit (%s)\n", l.File, l.Reason)
				}
			})
			if err != nil {
				return fmt.Errorf("predict: %w", err)
			}
			if failed > 0 {
				return fmt.Errorf("predict: %d of %d images could not be read", failed, n)
			}
			return nil
		}),
	}
}
