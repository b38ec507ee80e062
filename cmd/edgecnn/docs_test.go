//go:build !board

package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/internal/testenv"
	"github.com/urfave/cli/v2"
)

// docCommand is one `edgecnn …` command line shown in README.md or docs/.
type docCommand struct {
	file string
	line int
	args []string // without the leading "edgecnn"
}

// docCommands collects the edgecnn command lines of the fenced code blocks
// of README.md and docs/*.md: continuation lines joined, comments cut,
// "a; b" split, and the optional-part brackets of usage lines removed.
func docCommands(t *testing.T, root string) []docCommand {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	start := regexp.MustCompile(`^\s*(\$ )?(bin/)?edgecnn\s`)
	var cmds []docCommand
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		inFence := false
		var pending string
		pendingLine := 0
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inFence = !inFence
				continue
			}
			if !inFence {
				continue
			}
			if pending == "" {
				if !start.MatchString(line) {
					continue
				}
				pendingLine = n
			}
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			pending += " " + strings.TrimSpace(line)
			if strings.HasSuffix(pending, "\\") {
				pending = strings.TrimSuffix(pending, "\\")
				continue
			}
			for _, part := range strings.Split(pending, ";") {
				fields := strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(part))
				if len(fields) == 0 {
					continue
				}
				if fields[0] == "$" {
					fields = fields[1:]
				}
				if len(fields) == 0 || filepath.Base(fields[0]) != "edgecnn" {
					continue
				}
				cmds = append(cmds, docCommand{file: rel, line: pendingLine, args: fields[1:]})
			}
			pending = ""
		}
	}
	return cmds
}

// checkDocCommand reports what in args the CLI does not have: an unknown
// command or subcommand, or a flag the command does not define.
func checkDocCommand(app *cli.App, args []string) string {
	if len(args) == 0 {
		return ""
	}
	if args[0] == "--help" || args[0] == "--version" {
		return ""
	}
	cmd := app.Command(args[0])
	if cmd == nil {
		return "no command " + args[0]
	}
	rest := args[1:]
	for len(rest) > 0 && len(cmd.Subcommands) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub := cmd.Command(rest[0])
		if sub == nil {
			break
		}
		cmd, rest = sub, rest[1:]
	}
	names := map[string]cli.Flag{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			names[n] = f
		}
	}
	positional := false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "..." || a == "…" { // an elided part of the command line
			continue
		}
		if !strings.HasPrefix(a, "--") || a == "--" {
			positional = true
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if name == "help" {
			continue
		}
		f, ok := names[name]
		if !ok {
			return "command " + cmd.Name + " has no flag --" + name
		}
		if positional {
			return "--" + name + " after an argument is not parsed as a flag (flags go before arguments)"
		}
		if _, isBool := f.(*cli.BoolFlag); !isBool && !hasValue {
			i++ // its value
		}
	}
	return ""
}

