package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/edgecnn/edgecnn/internal/testenv"
)

// TestMain lets the test binary double as the edgecnn binary for
// subprocess tests: with EDGECNN_TEST_MAIN=1 (or EDGECNN_CAMERA_TEST_MAIN=1)
// it runs main instead of the tests. TestMain runs after every init, so
// all commands are registered whatever the file names. Files the tests
// share (the camera tests' exported model) are removed afterwards.
func TestMain(m *testing.M) {
	if os.Getenv("EDGECNN_TEST_MAIN") == "1" || os.Getenv("EDGECNN_CAMERA_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	removeCameraTestModel()
	os.Exit(code)
}

// trainCLICommand runs the test binary as edgecnn with args.
func trainCLICommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "EDGECNN_TEST_MAIN=1")
	return cmd
}

// trainRunCLI runs edgecnn in-process and returns stdout, stderr and the error.
func trainRunCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	app := newApp()
	app.Writer, app.ErrWriter = &out, &errb
	err := app.RunContext(context.Background(), append([]string{"edgecnn"}, args...))
	return out.String(), errb.String(), err
}

// trainDataDir is data/mnist at the repository root (`make data` fetches it).
func trainDataDir(t *testing.T) string { return testenv.MNISTDir(t) }
