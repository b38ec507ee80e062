package agent

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// health tells the truth about the frame source at this moment: healthy
// once the source delivered a frame since it was (re)opened, and not while
// it is reconnecting, has failed for good, or (StaleAfter) has been silent
// too long.
func (a *Agent) health() (bool, string) {
	return a.hs.Load().snap().eval(time.Now())
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

// healthBody is what /healthz reports: the status (see health) and details.
func (a *Agent) healthBody() (bool, map[string]any) {
	s := a.hs.Load().snap()
	ok, reason := s.eval(time.Now())
	body := s.body(ok, reason, nil)
	if a.cfg.Placement != nil {
		body["engine"] = a.cfg.Placement
	}
	if a.cfg.Collector != nil {
		body["collect"] = a.cfg.Collector.Status()
	}
	return ok, body
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
