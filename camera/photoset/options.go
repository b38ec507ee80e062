package photoset

import "fmt"

// Options are what edgecnn photoset writes (the tags declare its flags;
// package cliflags).
type Options struct {
	Out    string `flag:"out" required:"true" usage:"folder to write (created)"`
	Style  string `flag:"style" default:"lcd" usage:"digit style: lcd (seven-segment)"`
	N      int    `flag:"n" default:"300" usage:"photos (the digits 0..9 in turn)"`
	Seed   uint64 `flag:"seed" default:"1" usage:"random seed"`
	Width  int    `flag:"width" default:"240" usage:"photo width in pixels"`
	Height int    `flag:"height" default:"180" usage:"photo height in pixels"`
}

// Write writes the image folder o describes (see LCDSet).
func Write(o Options) error {
	if o.Style != "lcd" {
		return fmt.Errorf("photoset: --style %q: want lcd", o.Style)
	}
	return LCDSet(o.Out, o.N, o.Seed, o.Width, o.Height)
}
