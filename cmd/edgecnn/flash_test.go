package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/boards"
	"github.com/urfave/cli/v2"
)

// runCLI runs the edgecnn app with args and returns stdout, stderr, error.
func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	app := newApp()
	var out, errb bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errb
	err := app.RunContext(context.Background(), append([]string{"edgecnn"}, args...))
	return out.String(), errb.String(), err
}

func TestBoardsCommand(t *testing.T) {
	out, _, err := runCLI(t, "boards", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var list []boards.Board
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != len(boards.All()) {
		t.Fatalf("boards --json: %v (%d boards)", err, len(list))
	}
	out, _, err = runCLI(t, "boards", "show", "generic-armv7")
	if err != nil || !strings.Contains(out, "linux/arm/v7") {
		t.Fatalf("show: %q %v", out, err)
	}
	_, _, err = runCLI(t, "boards", "show", "rpi9")
	if err == nil || !strings.Contains(err.Error(), "known boards: ") || !strings.Contains(err.Error(), "rpi-zero2w") {
		t.Fatalf("unknown board: %v", err)
	}
}

func TestDoctorCommandOnFixture(t *testing.T) {
	root := filepath.Join("..", "..", "boards", "doctor", "testdata", "rpi4-coral")
	out, _, err := runCLI(t, "doctor", "--root", root, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Detection    struct{ Board struct{ Name string } }
		Accelerators []string
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Detection.Board.Name != "rpi4" || len(r.Accelerators) != 1 {
		t.Fatalf("doctor: %+v %v\n%s", r, err, out)
	}
	// A PC without a camera: the CPU line names the x86 features the
	// kernels use (not NEON), the camera fix names specs run accepts, and
	// warnings give exit code 3.
	out, _, err = runCLI(t, "doctor", "--root", filepath.Join("..", "..", "boards", "doctor", "testdata", "pc"))
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != doctorWarnExit {
		t.Fatalf("warnings: err %v, want exit code %d\n%s", err, doctorWarnExit, out)
	}
	if !strings.Contains(out, "avx2") || strings.Contains(out, "NEON") || !strings.Contains(out, "--camera stdin:mjpeg") {
		t.Errorf("pc doctor output:\n%s", out)
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	cmd := trainCLICommand(t, "predcit", "--model", "m.tflite")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v (want code 2)", err)
	}
	if out.Len() != 0 {
		t.Errorf("stdout not empty: %q", out.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `did you mean "predict"?`) {
		t.Errorf("stderr %q: want one line suggesting predict", errb.String())
	}
	cmd = trainCLICommand(t, "zzzzzz")
	errb.Reset()
	cmd.Stderr = &errb
	if err := cmd.Run(); !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(errb.String(), "not a command; see edgecnn --help") {
		t.Errorf("no close name: %v %q", err, errb.String())
	}
}
