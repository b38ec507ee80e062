package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestPredictInputs(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.png", "a.jpg", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := PredictInputs([]string{"x.jpg", dir, "-"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"x.jpg", filepath.Join(dir, "a.jpg"), filepath.Join(dir, "b.png"), "-"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := PredictInputs([]string{"-", "-"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("- twice: err %v", err)
	}
	empty := t.TempDir()
	if _, err := PredictInputs([]string{empty}); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("empty directory: err %v", err)
	}
}
