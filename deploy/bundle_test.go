package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgecnn/edgecnn/boards"
)

func TestNewBundleErrorsAndNaming(t *testing.T) {
	rpi4, _ := boards.Lookup("rpi4")
	usb, _ := boards.Lookup("coral-usb")
	in := makeInputs(t, 1024, "x", "m")
	if _, err := NewBundle(Spec{Board: usb, Binary: in.binary, Model: in.model}); err == nil {
		t.Error("bundle for an accelerator")
	}
	if _, err := NewBundle(Spec{Board: rpi4, Model: in.model}); err == nil {
		t.Error("bundle without binary")
	}
	if _, err := NewBundle(Spec{Board: rpi4, Binary: in.binary}); err == nil || !strings.Contains(err.Error(), "--model") {
		t.Errorf("bundle without model: %v", err)
	}
	if _, err := NewBundle(Spec{Board: rpi4, Binary: filepath.Join(t.TempDir(), "nope"), Model: in.model}); err == nil {
		t.Error("missing binary accepted")
	}
	if _, err := NewBundle(Spec{Board: rpi4, Binary: t.TempDir(), Model: in.model}); err == nil {
		t.Error("directory as binary accepted")
	}
	a, err := NewBundle(Spec{Board: rpi4, Binary: in.binary, Model: in.model, Version: "v1.0/../../x y"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(a.Release, "/ ") || !strings.HasPrefix(a.Release, "v1.0_.._.._x_y-") {
		t.Errorf("release name %q", a.Release)
	}
	b, _ := NewBundle(Spec{Board: rpi4, Binary: in.binary, Model: in.model, Version: "v1.0/../../x y"})
	if a.Release != b.Release {
		t.Error("same inputs, different release names")
	}
	os.WriteFile(in.model, []byte("other"), 0o644)
	c, _ := NewBundle(Spec{Board: rpi4, Binary: in.binary, Model: in.model, Version: "v1.0/../../x y"})
	if c.Release == a.Release {
		t.Error("changed model, same release name")
	}
	sums, err := ParseSums(a.Sums)
	if err != nil || len(sums) != len(a.Files) {
		t.Fatalf("sums %v %v", sums, err)
	}
	for _, bad := range []string{"abc  x\n", strings.Repeat("a", 64) + "  /etc/passwd\n", strings.Repeat("a", 64) + "  ../x\n", strings.Repeat("z", 64) + "  x\n"} {
		if _, err := ParseSums([]byte(bad)); err == nil {
			t.Errorf("ParseSums(%q) accepted", bad)
		}
	}
}

func TestUnitRendering(t *testing.T) {
	rpi5, _ := boards.Lookup("rpi5")
	in := makeInputs(t, 1024, "x", "m")
	bu, err := NewBundle(Spec{Board: rpi5, Binary: in.binary, Model: in.model, Config: in.config,
		Service: Service{Prefix: "/srv/edge cnn", Backend: "tflite", Args: []string{"--label", "50% $HOME"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`ExecStart="/srv/edge cnn/current/edgecnn" run --model "/srv/edge cnn/current/model.tflite" --backend tflite`,
		`--config "/srv/edge cnn/current/config.json" --label "50%% $$HOME"`,
		"SupplementaryGroups=video gpio",
	} {
		if !strings.Contains(bu.Unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, bu.Unit)
		}
	}
	if su := bu.Service.Sysusers(); !strings.Contains(su, "m edgecnn video\nm edgecnn gpio\n") {
		t.Errorf("sysusers %q", su)
	}
	plan := Plan(bu, "pi@x", Options{})
	for _, want := range []string{bu.Release, "edgecnn.service", "systemctl daemon-reload", "roll back"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q:\n%s", want, plan)
		}
	}
}
