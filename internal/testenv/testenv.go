// Package testenv locates the repository and its data for tests, so every
// package's tests find them the same way.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot is the directory holding go.mod above the test's working
// directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		p := filepath.Dir(d)
		if p == d {
			t.Fatal("repository root (go.mod) not found above the test directory")
		}
		d = p
	}
}

// MNISTDir is data/mnist at the repository root. The test fails (it does
// not skip) when the data is missing: `make test` fetches it first.
func MNISTDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "data", "mnist")
	if _, err := os.Stat(filepath.Join(d, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("MNIST is needed (run `make data`): %v", err)
	}
	return d
}
