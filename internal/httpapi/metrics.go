package httpapi

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campaignstats/campaignstats/internal/ingest"
)

// metrics are the Prometheus collectors of SPEC §10.1 owned by the HTTP layer. Workspace ids never appear as
// labels.
type metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	ingestEvents *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	storeErrors  *prometheus.CounterVec
	ingestBusy   prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaignstats_http_requests_total",
			Help: "HTTP requests by route, method and status code."}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "campaignstats_http_request_duration_seconds",
			Help: "HTTP request duration by route.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"route"}),
		ingestEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaignstats_ingest_events_total",
			Help: "Ingested events by endpoint and result."}, []string{"endpoint", "result"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaignstats_rate_limited_total",
			Help: "Requests refused with 429 by family."}, []string{"family"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campaignstats_store_errors_total",
			Help: "Failed requests caused by the store, by operation."}, []string{"op"}),
		ingestBusy: prometheus.NewCounter(prometheus.CounterOpts{Name: "campaignstats_ingest_busy_total",
			Help: "Ingest requests refused with 503 because the admission limits were reached."}),
	}
	reg.MustRegister(m.requests, m.duration, m.ingestEvents, m.rateLimited, m.storeErrors, m.ingestBusy)
	// The counters a scrape of a fresh server lists at 0, so that every metric of SPEC §10.1 is there before its
	// first event: each label value the handlers use.
	for _, result := range []string{"accepted", "duplicate", "rejected"} {
		m.ingestEvents.WithLabelValues("streams", result)
	}
	for _, endpoint := range []string{ingest.SourceTrack, ingest.SourceBulk} {
		m.ingestEvents.WithLabelValues(endpoint, "accepted")
	}
	for _, family := range []string{"stats", "campaigns", reportsFamily} {
		m.rateLimited.WithLabelValues(family)
	}
	for _, p := range routePrefixes() {
		m.storeErrors.WithLabelValues(p.route)
		m.duration.WithLabelValues(p.route)
	}
	return m
}
