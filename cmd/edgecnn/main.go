// Command edgecnn trains, quantizes, exports, runs and deploys a
// handwritten-digit CNN on Raspberry-Pi-class boards.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "edgecnn:", err)
		os.Exit(1)
	}
}
