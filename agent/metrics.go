package agent

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the agent's Prometheus metrics, on a registry of its own
// (never the global one, so several agents can live in one process).
type metrics struct {
	reg          *prometheus.Registry
	frames       prometheus.Counter
	processed    prometheus.Counter
	dropped      prometheus.Counter
	badFrames    prometheus.Counter
	cameraErrors prometheus.Counter
	reconnects   prometheus.Counter
	recognized   *prometheus.CounterVec
	noDigit      prometheus.Counter
	latency      prometheus.Histogram
	infer        prometheus.Histogram
	healthy      prometheus.Gauge
	requests     *prometheus.CounterVec
	reqLatency   prometheus.Histogram

	limitMetrics // admission and connection limits (limits_metrics.go)
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		frames: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_frames_captured_total",
			Help: "Frames received from the camera."}),
		processed: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_frames_processed_total",
			Help: "Frames preprocessed and classified."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_frames_dropped_total",
			Help: "Stale frames replaced by a newer one before processing."}),
		badFrames: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_frames_bad_total",
			Help: "Undecodable frames skipped."}),
		cameraErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_camera_errors_total",
			Help: "Camera failures (open or read) that caused a reconnect."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_camera_reconnects_total",
			Help: "Successful camera reopenings after a failure."}),
		recognized: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_digits_recognized_total",
			Help: "Recognized digits by label."}, []string{"digit"}),
		noDigit: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_frames_no_digit_total",
			Help: "Processed frames without a digit above the minimum confidence."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgecnn_frame_latency_seconds",
			Help:    "Capture to result latency of processed frames.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		infer: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgecnn_recognize_seconds",
			Help:    "Preprocessing plus inference time per frame.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
		healthy: prometheus.NewGauge(prometheus.GaugeOpts{Name: "edgecnn_camera_healthy",
			Help: "1 while the camera delivers frames, 0 while reconnecting."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_http_predict_requests_total",
			Help: "POST /predict requests by status code."}, []string{"code"}),
		reqLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgecnn_http_predict_seconds",
			Help:    "POST /predict handling time.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
	}
	reg.MustRegister(m.frames, m.processed, m.dropped, m.badFrames, m.cameraErrors, m.reconnects,
		m.recognized, m.noDigit, m.latency, m.infer, m.healthy, m.requests, m.reqLatency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.limitMetrics = newLimitMetrics(reg)
	return m
}
