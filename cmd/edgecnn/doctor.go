package main

import (
	"fmt"

	"github.com/edgecnn/edgecnn/boards/doctor"
	"github.com/edgecnn/edgecnn/runtime"
	"github.com/edgecnn/edgecnn/runtime/kernels/qgemm"
	"github.com/urfave/cli/v2"
)

// doctorWarnExit is doctor's exit code when there are warnings only.
const doctorWarnExit = 3

func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:  "doctor",
		Usage: "on the board: detect board, cameras, accelerators and runtime libraries, and say what to fix",
		Description: "Exit codes: 0 all good, 1 problems that stop the recognizer, 3 warnings only.\n\nEXAMPLES:\n" +
			"   edgecnn doctor\n   edgecnn doctor --json\n   edgecnn doctor --root /media/$USER/rootfs   # an SD card's root filesystem",
		Flags: []cli.Flag{
			jsonFlag("print the report as JSON"),
			&cli.StringFlag{Name: "root", Value: "/", Usage: "inspect the system mounted here (e.g. an SD card's rootfs) instead of this one"},
		},
		Action: func(c *cli.Context) error {
			env := doctor.Host(runtime.Backends())
			env.Kernels = "int8 " + qgemm.Kernel() + ", requantization " + qgemm.OutputKernel()
			if root := c.String("root"); root != "/" {
				env = doctor.Env{Root: root, Backends: runtime.Backends()}
			}
			r := doctor.Run(c.Context, env)
			if c.Bool("json") {
				if err := writeJSON(c.App.Writer, r); err != nil {
					return err
				}
			} else {
				r.WriteText(c.App.Writer)
			}
			switch r.Worst() {
			case doctor.Error:
				return fmt.Errorf("doctor: %s", r.Summary())
			case doctor.Warn:
				return cli.Exit(fmt.Sprintf("doctor: %s (exit code %d)", r.Summary(), doctorWarnExit), doctorWarnExit)
			}
			return nil
		},
	}
}
