package doctor

import (
	"strings"
	"testing"
)

func TestReportSummaryAndText(t *testing.T) {
	r := Report{Checks: []Check{
		{Name: "board", Status: OK, Detail: "rpi4"},
		{Name: "camera", Status: Warn, Detail: "none", Fix: "plug one in"},
		{Name: "memory", Status: Warn, Detail: "low"},
	}}
	if got, want := r.Summary(), "2 warning(s): camera, memory"; got != want {
		t.Errorf("Summary %q, want %q", got, want)
	}
	r.Checks = append(r.Checks, Check{Name: "model", Status: Error, Detail: "missing", Fix: "flash one"})
	if got, want := r.Summary(), "1 problem(s) to fix: model"; got != want {
		t.Errorf("Summary %q, want %q", got, want)
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{"[ok  ] board", "[WARN] camera", "fix: plug one in", "[FAIL] model", "fix: flash one"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	if (Report{Checks: []Check{{Name: "x", Status: OK}}}).Summary() != "" {
		t.Error("all OK: summary not empty")
	}
}
