package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/urfave/cli/v2"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands is the registry of subcommands: each noun lives in its own file
// and registers itself in init(), so main never changes when one is added.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

// exitUsage is the exit code of a command line that names no command.
const exitUsage = 2

func newApp() *cli.App {
	cmds := append([]*cli.Command(nil), commands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return &cli.App{
		Name:                 "edgecnn",
		Usage:                "train, quantize, export and deploy a digit CNN to edge boards",
		Version:              version,
		Commands:             cmds,
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		// Errors, exit codes included, go back to main (and to tests that
		// run the app in-process) instead of cli calling os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if !c.Args().Present() {
				return cli.ShowAppHelp(c)
			}
			return cli.Exit(unknownCommand(c.Args().First(), cmds), exitUsage)
		},
	}
}

// unknownCommand is the one-line answer to a command name that is not one
// of cmds, with the closest names (edit distance ≤ 2, or a shared prefix).
func unknownCommand(name string, cmds []*cli.Command) string {
	var close []string
	for _, c := range cmds {
		for _, n := range c.Names() {
			d := levenshtein.ComputeDistance(strings.ToLower(name), n)
			if d <= 2 || (len(name) >= 3 && strings.HasPrefix(n, strings.ToLower(name))) {
				close = append(close, n)
				break
			}
		}
	}
	msg := fmt.Sprintf("edgecnn: %q is not a command", name)
	if len(close) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(quoteAll(close), " or "))
	} else {
		msg += "; see edgecnn --help"
	}
	return msg
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}
