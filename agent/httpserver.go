package agent

import (
	"crypto/tls"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// limitMetrics count what the admission and connection limits refused.
type limitMetrics struct {
	shed     prometheus.Counter
	rejected *prometheus.CounterVec
	denied   *prometheus.CounterVec
	reg      *prometheus.Registry
}

func newLimitMetrics(reg *prometheus.Registry) limitMetrics {
	m := limitMetrics{
		reg: reg,
		shed: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_http_connections_shed_total",
			Help: "Connections above the connection cap, answered 503 or closed."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_http_predict_rejected_total",
			Help: "POST /predict requests refused by admission: no worker or decode budget in time (503), or an image above the whole budget (413)."}, []string{"reason"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_http_denied_total",
			Help: "Requests refused for a Host header not naming this device or a missing/wrong token."}, []string{"reason"}),
	}
	reg.MustRegister(m.shed, m.rejected, m.denied)
	return m
}

// watchConns exports the guard listener's open connections and the decode
// budget in use.
func (m limitMetrics) watchConns(g *guardListener) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgecnn_http_connections_open",
		Help: "HTTP connections held by the server (at most the connection cap)."},
		func() float64 { return float64(g.open.Load()) }))
}

// validate range-checks the configuration and fills in defaults: zero
// limits are derived from the memory available.
func (cfg *Config) validate() error {
	if cfg.Smooth == 0 {
		cfg.Smooth = 1
	}
	if err := CheckInt("smooth", cfg.Smooth, 1, 1000); err != nil {
		return err
	}
	if err := CheckInt("max-frames", cfg.MaxFrames, 0, math.MaxInt32); err != nil {
		return err
	}
	if cfg.Workers < 0 || cfg.MaxUpload < 0 || cfg.MaxPixels < 0 {
		return fmt.Errorf("negative http-workers (%d), max upload (%d) or max pixels (%d)", cfg.Workers, cfg.MaxUpload, cfg.MaxPixels)
	}
	l := cfg.Limits
	if l.Workers == 0 || l.MaxConns == 0 || l.DecodeBudget == 0 || l.MaxPixels == 0 || l.MaxUpload == 0 || l.QueueWait == 0 {
		mem, _ := MemoryAvailable()
		d := LimitsFor(mem)
		l.Workers = cmp(l.Workers, d.Workers)
		l.MaxConns = cmp(l.MaxConns, d.MaxConns)
		l.DecodeBudget = cmp(l.DecodeBudget, d.DecodeBudget)
		l.MaxPixels = cmp(l.MaxPixels, d.MaxPixels)
		l.MaxUpload = cmp(l.MaxUpload, d.MaxUpload)
		l.QueueWait = cmp(l.QueueWait, d.QueueWait)
	}
	l.Workers = cmp(cfg.Workers, l.Workers)
	l.MaxUpload = cmp(cfg.MaxUpload, l.MaxUpload)
	l.MaxPixels = cmp(cfg.MaxPixels, l.MaxPixels)
	if err := l.Check(); err != nil {
		return err
	}
	cfg.Limits = l
	cfg.Workers, cfg.MaxUpload, cfg.MaxPixels = l.Workers, l.MaxUpload, l.MaxPixels
	return cfg.Security.Check()
}

// cmp returns v unless it is zero, else def.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// server is the HTTP server of the API, with timeouts that bound how long
// a slow client can hold a connection.
func (a *Agent) server(tlsCfg *tls.Config) *http.Server {
	h := a.cfg.Security.guard(a.Handler(), func(reason string) { a.m.denied.WithLabelValues(reason).Inc() })
	return &http.Server{Handler: h, TLSConfig: tlsCfg,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 30 * time.Second, MaxHeaderBytes: 16 << 10}
}

// logListening logs the address, and warns when it is reachable from other
// machines.
func (a *Agent) logListening(addr string, tls bool) {
	l := a.cfg.Limits
	a.log.Info("http listening", "addr", addr, "tls", tls, "token", a.cfg.Security.Token != "",
		"workers", l.Workers, "max_conns", l.MaxConns, "decode_budget_mib", l.DecodeBudget>>20,
		"max_pixels", l.MaxPixels, "max_upload", l.MaxUpload)
	if isLoopback(addr) {
		return
	}
	switch {
	case a.cfg.Security.Token == "":
		a.log.Warn("the HTTP API is reachable from other machines without authentication; pass --http-token-file (and --tls-cert/--tls-key), or listen on 127.0.0.1", "addr", addr)
	case !tls:
		a.log.Warn("the HTTP API is reachable from other machines and its token travels in clear text; pass --tls-cert/--tls-key", "addr", addr)
	}
}
