package doctor

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes r as edgecnn doctor prints it: one line per check, and
// the fix under every check that is not OK.
func (r Report) WriteText(w io.Writer) {
	for _, ch := range r.Checks {
		mark := map[Status]string{OK: "ok  ", Info: "info", Warn: "WARN", Error: "FAIL"}[ch.Status]
		fmt.Fprintf(w, "[%s] %-20s %s\n", mark, ch.Name, ch.Detail)
		if ch.Fix != "" && ch.Status != OK {
			fmt.Fprintf(w, "       %-20s fix: %s\n", "", ch.Fix)
		}
	}
}

// Summary says what r's worst status is about: "" when all is well, else
// e.g. "2 problem(s) to fix: camera, model" or "1 warning(s): memory".
func (r Report) Summary() string {
	var names []string
	worst := r.Worst()
	for _, ch := range r.Checks {
		if ch.Status == worst {
			names = append(names, ch.Name)
		}
	}
	switch worst {
	case Error:
		return fmt.Sprintf("%d problem(s) to fix: %s", len(names), strings.Join(names, ", "))
	case Warn:
		return fmt.Sprintf("%d warning(s): %s", len(names), strings.Join(names, ", "))
	}
	return ""
}
