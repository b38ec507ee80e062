// Command edgecnn trains, quantizes, exports, runs and deploys a
// handwritten-digit CNN on Raspberry-Pi-class boards.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, os.Args); err != nil {
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "edgecnn:", err)
		os.Exit(1)
	}
}
