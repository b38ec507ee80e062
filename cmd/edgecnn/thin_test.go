package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Limits that keep cmd/edgecnn a thin adapter (issue 14): flags are
// declared in the options structs of the packages that consume them
// (internal/cliflags), logic lives in packages, and the command files
// only parse, call one package function and print.
const (
	maxCLILines    = 1300 // non-test .go lines, all build tags, blank lines and comments included
	maxCLILineRune = 170  // no packing of code onto long lines to meet maxCLILines
)

func TestCLIStaysThin(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for line := 1; sc.Scan(); line++ {
			total++
			if n := len([]rune(sc.Text())); n > maxCLILineRune {
				t.Errorf("%s:%d is %d characters long (limit %d)", name, line, n, maxCLILineRune)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if total > maxCLILines {
		t.Errorf("cmd/edgecnn has %d non-test lines, limit %d: move logic into the package that owns the noun", total, maxCLILines)
	}
	t.Logf("cmd/edgecnn: %d non-test lines in %d files", total, len(files))
}

// TestEveryCommandHelp builds the app (cliflags checks every command's
// bindings then) and asks each command and subcommand for --help.
func TestEveryCommandHelp(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		if seen[c.Name] {
			t.Errorf("command %q listed twice", c.Name)
		}
		seen[c.Name] = true
		args := [][]string{{c.Name, "--help"}}
		for _, s := range c.Subcommands {
			args = append(args, []string{c.Name, s.Name, "--help"})
		}
		for _, a := range args {
			out, _, err := trainRunCLI(t, a...)
			if err != nil || !strings.Contains(out, "USAGE:") {
				t.Errorf("edgecnn %s: err %v\n%s", strings.Join(a, " "), err, out)
			}
		}
	}
	if len(seen) < 7 {
		t.Errorf("only %d commands", len(seen))
	}
}
