package agent

import (
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/camera"
)

const chromium = "/usr/bin/chromium"

func chromiumArgs(profile string, extra ...string) []string {
	return append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--virtual-time-budget=3000"}, extra...)
}

// TestPreviewInChromium loads the live preview page in headless Chromium:
// the rendered DOM must show the recognized digit and its box over the
// frame, and a screenshot must be a real image.
func TestPreviewInChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s missing (make deps installs the chromium package): %v", chromium, err)
	}
	photo := photos(t)[5]
	img, err := camera.DecodeFile(photo)
	if err != nil {
		t.Fatal(err)
	}
	src := &scriptedSource{items: []any{camera.Frame{Image: img, Seq: 1}}, hold: true}
	base, stop := newHTTPAgent(t, Config{
		OpenCamera: func(context.Context) (camera.Source, error) { return src, nil },
	})
	defer stop()
	var st State
	for i := 0; st.Seq == 0; i++ {
		r, err := http.Get(base + "/state")
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(r.Body).Decode(&st)
		r.Body.Close()
		if i > 200 {
			t.Fatal("no frame processed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Digits == "" || len(st.Boxes) != 1 {
		t.Fatalf("state %+v: no digit recognized in %s", st, photo)
	}
	r, err := http.Get(base + "/frame.jpg")
	if err != nil || r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("/frame.jpg: %v %v", err, r)
	}
	r.Body.Close()

	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dom, err := exec.CommandContext(ctx, chromium, chromiumArgs(filepath.Join(dir, "p1"), "--dump-dom", base+"/")...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if !regexp.MustCompile(`<span id="digit">` + regexp.QuoteMeta(st.Digits) + `</span>`).Match(dom) {
		t.Fatalf("DOM does not show digit %q:\n%.2000s", st.Digits, dom)
	}
	if !regexp.MustCompile(`class="box"[^>]*data-box="\d+,\d+,\d+,\d+"`).Match(dom) {
		t.Fatalf("DOM has no detection box:\n%.2000s", dom)
	}
	if !regexp.MustCompile(`<img id="frame" src="/frame.jpg\?seq=1"`).Match(dom) {
		t.Fatalf("DOM has no frame image:\n%.2000s", dom)
	}
	shot := filepath.Join(dir, "shot.png")
	cmd := exec.CommandContext(ctx, chromium, chromiumArgs(filepath.Join(dir, "p2"), "--window-size=800,700", "--screenshot="+shot, base+"/")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pi, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := pi.Bounds(); b.Dx() != 800 || b.Dy() != 700 {
		t.Fatalf("screenshot %v", b)
	}
	// The page is dark with a light photo in it: the screenshot must not
	// be one flat colour (a blank page).
	hist := map[uint32]bool{}
	for y := 0; y < 700; y += 7 {
		for x := 0; x < 800; x += 8 {
			r, g, b, _ := pi.At(x, y).RGBA()
			hist[(r>>12)<<8|(g>>12)<<4|b>>12] = true
		}
	}
	if len(hist) < 8 {
		t.Fatalf("screenshot has only %d colours: blank page?", len(hist))
	}
}
