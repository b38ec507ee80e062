package headless

import (
	"errors"
	"fmt"
	"testing"
)

func TestNavigating(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&CallError{"Runtime.evaluate", "Inspected target navigated or closed", -32000}, true},
		{fmt.Errorf("eval: %w", &CallError{"Runtime.evaluate", "Execution context was destroyed.", -32000}), true},
		{&CallError{"Runtime.evaluate", "Inspected target navigated or closed", -32601}, false},
		{&CallError{"Runtime.evaluate", "Cannot find context with specified id", -32000}, false},
		{errors.New("headless: Runtime.evaluate: Inspected target navigated or closed (-32000)"), false},
		{nil, false},
	} {
		if got := navigating(c.err); got != c.want {
			t.Errorf("navigating(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	if got := (&CallError{"Runtime.evaluate", "x", -32000}).Error(); got != "headless: Runtime.evaluate: x (-32000)" {
		t.Errorf("Error() = %q", got)
	}
}
