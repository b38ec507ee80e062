//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/edgecnn/edgecnn/internal/cliflags"
	"github.com/urfave/cli/v2"
)

func photosetCommand() *cli.Command {
	var o photoset.Options
	return &cli.Command{
		Name:  "photoset",
		Usage: "generate an image folder of photographed digits in a style MNIST lacks (seven-segment LCD)",
		Description: "Writes --n camera-like photos (perspective, lighting, glare, blur, noise, JPEG) of\n" +
			"seven-segment LCD digits as OUT/<digit>/*.jpg, the image-folder layout train, eval and\n" +
			"quantize read. The same --seed gives the same photos; use another seed for a test set.",
		Flags: cliflags.Flags(&o),
		Action: cliflags.Action(&o, func(c *cli.Context) error {
			if err := photoset.Write(o); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %d seven-segment LCD photos (seed %d) to %s/<digit>/\n", o.N, o.Seed, o.Out)
			return nil
		}),
	}
}
