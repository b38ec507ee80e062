package quantize

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium runs Debian's headless chromium with the flags that keep it
// offline and quiet, plus args; it returns stdout and stderr.
func chromium(t *testing.T, args ...string) (string, string) {
	t.Helper()
	bin := "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("chromium is needed for the HTML report test (make deps installs it): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String(), errb.String()
}

// The HTML report renders in a real browser: the screenshot is a valid PNG
// of the window size with real content, the DOM holds the report, and the
// console shows no errors.
func TestHTMLReportInChromium(t *testing.T) {
	_, rep := autoRun(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := rep.WriteFile(page); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page
	shot := filepath.Join(dir, "shot.png")
	_, stderr1 := chromium(t, "--screenshot="+shot, "--window-size=1200,3000", url)
	dom, stderr2 := chromium(t, "--dump-dom", url)
	for _, line := range strings.Split(stderr1+stderr2, "\n") {
		if strings.Contains(line, "Uncaught") || strings.Contains(line, ":CONSOLE") {
			t.Errorf("browser console: %s", line)
		}
	}
	for _, want := range []string{"int8 quantization report", "conv1/out", "Calibration methods", "Disagreeing images"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != 1200 || b.Dy() != 3000 {
		t.Fatalf("screenshot %dx%d, want 1200x3000", b.Dx(), b.Dy())
	}
	// Not blank: a good share of non-white pixels, several distinct colours
	// (text, table rules, histogram bars, the clipping band).
	colours := map[[3]uint32]bool{}
	ink := 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				ink++
			}
		}
	}
	total := (b.Dx() / 2) * (b.Dy() / 2)
	if frac := float64(ink) / float64(total); frac < 0.03 || len(colours) < 20 {
		t.Errorf("screenshot looks blank: %.1f%% non-white pixels, %d colours", 100*frac, len(colours))
	}
	// The histogram blue (#3b6ea8) must be on the page.
	found := false
	for c := range colours {
		if c[0] < 0x50 && c[1] > 0x60 && c[1] < 0x80 && c[2] > 0xa0 {
			found = true
			break
		}
	}
	if !found {
		t.Error("no histogram bars in the screenshot")
	}
}
