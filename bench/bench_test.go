package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrintSweepRatios(t *testing.T) {
	rs := []Result{
		{Backend: "native", Status: "ok", Batch: 1, Threads: 1, ImagesPerS: 300},
		{Backend: "tflite", Status: "ok", Batch: 1, Threads: 1, ImagesPerS: 100},
		{Backend: "onnxruntime", Status: "ok", Batch: 1, Threads: 1, ImagesPerS: 150},
		{Backend: "native", Status: "ok", Batch: 8, Threads: 2, ImagesPerS: 1000},
		{Backend: "tflite", Status: "not built in", Batch: 8, Threads: 2},
		{Backend: "onnxruntime", Status: "ok", Batch: 8, Threads: 2, ImagesPerS: 2000},
	}
	var b bytes.Buffer
	PrintSweep(&b, "m.tflite", rs)
	out := b.String()
	for _, want := range []string{"batch 1 × 1 thr", "batch 8 × 2 thr", "300 (2.00×)", "100 (0.33×)", "150 (0.50×)", "1000 (0.50×)", "2000 (2.00×)"} {
		if !strings.Contains(out, want) {
			t.Errorf("sweep table lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 {
		t.Errorf("%d lines, want title + header + 3 backends:\n%s", len(lines), out)
	}
}

func TestRows(t *testing.T) {
	if got := Rows("all"); len(got) != len(Backends) || got[0] != "native" {
		t.Errorf("Rows(all) = %v", got)
	}
	if got := Rows("native, tflite"); len(got) != 2 || got[1] != "tflite" {
		t.Errorf("Rows(list) = %v", got)
	}
}
