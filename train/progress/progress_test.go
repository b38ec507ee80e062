package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestBar(t *testing.T) {
	var buf bytes.Buffer
	if b := New(&buf, "x", 10, false); b != nil {
		t.Fatal("a bar on a non-terminal without force")
	}
	var nilBar *Bar
	nilBar.Update(1, "ignored") // must not panic
	nilBar.Done()
	b := New(&buf, "epoch 1/3", 200, true)
	b.Update(50, "loss 0.5")
	b.Update(200, "loss 0.1")
	b.Done()
	out := buf.String()
	for _, want := range []string{"\repoch 1/3 [", " 25% loss 0.5", "100% loss 0.1", "\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("bar output %q lacks %q", out, want)
		}
	}
	if IsTerminal(&buf) {
		t.Fatal("a buffer is not a terminal")
	}
}
