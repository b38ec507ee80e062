package publish_test

import (
	"fmt"
	"time"

	"github.com/edgecnn/edgecnn/agent/publish"
)

// A gas meter read once a second: a misread lower value and a jump are
// held back, and a reading is only published when it changed.
func ExampleGate() {
	g := publish.NewGate(publish.Plausibility{Monotonic: true, MaxDelta: 50}, publish.Policy{Mode: publish.OnChange})
	t0 := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	for i, digits := range []string{"1204", "1204", "1205", "1195", "9205", "1206"} {
		v := g.Check(publish.Reading{Time: t0.Add(time.Duration(i) * time.Second), Digits: digits})
		fmt.Printf("%s publish=%v held=%q\n", digits, v.Publish, v.Held)
	}
	// Output:
	// 1204 publish=true held=""
	// 1204 publish=false held=""
	// 1205 publish=true held=""
	// 1195 publish=false held="monotonic"
	// 9205 publish=false held="max-delta"
	// 1206 publish=true held=""
}
