package deploy

import (
	"context"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"
)

// Job is one board of a fleet flash.
type Job struct {
	Target Target
	Bundle *Bundle
	SSH    SSHOptions
	Opts   Options
}

// FlashAll flashes every job, at most parallel at a time (0: all at once),
// and returns one result per job in order. A board that cannot be reached
// fails on its own; the others carry on.
func FlashAll(ctx context.Context, jobs []Job, parallel int) []Result {
	if parallel <= 0 || parallel > len(jobs) {
		parallel = len(jobs)
	}
	res := make([]Result, len(jobs))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			start := time.Now()
			c, err := Dial(ctx, j.Target, j.SSH)
			if err != nil {
				res[i] = Result{Target: j.Target.String(), Release: j.Bundle.Release, Err: err, Duration: time.Since(start)}
				return
			}
			defer c.Close()
			r := Flash(ctx, c, j.Bundle, j.Opts)
			r.Duration = time.Since(start)
			res[i] = r
		}()
	}
	wg.Wait()
	return res
}

// Summary writes a table of results.
func Summary(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTATUS\tRELEASE\tSENT\tFILES SENT/LINKED\tTIME\tDETAIL")
	for _, r := range results {
		detail := ""
		if r.Err != nil {
			detail = r.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%.1fs\t%s\n", r.Target, r.Status(), r.Release,
			human(r.BytesSent), r.Uploaded, r.Linked, r.Duration.Seconds(), detail)
	}
	tw.Flush()
}
