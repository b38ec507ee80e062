package main

import (
	"fmt"
	goruntime "runtime"

	"github.com/edgecnn/edgecnn/runtime"
	"github.com/urfave/cli/v2"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print version, platform and compiled-in backends",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "edgecnn %s %s/%s backends=%v\n", version, goruntime.GOOS, goruntime.GOARCH, runtime.Backends())
			return nil
		},
	}
}
