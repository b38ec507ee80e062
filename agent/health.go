package agent

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// health tells the truth about the frame source at this moment: healthy
// once the source delivered a frame since it was (re)opened, and not while
// it is reconnecting, has failed for good, or (StaleAfter) has been silent
// too long.
func (a *Agent) health() (bool, string) {
	if a.cfg.OpenCamera == nil {
		return true, ""
	}
	if err, ok := a.fatal.Load().(error); ok {
		return false, err.Error()
	}
	if !a.healthy.Load() {
		if a.lastGood.Load() == 0 {
			return false, "waiting for the first camera frame"
		}
		return false, "camera reconnecting"
	}
	if a.cfg.StaleAfter > 0 {
		if age := time.Since(time.Unix(0, a.lastGood.Load())); age > a.cfg.StaleAfter {
			return false, fmt.Sprintf("no camera frame for %.1f s", age.Seconds())
		}
	}
	return true, ""
}

// watchStale keeps the edgecnn_camera_healthy gauge true to health()
// while frames stop arriving without an error.
func (a *Agent) watchStale(ctx context.Context) {
	t := time.NewTicker(min(a.cfg.StaleAfter/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ok, _ := a.health(); ok {
				a.m.healthy.Set(1)
			} else {
				a.m.healthy.Set(0)
			}
		}
	}
}

// addHealthDetail adds what /healthz reports beside the status.
func (a *Agent) addHealthDetail(body map[string]any) {
	if a.cfg.OpenCamera != nil {
		body["bad_frames"] = a.badFramesN.Load()
	}
	if a.cfg.Placement != nil {
		body["engine"] = a.cfg.Placement
	}
	if a.cfg.Collector != nil {
		body["collect"] = a.cfg.Collector.Status()
	}
}

// reportPlacement logs where the engines run (a warning after a fallback)
// and exports it as edgecnn_engine_info.
func (a *Agent) reportPlacement() {
	p := a.cfg.Placement
	if p == nil {
		return
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "edgecnn_engine_info",
		Help: "1, labelled with the backend and delegate (accelerator) actually running, the one requested, and whether it fell back."},
		[]string{"backend", "delegate", "requested", "fallback"})
	g.WithLabelValues(p.Backend, p.Delegate, p.Requested, strconv.FormatBool(p.Fallback)).Set(1)
	a.m.reg.MustRegister(g)
	if p.Fallback {
		a.log.Warn("engine fell back: the requested accelerator is not in use", "backend", p.Backend,
			"delegate", p.Delegate, "requested", p.Requested, "reason", p.Reason)
		return
	}
	a.log.Info("engine", "backend", p.Backend, "delegate", p.Delegate)
}