// TestDocsCommands walks README.md and docs/*.md: every edgecnn command
// they show must name a real command and real flags, and the ones that need
// neither a board, a camera, the network nor minutes of training run here,
// in a scratch folder laid out like the repository after make demo.
func TestDocsCommands(t *testing.T) {
	root := testenv.RepoRoot(t)
	cmds := docCommands(t, root)
	if len(cmds) < 30 {
		t.Fatalf("found only %d edgecnn commands in README.md and docs/", len(cmds))
	}
	app := newApp()
	for name, ex := range examples {
		for i, line := range ex {
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			f := strings.Fields(line)
			if msg := checkDocCommand(app, f[1:]); msg != "" || f[1] != name {
				t.Errorf("--help example %d of %s: %s: %s", i, name, line, msg)
			}
		}
	}
	for _, c := range cmds {
		if msg := checkDocCommand(app, c.args); msg != "" {
			t.Errorf("%s:%d: edgecnn %s: %s", c.file, c.line, strings.Join(c.args, " "), msg)
		}
	}
	if t.Failed() {
		return
	}

	// Run the self-contained ones with the files they name.
	dir := t.TempDir()
	mnist := testenv.MNISTDir(t)
	ckpt := filepath.Join(root, "models", "mnist.ckpt")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "data"), 0o755))
	must(os.Symlink(mnist, filepath.Join(dir, "data", "mnist")))
	must(os.MkdirAll(filepath.Join(dir, "models"), 0o755))
	must(os.Symlink(ckpt, filepath.Join(dir, "models", "mnist.ckpt")))
	must(os.Symlink(filepath.Join(root, "models", "judge.ckpt"), filepath.Join(dir, "models", "judge.ckpt")))
	must(os.Symlink(ckpt, filepath.Join(dir, "model.ckpt")))
	photos, _ := filepath.Glob(filepath.Join(root, "camera", "testdata", "photos", "*.jpg"))
	if len(photos) == 0 {
		t.Fatal("no sample photos")
	}
	must(os.Symlink(photos[0], filepath.Join(dir, "photo.jpg")))
	// The demo's model files, as make demo writes them.
	chdir(t, dir)
	for _, args := range [][]string{
		{"export", "--model", "models/mnist.ckpt", "--out", "model.tflite"},
		{"export", "--model", "models/mnist.ckpt", "--out", "model.onnx"},
		{"quantize", "--model", "models/mnist.ckpt", "--data", "data/mnist", "--calib", "200", "--val", "0", "--test", "200", "--out", "model.int8.tflite"},
		{"export", "--int8", "--model", "models/judge.ckpt", "--data", "data/mnist", "--out", "judge.int8.tflite"},
	} {
		if out, _, err := trainRunCLI(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "out", "demo"), 0o755))
	for _, f := range []string{"model.tflite", "model.onnx", "model.int8.tflite", "judge.int8.tflite"} {
		must(os.Symlink(filepath.Join(dir, f), filepath.Join(dir, "out", "demo", f)))
	}

	// What runs, and the flags that keep it short (appended: the last
	// value of a flag wins).
	quick := map[string][]string{
		"train":    {"--limit", "256", "--epochs", "1"},
		"quantize": {"--calib", "200", "--val", "0", "--test", "200"},
		"eval":     nil, "export": nil, "inspect": nil, "predict": nil, "boards": nil,
	}
	ran := 0
	var notRun []string
	for _, c := range cmds {
		extra, ok := quick[c.args[0]]
		runnable := ok
		for _, a := range c.args {
			// Placeholders, elided parts and files the docs' reader brings.
			if strings.ContainsAny(a, "…$|") || a == "..." || strings.ToUpper(a) == a && len(a) > 1 && !strings.HasPrefix(a, "-") ||
				strings.Contains(a, "mydigits") || strings.Contains(a, "out/finetune") || strings.Contains(a, "edgetpu") ||
				slices.Contains([]string{"--qat-epochs"}, a) {
				runnable = false
			}
		}
		for i, a := range c.args { // inputs the reader brings (meter.jpg, boards.ini)
			if i > 0 && (c.args[i-1] == "--out" || c.args[i-1] == "--report") || strings.HasPrefix(a, "-") {
				continue
			}
			if ext := filepath.Ext(a); ext != "" && len(ext) <= 7 {
				if _, err := os.Stat(a); err != nil {
					runnable = false
				}
			}
		}
		if !runnable {
			notRun = append(notRun, c.args[0])
			continue
		}
		args := append(append([]string(nil), c.args...), extra...)
		for i, a := range args { // outputs go to the scratch folder
			if strings.HasPrefix(a, "/") {
				args[i] = filepath.Join(dir, a)
			}
		}
		t0 := time.Now()
		out, errOut, err := trainRunCLI(t, args...)
		t.Logf("%s:%d: edgecnn %s (%.1fs)", c.file, c.line, strings.Join(args, " "), time.Since(t0).Seconds())
		if err != nil {
			t.Errorf("%s:%d: edgecnn %s: %v\n%s%s", c.file, c.line, strings.Join(c.args, " "), err, out, errOut)
		}
		ran++
	}
	if ran < 15 {
		t.Errorf("only %d documented commands ran", ran)
	}
	t.Logf("%d documented commands: %d ran here, %d checked for command and flags only (board, camera, network, long training or placeholders): %v",
		len(cmds), ran, len(notRun), notRun)
}

// chdir changes the working directory for the rest of the test.
func chdir(t *testing.T, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(old) })
}
