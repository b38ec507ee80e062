package main

import (
	"fmt"
	"strings"

	"github.com/agnivade/levenshtein"
	"github.com/urfave/cli/v2"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

// commands lists every subcommand, in --help order. Each is a thin adapter
// over one package function; host-only commands are nil in board builds
// (board.go).
func commands() []*cli.Command {
	all := []*cli.Command{
		benchCommand(), boardsCommand(), buildCommand(), bundleCommand(), dataCommand(), doctorCommand(),
		evalCommand(), exportCommand(), flashCommand(), healthcheckCommand(), inspectCommand(), judgesetCommand(),
		photosetCommand(), predictCommand(), pullCommand(), quantizeCommand(), runCommand(), healthResponderCommand(),
		statusCommand(), trainCommand(), versionCommand(),
	}
	cmds := all[:0]
	for _, c := range all {
		if c != nil {
			withExamples(c)
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// exitUsage is the exit code of a command line that names no command.
const exitUsage = 2

// examples are appended to a command's --help (commands whose Description
// already has an EXAMPLES section keep their own). A test runs them
// through the same checks as the commands in README and docs.
var examples = map[string][]string{
	"train": {
		"edgecnn train --data data/mnist --epochs 3 --out model.ckpt",
		"edgecnn train --data data/mnist --bn --augment --robust --negatives 0.1 --val 2000 --epochs 10 --out model.ckpt",
		"edgecnn train --init models/mnist.ckpt --data data/mnist --data field/labelled --epochs 1 --out ft.ckpt",
	},
	"eval": {
		"edgecnn eval --model models/mnist.ckpt",
		"edgecnn eval --model out/demo/model.int8.tflite --backend native --json",
		"edgecnn eval --model ft.ckpt --data data/mnist --data field/labelled",
	},
	"quantize": {
		"edgecnn quantize --model models/mnist.ckpt --out model.int8.tflite --report report.html",
		"edgecnn quantize --model models/mnist.ckpt --rounding single --out model.int8.tflite   # for TFLite on a Pi",
	},
	"export": {
		"edgecnn export --model models/mnist.ckpt --out model.onnx",
		"edgecnn export --model models/mnist.ckpt --int8 --io float --out model.int8.onnx",
		"edgecnn export --model models/mnist.ckpt --target edgetpu --out model.edgetpu-ready.tflite",
	},
	"run": {
		"edgecnn run --model out/demo/model.int8.tflite --camera auto --http 127.0.0.1:8080",
		"edgecnn run --model out/demo/model.int8.tflite --camera synthetic --max-frames 30",
		"edgecnn run --model out/demo/model.int8.tflite --mqtt mqtt://broker:1883 --publish change",
		"edgecnn run --model out/demo/model.int8.tflite --collect field --http 127.0.0.1:8080",
	},
	"build": {
		"edgecnn build --board rpi4 --out dist/rpi4",
		"edgecnn build --board rpi4 --board generic-amd64 --image oci:dist/image",
	},
	"pull":   {"edgecnn pull --host pi@raspberrypi.local field"},
	"status": {"edgecnn status --inventory boards.ini --json"},
}

// withExamples appends c's examples to its description.
func withExamples(c *cli.Command) {
	ex := examples[c.Name]
	if len(ex) == 0 || strings.Contains(c.Description, "EXAMPLES:") {
		return
	}
	if c.Description != "" {
		c.Description += "\n\n"
	}
	c.Description += "EXAMPLES:\n   " + strings.Join(ex, "\n   ")
}

func newApp() *cli.App {
	cmds := commands()
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
