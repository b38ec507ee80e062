package main

import (
	"sort"

	"github.com/urfave/cli/v2"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands is the registry of subcommands: each noun lives in its own file
// and registers itself in init(), so main never changes when one is added.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

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
	}
}
