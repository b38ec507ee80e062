package model

import (
	"os"
	"path/filepath"
	"testing"
)

func TestJudgeBeside(t *testing.T) {
	for _, c := range []struct{ model, want string }{
		{"models/mnist.ckpt", "models/judge.ckpt"},
		{"out/demo/model.int8.tflite", "out/demo/judge.int8.tflite"},
		{"/opt/edgecnn/current/model.tflite", "/opt/edgecnn/current/judge.tflite"},
		{"model.onnx", "judge.onnx"},
		{"dir.d/model", "dir.d/judge"},
		{"models/judge.ckpt", ""},
		{"models/./judge.ckpt", ""},
		{"out/judge", ""},
	} {
		if got := JudgeBeside(filepath.FromSlash(c.model)); got != filepath.FromSlash(c.want) {
			t.Errorf("JudgeBeside(%q) = %q, want %q", c.model, got, c.want)
		}
	}
}

func TestFindJudgeBeside(t *testing.T) {
	dir := t.TempDir()
	m := filepath.Join(dir, "model.int8.tflite")
	os.WriteFile(m, []byte("m"), 0o644)
	if got := FindJudgeBeside(m); got != "" {
		t.Errorf("no judge file: %q", got)
	}
	j := filepath.Join(dir, "judge.int8.tflite")
	os.Mkdir(j, 0o755)
	if got := FindJudgeBeside(m); got != "" {
		t.Errorf("a folder as judge: %q", got)
	}
	os.Remove(j)
	os.WriteFile(j, []byte("j"), 0o644)
	if got := FindJudgeBeside(m); got != j {
		t.Errorf("judge beside: %q, want %q", got, j)
	}
	if got := FindJudgeBeside(j); got != "" {
		t.Errorf("the judge as its own judge: %q", got)
	}
	// A model linked under another name to the judge file is not judged by itself.
	other := filepath.Join(t.TempDir(), "m.int8.tflite")
	if err := os.Symlink(j, other); err != nil {
		t.Skip(err)
	}
	os.Symlink(j, filepath.Join(filepath.Dir(other), "judge.int8.tflite"))
	if got := FindJudgeBeside(other); got != "" {
		t.Errorf("a link to the same file as judge: %q", got)
	}
}
