// Package httpapi is the HTTP edge: routes, authentication, rate limits, MoEngage-shaped bodies and errors. All
// compatibility quirks live here; numbers come from the stats engine and data from the store.
package httpapi

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/ratelimit"
	"github.com/campaignstats/campaignstats/internal/ui"
)

var errShuttingDown = errors.New("shutting down")

// Deps are the server's collaborators, wired in main.
type Deps struct {
	Config config.Config
	// Store is read for workspaces, the catalog, quarantine and report runs; reads of events go through Engine,
	// writes through Intake.
	Store  Metadata
	Intake IntakeService
	// Fresh, when set, waits until the catalog values inferred from events reflect every event acknowledged
	// before the call; the catalog reads and writes of the Meta, Executions and catalog endpoints call it (the
	// Stats API's engine waits on its own, for credits too).
	Fresh      func(ctx context.Context) error
	Engine     StatsEngine
	Workspaces WorkspaceAdmin
	// Limiter applies SPEC §5.4: InProcess(ratelimit.New(now)) counts on this node alone, a *ratelimit.FailOpen
	// shares the counts of every node through Redis.
	Limiter  RateLimiter
	Logger   *slog.Logger
	Now      func() time.Time
	Registry *prometheus.Registry
	OpenAPI  []byte
	// Reports serves the report-definition API (SPEC §8.1: definitions, manual runs, run lists). Nil answers
	// 503 unavailable on /v1/reports/… after authentication.
	Reports ReportService
	// ReportFiles holds the report files served by the download endpoint (SPEC §8.9; download.go). Nil answers
	// "Report file not found." once the other checks pass.
	ReportFiles blob.Store
	// ReportRuns finds the run that produced a downloaded file; nil uses Store.
	ReportRuns ReportRunFinder
}

// RateLimiter decides whether a request of key (workspace/family) is admitted under limit requests per rolling
// minute, returning the values of the RateLimit-* headers. An error means no decision could be made; the request is
// then answered 503.
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit int) (ratelimit.Decision, error)
}

// InProcess adapts the in-process limiter, which counts the requests of this node alone, to RateLimiter.
func InProcess(l *ratelimit.Limiter) RateLimiter { return inProcessLimiter{l} }

type inProcessLimiter struct{ limiter *ratelimit.Limiter }

// Allow asks the in-process limiter; it never fails.
func (l inProcessLimiter) Allow(_ context.Context, key string, limit int) (ratelimit.Decision, error) {
	return l.limiter.Allow(key, limit), nil
}

// Server serves the HTTP API.
type Server struct {
	Deps
	metrics   *metrics
	draining  atomic.Bool
	mux       *http.ServeMux
	admission *admission
}

// New builds the server and its routes.
func New(d Deps) *Server {
	requests, inflight := d.Config.MaxIngestRequests, d.Config.MaxIngestInflight
	if requests <= 0 || inflight <= 0 { // a configuration built by hand rather than by config.Load
		requests, inflight = config.Default().MaxIngestRequests, config.Default().MaxIngestInflight
	}
	s := &Server{Deps: d, metrics: newMetrics(d.Registry), admission: newAdmission(requests, inflight)}
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// StartDrain marks the server as shutting down: /readyz answers 503 from now on.
func (s *Server) StartDrain() { s.draining.Store(true) }

// Handler returns the root handler with the request middleware.
func (s *Server) Handler() http.Handler { return s.middleware(s.mux) }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("/healthz", s.handleHealth)
	m.HandleFunc("/readyz", s.handleReady)
	m.Handle("/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	m.HandleFunc("/openapi.yaml", s.handleOpenAPI)

	m.HandleFunc("/v1/streams/{workspace_id}", s.method(http.MethodPost, s.ingestRoute("streams", s.handleStreams)))
	m.HandleFunc("/v1/event/{workspace_id}", s.method(http.MethodPost, s.ingestRoute("track", s.handleTrack(
		s.trackEvents(ingest.SourceTrack, "/v1/event", ingest.DecodeTrack)))))
	m.HandleFunc("/v1/transition/{workspace_id}", s.method(http.MethodPost, s.ingestRoute("bulk", s.handleTrack(
		s.trackEvents(ingest.SourceBulk, "/v1/transition", ingest.DecodeBulk)))))
	// User and device attributes (SPEC §13.3); handlers in profiles.go.
	m.HandleFunc("/v1/customer/{workspace_id}", s.method(http.MethodPost, s.ingestRoute("customer", s.handleTrack(
		s.profileEndpoint(ingest.ProfileCustomer, "/v1/customer")))))
	m.HandleFunc("/v1/device/{workspace_id}", s.method(http.MethodPost, s.ingestRoute("device", s.handleTrack(
		s.profileEndpoint(ingest.ProfileDevice, "/v1/device")))))
	m.HandleFunc("/v1/campaigns/{workspace_id}/{campaign_id}", s.ingestRoute("campaigns", s.handleCampaign))
	m.HandleFunc("/v1/campaigns/{workspace_id}/{campaign_id}/funnel", s.method(http.MethodPost, s.ingestRoute("funnel", s.handleFunnel)))
	m.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) { s.writeIngestError(w, r, errNoEndpoint) })

	m.HandleFunc("/core-services/v1/campaign-stats", s.apiMethod(http.MethodPost, s.handleStats))
	m.HandleFunc("/v1/stats/{workspace_id}/daily", s.apiMethod(http.MethodPost, s.handleStatsDaily))
	m.HandleFunc("/core-services/v1/campaigns/meta", s.apiMethod(http.MethodPost, s.handleMeta))
	m.HandleFunc("/core-services/v1/campaigns/{parent_campaign_id}/executions", s.apiMethod(http.MethodPost, s.handleExecutions))

	// Report definitions and runs (SPEC §8.1); handlers in reports.go.
	for pattern, h := range s.reportRoutes() {
		m.HandleFunc(pattern, h)
	}
	m.HandleFunc("/v1/reports/", func(w http.ResponseWriter, r *http.Request) { writeAPIError(w, apiNotFound) })

	m.HandleFunc("/campaign_reports/rest_api/{APP_ID}/{FILENAME}", s.handleDownload) // download.go

	m.HandleFunc("/admin/v1/", s.admin)
	m.Handle(ui.Prefix, ui.Handler()) // the dashboard: embedded static files over the public APIs (internal/ui)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeAPIError(w, apiNotFound) })
}

