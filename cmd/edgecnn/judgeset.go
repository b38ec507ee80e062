//go:build !board

package main

import (
	"encoding/json"
	"fmt"

	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/edgecnn/edgecnn/train/judge"
	"github.com/urfave/cli/v2"
)

func judgesetCommand() *cli.Command {
	var o judge.Options
	return &cli.Command{
		Name:  "judgeset",
		Usage: "generate the segmentation judge's training folder (the --multi candidates of generated number photos)",
		Description: "Draws --n whole-number photos from MNIST training digits (most with touching digits),\n" +
			"reads each with --model and --multi, and writes every candidate the segmenter renders as a\n" +
			"28×28 PNG in OUT/<label>/: a digit 0..9, a pair 00..99 (two touching digits) or x (a\n" +
			"fragment, three or more digits). Train the judge on it with edgecnn train (make model-judge)\n" +
			"and use it with --multi --judge. The same --seed gives the same folder.",
		Flags: cliflags.Flags(&o),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			st, err := judge.Write(c.Context, o)
			if err != nil {
				return err
			}
			b, _ := json.Marshal(st)
			fmt.Fprintf(c.App.Writer, "wrote %s: %s\n", o.Out, b)
			return nil
		}),
	}
}
