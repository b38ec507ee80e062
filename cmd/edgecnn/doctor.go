package main

import (
	"fmt"
	"strings"

	"github.com/edgecnn/edgecnn/boards/doctor"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm"
	"github.com/urfave/cli/v2"
)

// doctorWarnExit is doctor's exit code when there are warnings only.
const doctorWarnExit = 3

func init() {
	register(&cli.Command{
		Name:  "doctor",
		Usage: "on the board: detect board, cameras, accelerators and runtime libraries, and say what to fix",
		Description: "Exit codes: 0 all good, 1 problems that stop the recognizer, 3 warnings only.\n\nEXAMPLES:\n" +
			"   edgecnn doctor\n   edgecnn doctor --json\n   edgecnn doctor --root /media/$USER/rootfs   # an SD card's root filesystem",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.StringFlag{Name: "root", Value: "/", Usage: "inspect the system mounted here (e.g. an SD card's rootfs) instead of this one"},
		},
		Action: func(c *cli.Context) error {
			env := doctor.Host(runtime.Backends())
			env.Kernels = "int8 " + qgemm.Kernel()
			if root := c.String("root"); root != "/" {
				env = doctor.Env{Root: root, Backends: runtime.Backends()}
			}
			r := doctor.Run(c.Context, env)
			if c.Bool("json") {
				if err := writeJSON(c.App.Writer, r); err != nil {
					return err
				}
			} else {
				w := c.App.Writer
				for _, ch := range r.Checks {
					mark := map[doctor.Status]string{doctor.OK: "ok  ", doctor.Info: "info", doctor.Warn: "WARN", doctor.Error: "FAIL"}[ch.Status]
					fmt.Fprintf(w, "[%s] %-20s %s\n", mark, ch.Name, ch.Detail)
					if ch.Fix != "" && ch.Status != doctor.OK {
						fmt.Fprintf(w, "       %-20s fix: %s\n", "", ch.Fix)
					}
				}
			}
			if r.Worst() == doctor.Error {
				var bad []string
				for _, ch := range r.Checks {
					if ch.Status == doctor.Error {
						bad = append(bad, ch.Name)
					}
				}
				return fmt.Errorf("doctor: %d problem(s) to fix: %s", len(bad), strings.Join(bad, ", "))
			}
			if r.Worst() == doctor.Warn {
				var warn []string
				for _, ch := range r.Checks {
					if ch.Status == doctor.Warn {
						warn = append(warn, ch.Name)
					}
				}
				return cli.Exit(fmt.Sprintf("doctor: %d warning(s): %s (exit code %d)", len(warn), strings.Join(warn, ", "), doctorWarnExit), doctorWarnExit)
			}
			return nil
		},
	})
}
