package main

import (
	"encoding/json"
	"fmt"
	"io"
	goruntime "runtime"

	"github.com/urfave/cli/v2"
)

// threadsFlag is every command's --threads: one meaning everywhere (see
// runtime.Threads). Options structs read it through a `flag:"threads"` tag.
func threadsFlag() cli.Flag {
	return &cli.IntFlag{Name: "threads", Usage: fmt.Sprintf("goroutines (0: one per CPU core, %d here)", goruntime.NumCPU())}
}

// jsonFlag is --json of a command that formats its output itself.
func jsonFlag(usage string) cli.Flag { return &cli.BoolFlag{Name: "json", Usage: usage} }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
