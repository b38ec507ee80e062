package boards

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func ramString(mb []int) string {
	var s []string
	for _, m := range mb {
		if m >= 1024 {
			s = append(s, fmt.Sprintf("%dG", m/1024))
		} else {
			s = append(s, fmt.Sprintf("%dM", m))
		}
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, "/")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteTable writes list as the table of `edgecnn boards`: one row per
// board.
func WriteTable(w io.Writer, list []Board) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPLATFORM\tCPU\tRAM\tACCELERATORS\tBACKEND\tCAMERA")
	for _, b := range list {
		cpu := b.CPU.Model
		if b.CPU.Cores > 0 {
			cpu = fmt.Sprintf("%dx %s", b.CPU.Cores, b.CPU.Model)
		}
		if b.CPU.DotProd {
			cpu += " +dotprod"
		}
		if b.Kind == KindAccelerator {
			cpu = "(accelerator)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", b.Name, b.Triple(), orDash(cpu), ramString(b.RAMMB),
			orDash(strings.Join(b.Accels, ",")), orDash(b.Backend), orDash(b.Camera))
	}
	tw.Flush()
}

// WriteDetails writes everything the table knows about b, one
// "key  value" row each, as `edgecnn boards show` prints it.
func WriteDetails(w io.Writer, b Board) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, orDash(v)) }
	row("name", b.Name)
	row("title", b.Title)
	row("kind", string(b.Kind))
	row("platform", b.Triple())
	if b.Kind == KindBoard {
		row("GOOS/GOARCH/GOARM", fmt.Sprintf("%s %s %s", b.GOOS, b.GOARCH, orDash(b.GOARM)))
		row("cpu", fmt.Sprintf("%s, %d cores, %d MHz, NEON=%v, dotprod=%v", b.CPU.Model, b.CPU.Cores, b.CPU.MHz, b.CPU.NEON, b.CPU.DotProd))
		row("ram", ramString(b.RAMMB))
		row("cc triple", b.CCTriple)
	}
	row("accelerators", strings.Join(b.Accels, ", "))
	row("default backend", b.Backend)
	row("default camera", b.Camera)
	row("os", b.OS)
	row("device-tree models", strings.Join(b.Models, " | "))
	row("service groups", strings.Join(b.Groups, " "))
	row("notes", b.Notes)
	tw.Flush()
}
