// Package progress draws a one-line progress bar on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Bar redraws "label [=====>    ] 42% suffix" in place with '\r'. A nil
// *Bar ignores every call, so callers need not check whether output is a
// terminal. Redraws are limited to about ten per second.
type Bar struct {
	w     io.Writer
	label string
	total int64
	last  time.Time
	width int
}

// New returns a bar on w, or nil when w is not a terminal (unless force).
func New(w io.Writer, label string, total int64, force bool) *Bar {
	if w == nil || (!force && !IsTerminal(w)) {
		return nil
	}
	return &Bar{w: w, label: label, total: total, width: 30}
}

// Update redraws the bar at done (of total) with an extra text.
func (b *Bar) Update(done int64, suffix string) {
	if b == nil {
		return
	}
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && done < b.total {
		return
	}
	b.last = now
	frac := 0.0
	if b.total > 0 {
		frac = min(1, float64(done)/float64(b.total))
	}
	n := int(frac * float64(b.width))
	bar := strings.Repeat("=", n)
	if n < b.width {
		bar += ">" + strings.Repeat(" ", b.width-n-1)
	}
	fmt.Fprintf(b.w, "\r%s [%s] %3.0f%% %s\x1b[K", b.label, bar, 100*frac, suffix)
}

// Done ends the bar's line.
func (b *Bar) Done() {
	if b == nil {
		return
	}
	fmt.Fprintln(b.w)
}

// Files is a download's progress callback that draws one bar per file on
// w, with the megabytes done; call finish when the download ends.
func Files(w io.Writer) (update func(name string, done, total int64), finish func()) {
	var bar *Bar
	var current string
	update = func(name string, done, total int64) {
		if name != current {
			bar.Done()
			bar, current = New(w, name, total, false), name
		}
		bar.Update(done, fmt.Sprintf("%.1f MB", float64(done)/1e6))
	}
	return update, func() { bar.Done() }
}
