//go:build !board

package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/camera/photoset"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:  "photoset",
		Usage: "generate an image folder of photographed digits in a style MNIST lacks (seven-segment LCD)",
		Description: "Writes --n camera-like photos (perspective, lighting, glare, blur, noise, JPEG) of\n" +
			"seven-segment LCD digits as OUT/<digit>/*.jpg, the image-folder layout train, eval and\n" +
			"quantize read. The same --seed gives the same photos; use another seed for a test set.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Required: true, Usage: "folder to write (created)"},
			&cli.StringFlag{Name: "style", Value: "lcd", Usage: "digit style: lcd (seven-segment)"},
			&cli.IntFlag{Name: "n", Value: 300, Usage: "photos (the digits 0..9 in turn)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "random seed"},
			&cli.IntFlag{Name: "width", Value: 240, Usage: "photo width in pixels"},
			&cli.IntFlag{Name: "height", Value: 180, Usage: "photo height in pixels"},
		},
		Action: func(c *cli.Context) error {
			if s := c.String("style"); s != "lcd" {
				return fmt.Errorf("photoset: --style %q: want lcd", s)
			}
			if err := photoset.LCDSet(c.String("out"), c.Int("n"), c.Uint64("seed"), c.Int("width"), c.Int("height")); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "wrote %d seven-segment LCD photos (seed %d) to %s/<digit>/\n", c.Int("n"), c.Uint64("seed"), c.String("out"))
			return nil
		},
	})
}
