package publish

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sent, retries, rejected, appendErrors *prometheus.CounterVec
	held                                  *prometheus.CounterVec
	overflow                              prometheus.Counter
	queues                                []prometheus.Collector
}

func newMetrics() *metrics {
	return &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_publish_sent_total",
			Help: "Readings delivered and confirmed (MQTT PUBACK, HTTP 2xx) by sink."}, []string{"sink"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_publish_retries_total",
			Help: "Failed delivery attempts that will be retried, by sink."}, []string{"sink"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_publish_rejected_total",
			Help: "Readings dropped because the far side refused them for good (HTTP 4xx other than 408/429), by sink."}, []string{"sink"}),
		appendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_publish_queue_write_errors_total",
			Help: "Readings that could not be written to the queue (disk full), by sink."}, []string{"sink"}),
		held: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgecnn_publish_held_total",
			Help: "Readings held back by a plausibility rule, by rule."}, []string{"rule"}),
		overflow: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgecnn_publish_overflow_total",
			Help: "Readings dropped because the publisher fell more than 1024 readings behind."}),
	}
}

func (m *metrics) add(sink string, q *Queue) {
	l := prometheus.Labels{"sink": sink}
	m.queues = append(m.queues,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgecnn_publish_queued", ConstLabels: l,
			Help: "Readings waiting in the on-disk queue."}, func() float64 { return float64(q.Len()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "edgecnn_publish_dropped_total", ConstLabels: l,
			Help: "Oldest readings dropped because the queue was full (over the queue's life)."}, func() float64 { return float64(q.Dropped()) }))
}

func (m *metrics) collectors() []prometheus.Collector {
	return append([]prometheus.Collector{m.sent, m.retries, m.rejected, m.appendErrors, m.held, m.overflow}, m.queues...)
}
