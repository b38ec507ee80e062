package agent

import (
	"net/http"
	"time"

	"github.com/edgecnn/edgecnn/agent/collect"
	"github.com/edgecnn/edgecnn/camera"
	"github.com/edgecnn/edgecnn/camera/preprocess"
)

// located is the model's answer for one located digit, kept or rejected.
type located struct {
	label string
	conf  float32
}

// cropState is what a Recognizer remembers of its last frame for the
// collector: the preprocessing result (its crops are views valid until the
// next Recognize) and the answer for every located digit, including those
// rejected for low confidence (the ones most worth labelling).
type cropState struct {
	last    *preprocess.Result
	located []located
	crops   []collect.Crop
}

// lastCrops returns the crops of the last Recognize call; the slice and the
// ink it points to are reused by the next call.
func (r *Recognizer) lastCrops() []collect.Crop {
	r.crops = r.crops[:0]
	if r.last == nil {
		return r.crops
	}
	pc := r.pre.Config()
	for i, d := range r.last.Digits {
		if i >= len(r.located) {
			break
		}
		r.crops = append(r.crops, collect.Crop{Box: d.Box, Ink: d.Ink, W: pc.Width, H: pc.Height,
			Label: r.located[i].label, Confidence: r.located[i].conf})
	}
	return r.crops
}

// collect hands the frame just recognized to the collector. The frame
// flickers when the smoothing window disagrees and this frame was outvoted.
func (a *Agent) collect(rec *Recognizer, f camera.Frame, res Result, window []vote, smoothed string, t time.Time) {
	flicker := false
	if res.Text != smoothed {
		for _, v := range window {
			if v.text != res.Text {
				flicker = true
				break
			}
		}
	}
	a.cfg.Collector.Observe(collect.Observation{Time: t, Seq: f.Seq, Frame: f.Image, Crops: rec.lastCrops(),
		Text: res.Text, Confidence: res.Confidence, Smoothed: smoothed, Flicker: flicker})
}

// labelHandler serves /label: the collector's labelling view, or a clear
// 404 when the agent does not collect.
func (a *Agent) labelHandler() http.Handler {
	if a.cfg.Collector != nil {
		return a.cfg.Collector.Handler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "collection is off: start the recognizer with --collect DIR to label frames")
	})
}
