package agent

import (
	"context"
	"image"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgecnn/edgecnn/agent/publish"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/prometheus/client_golang/prometheus"
)

// TestPublishHook: every processed frame's smoothed reading goes to
// Config.Publish (a blank frame with the no-digit reason), and
// Config.ExtraMetrics are served on /metrics.
func TestPublishHook(t *testing.T) {
	photo, err := camera.DecodeFile(photos(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSuffix(photos(t)[0][strings.LastIndex(photos(t)[0], "-d")+2:], ".jpg")
	src := &scriptedSource{items: []any{
		camera.Frame{Image: photo, Seq: 1},
		camera.Frame{Image: image.NewGray(image.Rect(0, 0, 64, 48)), Seq: 2},
	}, delay: 150 * time.Millisecond} // slow enough that no frame is dropped
	var got []publish.Reading
	extra := prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_publish_test_total", Help: "test"})
	extra.Add(7)
	a, err := New(Config{
		OpenCamera:    func(context.Context) (camera.Source, error) { return src, nil },
		NewRecognizer: realRecognizer(t, RecognizerConfig{}),
		Publish:       func(r publish.Reading) { got = append(got, r) },
		ExtraMetrics:  []prometheus.Collector{extra},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d readings published, want 2: %+v", len(got), got)
	}
	if got[0].Seq != 1 || got[0].Digits != want || got[0].Confidence < 0.5 || got[0].Reason != "" || got[0].Time.IsZero() {
		t.Errorf("photo reading %+v, want digits %s", got[0], want)
	}
	if got[1].Seq != 2 || got[1].Digits != "" || got[1].Reason == "" {
		t.Errorf("blank reading %+v, want no digits and a reason", got[1])
	}
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "edgecnn_publish_test_total 7") {
		t.Error("the extra collector is not on /metrics")
	}
	// A collector clashing with the agent's own metrics is an error.
	dup := prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_frames_processed_total", Help: "dup"})
	if _, err := New(Config{NewRecognizer: realRecognizer(t, RecognizerConfig{}), HTTPAddr: "127.0.0.1:0",
		ExtraMetrics: []prometheus.Collector{dup}}); err == nil {
		t.Error("a clashing collector was accepted")
	}
}
