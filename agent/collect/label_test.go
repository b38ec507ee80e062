package collect

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/internal/headless"
)

// collected returns a collector holding n frames with one crop each.
func collected(t *testing.T, n int) (*Collector, []Item) {
	t.Helper()
	dir := t.TempDir()
	c := newCollector(t, Config{Dir: dir, Below: 0.9})
	t0 := time.Date(2026, 12, 4, 20, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		if !c.Observe(obs(t0.Add(time.Duration(i)*time.Second), uint64(i+1), 0.5)) {
			t.Fatalf("frame %d not queued", i)
		}
		wait(t, "frame written", func() bool { return c.Status().Saved == uint64(i+1) })
	}
	items, total, err := c.List(0)
	if err != nil || total != n || len(items) != n {
		t.Fatalf("list: %d of %d items, %v", len(items), total, err)
	}
	return c, items
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if method == "POST" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var m map[string]any
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, path, w.Body, err)
		}
	}
	return w.Code, m
}

// TestLabelAPI files crops, skips one, and checks every bad request gets a
// clear error and leaves the files alone.
func TestLabelAPI(t *testing.T) {
	c, items := collected(t, 3)
	h := c.Handler()

	code, m := do(t, h, "GET", "/label/api/list", "")
	if code != 200 || m["total"].(float64) != 3 || len(m["items"].([]any)) != 3 {
		t.Fatalf("list: %d %v", code, m)
	}
	first := m["items"].([]any)[0].(map[string]any)
	if first["id"] != items[0].ID || first["prediction"] != "7" || first["reasons"].([]any)[0] != ReasonLowConfidence {
		t.Fatalf("first item %v", first)
	}
	if code, _ := do(t, h, "GET", "/label/crop/"+items[0].ID+".png", ""); code != 200 {
		t.Fatalf("crop: %d", code)
	}
	if code, _ := do(t, h, "GET", "/label/frame/"+items[0].Frame+".jpg", ""); code != 200 {
		t.Fatalf("frame: %d", code)
	}

	code, m = do(t, h, "POST", "/label/api/label", `{"id":"`+items[0].ID+`","label":"7"}`)
	if code != 200 {
		t.Fatalf("label: %d %v", code, m)
	}
	dst := filepath.Join(c.LabelDir(), "7", items[0].ID+".png")
	if m["path"] != dst {
		t.Fatalf("labelled path %v, want %s", m["path"], dst)
	}
	f, err := os.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() != 28 {
		t.Fatalf("labelled crop: %v", err)
	}
	f.Close()
	if _, err := os.Stat(filepath.Join(c.inbox(), items[0].ID+".png")); !os.IsNotExist(err) {
		t.Fatalf("labelled crop still in the inbox: %v", err)
	}
	code, m = do(t, h, "POST", "/label/api/label", `{"id":"`+items[0].ID+`","label":"1"}`)
	if code != http.StatusConflict || !strings.Contains(m["error"].(string), `filed under "7"`) {
		t.Fatalf("relabel: %d %v", code, m)
	}
	code, m = do(t, h, "POST", "/label/api/skip", `{"id":"`+items[1].ID+`"}`)
	if code != 200 {
		t.Fatalf("skip: %d %v", code, m)
	}
	if _, err := os.Stat(filepath.Join(c.skippedDir(), items[1].ID+".png")); err != nil {
		t.Fatalf("skipped crop: %v", err)
	}
	// A skipped crop can still be labelled (by id), e.g. "not a digit".
	if code, m := do(t, h, "POST", "/label/api/label", `{"id":"`+items[1].ID+`","label":"x"}`); code != 200 {
		t.Fatalf("label a skipped crop: %d %v", code, m)
	}
	if _, err := os.Stat(filepath.Join(c.LabelDir(), "x", items[1].ID+".png")); err != nil {
		t.Fatal(err)
	}
	if code, m = do(t, h, "GET", "/label/api/list", ""); code != 200 || m["total"].(float64) != 1 {
		t.Fatalf("list after labelling: %v", m)
	}

	// A crop deleted meanwhile (the quota removed its frame).
	c.removeFrame(items[2].Frame)
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/label/api/label", `{"id":"` + items[2].ID + `","label":"3"}`},
		{"POST", "/label/api/skip", `{"id":"` + items[2].ID + `"}`},
		{"GET", "/label/crop/" + items[2].ID + ".png", ""},
		{"GET", "/label/frame/" + items[2].Frame + ".jpg", ""},
	} {
		code, m := do(t, h, r.method, r.path, r.body)
		if code != http.StatusNotFound || m["error"] == "" {
			t.Errorf("%s %s for a deleted crop: %d %v, want 404 with a message", r.method, r.path, code, m)
		}
		if r.method == "POST" && !strings.Contains(m["error"].(string), "deleted by the disk quota") {
			t.Errorf("%s: message %q does not say why", r.path, m["error"])
		}
	}
	if _, err := os.Stat(filepath.Join(c.LabelDir(), "3", items[2].ID+".png")); !os.IsNotExist(err) {
		t.Fatal("a deleted crop appeared in the labelled folder")
	}

	// Bad requests: ids that try to leave the directory, unknown labels,
	// malformed bodies, wrong methods.
	outside := filepath.Join(filepath.Dir(c.Dir()), "victim.png")
	os.WriteFile(outside, []byte("not yours"), 0o644)
	bad := []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"POST", "/label/api/label", `{"id":"../../victim","label":"7"}`, 400, "bad crop id"},
		{"POST", "/label/api/label", `{"id":"` + items[2].ID + `/../../x","label":"7"}`, 400, "bad crop id"},
		{"POST", "/label/api/label", `{"id":"","label":"7"}`, 400, "bad crop id"},
		{"POST", "/label/api/label", `{"id":"` + items[2].Frame + `","label":"7"}`, 400, "bad crop id"},
		{"POST", "/label/api/label", `{"id":"` + items[2].ID + `","label":"seven"}`, 400, `unknown label "seven"`},
		{"POST", "/label/api/label", `{"id":"` + items[2].ID + `","label":"../7"}`, 400, "unknown label"},
		{"POST", "/label/api/label", `{"id":"` + items[2].ID + `"}`, 400, "unknown label"},
		{"POST", "/label/api/label", `not json`, 400, "want JSON"},
		{"POST", "/label/api/label", `{"id":"a","label":"7","extra":1}`, 400, "unknown field"},
		{"POST", "/label/api/label", `{"id":"` + strings.Repeat("9", 5000) + `"}`, 400, "too large"},
		{"POST", "/label/api/skip", `{"id":"` + items[2].ID + `","label":"7"}`, 400, "skip takes no label"},
		{"GET", "/label/api/label", ``, 405, "not allowed"},
		{"DELETE", "/label/api/list", ``, 405, "not allowed"},
		{"GET", "/label/api/list?limit=0", ``, 400, "limit"},
		{"GET", "/label/api/list?limit=x", ``, 400, "limit"},
		{"GET", "/label/crop/..%2f..%2fvictim.png", ``, 400, "bad crop id"},
		{"GET", "/label/crop/" + items[2].ID, ``, 400, ".png"},
		{"GET", "/label/frame/..%2fvictim.jpg", ``, 400, "bad crop id"},
		{"GET", "/label/nothing", ``, 404, "not found"},
	}
	for _, b := range bad {
		code, m := do(t, h, b.method, b.path, b.body)
		msg, _ := m["error"].(string)
		if code != b.code || !strings.Contains(msg, b.msg) {
			t.Errorf("%s %s %.60s: %d %q, want %d with %q", b.method, b.path, b.body, code, msg, b.code, b.msg)
		}
	}
	// A cross-site form post (text/plain or form-encoded) is refused.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		req := httptest.NewRequest("POST", "/label/api/label", strings.NewReader(`{"id":"`+items[2].ID+`","label":"7"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnsupportedMediaType {
			t.Errorf("POST with Content-Type %q: %d, want 415", ct, w.Code)
		}
	}
	if data, err := os.ReadFile(outside); err != nil || string(data) != "not yours" {
		t.Fatalf("file outside the collection touched: %v", err)
	}
	// Nothing but the two labelled crops in the label folders.
	var filed []string
	filepath.Walk(c.LabelDir(), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			filed = append(filed, strings.TrimPrefix(p, c.LabelDir()))
		}
		return nil
	})
	if want := fmt.Sprint([]string{"/7/" + items[0].ID + ".png", "/x/" + items[1].ID + ".png"}); fmt.Sprint(filed) != want {
		t.Fatalf("label folders hold %v, want %s", filed, want)
	}
}

