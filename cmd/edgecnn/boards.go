package main

import (
	"fmt"
	"strings"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/urfave/cli/v2"
)

func boardsCommand() *cli.Command {
	return &cli.Command{
		Name:      "boards",
		Usage:     "list the supported boards (the table that drives build and flash)",
		ArgsUsage: " ",
		Flags:     []cli.Flag{jsonFlag("print the table as JSON")},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("boards: unexpected argument %q (did you mean: edgecnn boards show %s?)", c.Args().First(), c.Args().First())
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, boards.All())
			}
			boards.WriteTable(c.App.Writer, boards.All())
			return nil
		},
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "show everything the table knows about one board",
			ArgsUsage: "NAME",
			Flags:     []cli.Flag{jsonFlag("print as JSON")},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return fmt.Errorf("boards show: want one board name; known boards: %s", strings.Join(boards.Names(), ", "))
				}
				b, err := boards.Lookup(c.Args().First())
				if err != nil {
					return err
				}
				if c.Bool("json") {
					return writeJSON(c.App.Writer, b)
				}
				boards.WriteDetails(c.App.Writer, b)
				return nil
			},
		}},
	}
}