// method answers 405 in the ingest envelope for other methods.
func (s *Server) method(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			allow(w, method)
			s.writeIngestError(w, r, errMethod)
			return
		}
		h(w, r)
	}
}

// apiMethod answers 405 in the API error shape for other methods.
func (s *Server) apiMethod(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			methodNotAllowed(w, method)
			return
		}
		h(w, r)
	}
}

// ---- request ids, logging, metrics ----

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxRequestInfo
)

// requestInfo is filled by handlers for the request log line.
type requestInfo struct {
	route       string
	workspaceID string
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newRequestID returns 16 characters from [A-Za-z0-9] (SPEC §1.6).
func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

func info(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(ctxRequestInfo).(*requestInfo)
	if ri == nil {
		return &requestInfo{}
	}
	return ri
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		ri := &requestInfo{route: routeOf(r.URL.Path)}
		ctx := context.WithValue(context.WithValue(r.Context(), ctxRequestID, id), ctxRequestInfo, ri)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.Logger.Error("panic", "request_id", id, "panic", p)
				if sw.status == 0 {
					writeAPIError(sw, apiInternal)
				}
			}
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			dur := s.Now().Sub(start)
			s.metrics.requests.WithLabelValues(ri.route, r.Method, strconv.Itoa(sw.status)).Inc()
			s.metrics.duration.WithLabelValues(ri.route).Observe(dur.Seconds())
			s.Logger.Info("request", "request_id", id, "method", r.Method, "route", ri.route, "status", sw.status,
				"duration_ms", float64(dur.Microseconds())/1000, "workspace_id", ri.workspaceID,
				"bytes_in", r.ContentLength, "bytes_out", sw.bytes)
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeOf maps a path to a low-cardinality route label (never a workspace id).
func routeOf(path string) string {
	for _, p := range routePrefixes() {
		if len(path) >= len(p.prefix) && path[:len(p.prefix)] == p.prefix {
			return p.route
		}
	}
	return "other"
}

// routePrefixes maps path prefixes to the route labels of the metrics, first match wins.
func routePrefixes() []struct{ prefix, route string } {
	return []struct{ prefix, route string }{
		{"/v1/streams/", "/v1/streams/{workspace_id}"},
		{"/v1/event/", "/v1/event/{workspace_id}"},
		{"/v1/transition/", "/v1/transition/{workspace_id}"},
		{"/v1/customer/", "/v1/customer/{workspace_id}"},
		{"/v1/device/", "/v1/device/{workspace_id}"},
		{"/v1/campaigns/", "/v1/campaigns/{workspace_id}/{campaign_id}"},
		{"/v1/reports/", "/v1/reports/{workspace_id}"},
		{"/core-services/v1/campaign-stats", "/core-services/v1/campaign-stats"},
		{"/core-services/v1/campaigns/", "/core-services/v1/campaigns"},
		{"/campaign_reports/rest_api/", "/campaign_reports/rest_api"},
		{"/admin/v1/", "/admin/v1"}, {ui.Prefix, "/ui"},
		{"/healthz", "/healthz"}, {"/readyz", "/readyz"}, {"/metrics", "/metrics"}, {"/openapi.yaml", "/openapi.yaml"},
	}
}

func (s *Server) logError(r *http.Request, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away (or the server stopped waiting for it): not a fault of the server.
		s.Logger.Info("request abandoned", "request_id", requestID(r.Context()), "route", info(r.Context()).route, "error", err.Error())
		return
	}
	s.Logger.Error("request failed", "request_id", requestID(r.Context()), "route", info(r.Context()).route, "error", err.Error())
	s.metrics.storeErrors.WithLabelValues(info(r.Context()).route).Inc()
}

// ---- health ----

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "reason": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not_ready", "reason": "store unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Write(s.OpenAPI)
}