// TestLabelPageInChromium drives the labelling page in headless Chromium
// with real key presses (DevTools Input.dispatchKeyEvent): 3 files the
// first crop under 3, space skips the second, x files the third as "not a
// digit"; the files move on disk and the page shows it.
func TestLabelPageInChromium(t *testing.T) {
	c, items := collected(t, 4)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := headless.Start(ctx, filepath.Join(t.TempDir(), "profile"), srv.URL+"/label", "--window-size=900,700")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WaitFor(ctx, `document.body && document.body.dataset.ready === "1"`); err != nil {
		t.Fatal(err)
	}
	var tiles []struct{ ID, State string }
	if err := b.Eval(ctx, `[...document.querySelectorAll(".tile")].map(t => ({ID: t.dataset.id, State: t.dataset.state}))`, &tiles); err != nil {
		t.Fatal(err)
	}
	if len(tiles) != 4 || tiles[0].ID != items[0].ID || tiles[3].ID != items[3].ID {
		t.Fatalf("page shows %v, want the 4 collected crops in order", tiles)
	}
	if err := b.WaitFor(ctx, `[...document.querySelectorAll(".tile img")].every(i => i.complete && i.naturalWidth === 28)`); err != nil {
		t.Fatalf("crop images did not load: %v", err)
	}

	steps := []struct{ key, state, dir string }{
		{"3", "labelled", filepath.Join(c.LabelDir(), "3")},
		{" ", "skipped", c.skippedDir()},
		{"x", "labelled", filepath.Join(c.LabelDir(), "x")},
	}
	for i, s := range steps {
		if err := b.WaitFor(ctx, fmt.Sprintf(`document.body.dataset.current === %q`, items[i].ID)); err != nil {
			t.Fatalf("step %d: the highlighted crop is not %s: %v", i, items[i].ID, err)
		}
		if err := b.Press(ctx, s.key); err != nil {
			t.Fatal(err)
		}
		if err := b.WaitFor(ctx, fmt.Sprintf(`document.querySelector('.tile[data-id=%q]').dataset.state === %q`, items[i].ID, s.state)); err != nil {
			t.Fatalf("key %q: tile did not become %s: %v", s.key, s.state, err)
		}
		if _, err := os.Stat(filepath.Join(s.dir, items[i].ID+".png")); err != nil {
			t.Fatalf("key %q: crop not in %s: %v", s.key, s.dir, err)
		}
	}
	var done string
	if err := b.Eval(ctx, `document.getElementById("done").textContent`, &done); err != nil || done != "2" {
		t.Fatalf("page counts %q labelled, want 2 (%v)", done, err)
	}
	// A crop deleted behind the page's back: the key press shows the error.
	c.removeFrame(items[3].Frame)
	if err := b.Press(ctx, "5"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor(ctx, fmt.Sprintf(`document.querySelector('.tile[data-id=%q]').dataset.state === "error"`, items[3].ID)); err != nil {
		t.Fatal(err)
	}
	var msg string
	b.Eval(ctx, `document.getElementById("msg").textContent`, &msg)
	if !strings.Contains(msg, "deleted by the disk quota") {
		t.Fatalf("page message %q", msg)
	}
	if _, err := os.Stat(filepath.Join(c.LabelDir(), "5", items[3].ID+".png")); !os.IsNotExist(err) {
		t.Fatal("deleted crop filed")
	}
}

// TestLabelAcrossFilesystems: --label-dir on another filesystem (a real
// tmpfs) makes rename fail with EXDEV; the crop is copied atomically and
// removed from the inbox.
func TestLabelAcrossFilesystems(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs for the label folder")
	}
	labels := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "edgecnn-label-test", labels).Run(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", labels).Run() })
	c := newCollector(t, Config{Below: 0.9, LabelDir: labels})
	a, _ := os.Stat(c.inbox())
	b, _ := os.Stat(labels)
	if a.Sys().(*syscall.Stat_t).Dev == b.Sys().(*syscall.Stat_t).Dev {
		t.Fatal("label folder on the inbox's filesystem: the test would not cross filesystems")
	}
	c.Observe(obs(time.Now(), 1, 0.5))
	c.Close()
	items, _, err := c.List(0)
	if err != nil || len(items) != 1 {
		t.Fatalf("list: %v %v", items, err)
	}
	src, _ := os.ReadFile(filepath.Join(c.inbox(), items[0].ID+".png"))
	p, err := c.Label(items[0].ID, "4")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != string(src) || len(src) == 0 {
		t.Fatalf("copied crop differs: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.inbox(), items[0].ID+".png")); !os.IsNotExist(err) {
		t.Fatalf("crop still in the inbox after a cross-filesystem move: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(labels, "4"))
	if len(ents) != 1 {
		t.Fatalf("label folder holds %d entries (temporary files left?)", len(ents))
	}
}
