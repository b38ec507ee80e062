package main

import (
	"encoding/json"
	"github.com/edgecnn/edgecnn/agent"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPredictRois: --rois reads one digit per region (JSON with names and
// the regions listed); malformed files, regions outside the frame and
// --rois with --multi are clear errors.
func TestPredictRois(t *testing.T) {
	mp := cameraTestModel(t)
	photo := samplePhotos(t)[0] // 320×240
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `[{"x":0,"y":0,"w":320,"h":240,"name":"all"},{"x":0,"y":0,"w":8,"h":8,"name":"corner"}]`)
	out, _, err := cameraCLI(t, "predict", "--json", "--model", mp, "--rois", good, photo)
	var pl agent.PredictLine
	if err != nil || json.Unmarshal([]byte(out), &pl) != nil {
		t.Fatalf("--rois: %v %q", err, out)
	}
	want := photo[strings.LastIndex(photo, "-d")+2:len(photo)-4] + "?"
	if pl.Text != want || len(pl.ROIs) != 2 || pl.ROIs[1].Name != "corner" || len(pl.Digits) != 1 || pl.Digits[0].Name != "all" {
		t.Fatalf("--rois: got %+v, want text %q", pl.Result, want)
	}
	for name, c := range map[string]struct{ args []string }{
		"malformed":    {[]string{"--rois", write("bad.json", `[{"x":1,`)}},
		"empty":        {[]string{"--rois", write("empty.json", `[]`)}},
		"missing file": {[]string{"--rois", filepath.Join(dir, "none.json")}},
		"with multi":   {[]string{"--rois", good, "--multi"}},
	} {
		_, _, err := cameraCLI(t, append(append([]string{"predict", "--model", mp}, c.args...), photo)...)
		if err == nil || !strings.Contains(err.Error(), "rois") {
			t.Errorf("%s: %v", name, err)
		}
	}
	outside := write("outside.json", `[{"x":300,"y":0,"w":40,"h":40,"name":"far"}]`)
	_, errOut, err := cameraCLI(t, "predict", "--model", mp, "--rois", outside, photo)
	if err == nil || !strings.Contains(errOut, `region 0 ("far") 300,0,40,40 lies outside the 320x240 frame`) {
		t.Fatalf("region outside the frame: %v %q", err, errOut)
	}
}
