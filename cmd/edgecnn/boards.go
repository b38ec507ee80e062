package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/urfave/cli/v2"
)

func init() {
	register(&cli.Command{
		Name:      "boards",
		Usage:     "list the supported boards (the table that drives build and flash)",
		ArgsUsage: " ",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print the table as JSON"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("boards: unexpected argument %q (did you mean: edgecnn boards show %s?)", c.Args().First(), c.Args().First())
			}
			if c.Bool("json") {
				return writeJSON(c.App.Writer, boards.All())
			}
			printBoards(c.App.Writer, boards.All())
			return nil
		},
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "show everything the table knows about one board",
			ArgsUsage: "NAME",
			Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print as JSON"}},
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
				printBoard(c.App.Writer, b)
				return nil
			},
		}},
	})
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ramString(mb []int) string {
	var s []string
	for _, m := range mb {
		if m >= 1024 {
			s = append(s, fmt.Sprintf("%dG", m/1024))
		} else {
			s = append(s, fmt.Sprintf("%dM", m))
		}
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, "/")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printBoards(w io.Writer, list []boards.Board) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPLATFORM\tCPU\tRAM\tACCELERATORS\tBACKEND\tCAMERA")
	for _, b := range list {
		cpu := b.CPU.Model
		if b.CPU.Cores > 0 {
			cpu = fmt.Sprintf("%dx %s", b.CPU.Cores, b.CPU.Model)
		}
		if b.CPU.DotProd {
			cpu += " +dotprod"
		}
		if b.Kind == boards.KindAccelerator {
			cpu = "(accelerator)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Triple(), orDash(cpu), ramString(b.RAMMB),
			orDash(strings.Join(b.Accels, ",")), orDash(b.Backend), orDash(b.Camera))
	}
	tw.Flush()
}

func printBoard(w io.Writer, b boards.Board) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, orDash(v)) }
	row("name", b.Name)
	row("title", b.Title)
	row("kind", string(b.Kind))
	row("platform", b.Triple())
	if b.Kind == boards.KindBoard {
		row("GOOS/GOARCH/GOARM", fmt.Sprintf("%s %s %s", b.GOOS, b.GOARCH, orDash(b.GOARM)))
		row("cpu", fmt.Sprintf("%s, %d cores, %d MHz, NEON=%v, dotprod=%v", b.CPU.Model, b.CPU.Cores, b.CPU.MHz, b.CPU.NEON, b.CPU.DotProd))
		row("ram", ramString(b.RAMMB))
		row("cc triple", b.CCTriple)
	}
	row("accelerators", strings.Join(b.Accels, ", "))
	row("default backend", b.Backend)
	row("default camera", b.Camera)
	row("os", b.OS)
	row("device-tree models", strings.Join(b.Models, " | "))
	row("service groups", strings.Join(b.Groups, " "))
	row("notes", b.Notes)
	tw.Flush()
}
