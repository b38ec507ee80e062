package boards

import "testing"

func TestTargetsSplitsCommas(t *testing.T) {
	bs, err := Targets([]string{"rpi4, generic-amd64", "rpi4"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	if len(names) != 3 || names[0] != "rpi4" || names[1] != "generic-amd64" || names[2] != "rpi4" {
		t.Fatalf("Targets = %v", names)
	}
	if _, err := Targets([]string{"rpi4,coral-usb"}); err == nil {
		t.Fatal("an accelerator is not a build target")
	}
	if _, err := Targets([]string{"no-such-board"}); err == nil {
		t.Fatal("unknown board accepted")
	}
}
