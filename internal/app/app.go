// Package app wires the service together: store, engine, HTTP server and background sweepers. `campaignstats
// serve`, `campaignstats demo` and the end-to-end tests start it the same way.
package app

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/campaignstats/campaignstats/api"
	"github.com/campaignstats/campaignstats/internal/blob"
	"github.com/campaignstats/campaignstats/internal/cluster"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/embedded"
	"github.com/campaignstats/campaignstats/internal/httpapi"
	"github.com/campaignstats/campaignstats/internal/ratelimit"
	"github.com/campaignstats/campaignstats/internal/report"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// DBFile is the embedded database file name inside --data-dir.
const DBFile = embedded.DBFile

// openReportStorage opens where report files live: a directory (--report-storage, default <data-dir>/reports), or
// an S3-compatible bucket (s3://bucket/prefix with --s3-endpoint and the AWS_* credentials).
func openReportStorage(ctx context.Context, cfg config.Config) (blob.Store, error) {
	dir := cfg.ReportStorage
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "reports")
	}
	if strings.HasPrefix(dir, "s3://") {
		u, err := url.Parse(dir)
		if err != nil {
			return nil, fmt.Errorf("--report-storage: %w", err)
		}
		endpoint, useSSL := cmp.Or(cfg.S3Endpoint, AWSS3Endpoint), true
		if e, ok := strings.CutPrefix(endpoint, "http://"); ok {
			endpoint, useSSL = e, false
		} else {
			endpoint = strings.TrimPrefix(endpoint, "https://")
		}
		files, err := blob.OpenS3(ctx, blob.S3Options{Endpoint: strings.TrimSuffix(endpoint, "/"), Bucket: u.Host,
			Prefix: strings.Trim(u.Path, "/"), AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, UseSSL: useSSL, Region: cfg.S3Region})
		if err != nil {
			return nil, fmt.Errorf("report storage %s: %w", dir, err)
		}
		return files, nil
	}
	files, err := blob.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("report storage %s: %w", dir, err)
	}
	return files, nil
}

// AWSS3Endpoint is the S3 endpoint of s3:// report storage without --s3-endpoint: AWS S3 itself (the client finds
// the bucket's region).
const AWSS3Endpoint = "s3.amazonaws.com"

// openRateLimiter returns the rate limiter: in process, or shared by every node through Redis (--redis), falling
// back to the node's own counts while Redis fails.
func openRateLimiter(cfg config.Config, now func() time.Time, logger *slog.Logger, reg prometheus.Registerer) (httpapi.RateLimiter, func() error, error) {
	local := ratelimit.New(now)
	if cfg.Redis == "" {
		return httpapi.InProcess(local), func() error { return nil }, nil
	}
	opts, err := ratelimit.RedisOptions(cfg.Redis)
	if err != nil {
		return nil, nil, fmt.Errorf("--redis: %w", err)
	}
	client := redis.NewClient(opts)
	return ratelimit.NewFailOpen(ratelimit.NewRedis(client, now, "campaignstats:ratelimit:"), local, now, logger, reg), client.Close, nil
}

// openError names the likely cause of a failure to open the embedded store.
func openError(cfg config.Config, err error) error {
	if isLockConflict(err) {
		return fmt.Errorf("the embedded store in %s is held by another process (is a server running? use --server): %w", cfg.DataDir, err)
	}
	return err
}

// Server is a running campaignstats service.
type Server struct {
	cfg       config.Config
	logger    *slog.Logger
	store     store.MetaStore
	sys       *embedded.System
	coord     *cluster.Coordinator // nil unless nodes share the stores
	closeRest func() error         // closes what Start opened besides the HTTP side (stores, cluster, limiter)
	api       *httpapi.Server
	ws        *workspace.Service
	reports   *report.Service
	workers   *report.Workers
	files     blob.Store
	notifier  *report.WebhookNotifier
	http      *http.Server
	pprof     *http.Server // --pprof-addr; nil when off
	listener  net.Listener
	served    chan error
	stop      context.CancelFunc
	bgDone    chan struct{}
	schedDone chan struct{}
}

// ReportSchedulerInterval is how often the report scheduler claims due schedules (it also runs once at start-up,
// which catches up missed occurrences).
const ReportSchedulerInterval = 15 * time.Second

// ReportDeps are what a report Generator is built from, once the store is open.
type ReportDeps struct {
	Config     config.Config
	Store      store.MetaStore
	Engine     *stats.Engine
	Logger     *slog.Logger
	Now        func() time.Time
	Registerer prometheus.Registerer
}

// Option adjusts Start.
type Option func(*options)

type options struct {
	generator func(ReportDeps) (report.Generator, error)
}

// WithReportGenerator makes Start build the report Generator with build once the store is open. If the Generator
// also implements report.RunObserver it is told about every finished run (webhooks). Without this option every
// report run fails with "report generation is not available".
func WithReportGenerator(build func(ReportDeps) (report.Generator, error)) Option {
	return func(o *options) { o.generator = build }
}

// Start opens the store, binds cfg.Addr and serves until Close. It also re-queues report runs left RUNNING by the
// previous process, starts the report scheduler (at once, then every ReportSchedulerInterval) and
// cfg.ReportWorkers report workers.
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger, now func() time.Time, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	eo := embedded.Options{DataDir: cfg.DataDir, Logger: logger, Now: now, FreshnessWait: cfg.DeriveWait, MaxCampaigns: cfg.MaxCampaigns,
		AttributionCacheBytes: cfg.AttributionCache,
		DuckDB: duckdb.Options{MemoryLimit: cfg.DuckDBMemoryLimit, Threads: cfg.DuckDBThreads,
			CheckpointThreshold: cfg.DuckDBCheckpointThreshold}}
	var coord *cluster.Coordinator
	if cfg.Store != "embedded" {
		stores, err := openStores(ctx, cfg, logger, now)
		if err != nil {
			return nil, err
		}
		if coord, err = openCoordinator(ctx, cfg, logger); err != nil {
			stores.Close()
			return nil, err
		}
		eo.Meta, eo.Events = stores.Meta, stores.Events
		if coord != nil {
			eo.Cluster = coord
		}
	}
	sys, err := embedded.Open(ctx, eo)
	if err != nil {
		if coord != nil {
			coord.Close()
		}
		return nil, openError(cfg, err)
	}
	st := sys.Meta
	// closers close, in reverse order, what Start opened besides the HTTP side.
	closers := []func() error{func() error {
		if coord != nil {
			coord.Close()
		}
		return nil
	}, sys.Close}
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	closeSys := func() { closeAll() }
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	quarantineGauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "campaignstats_quarantine_records", Help: "Quarantine records held."})
	reg.MustRegister(quarantineGauge)
	if sys.Store != nil {
		reg.MustRegister(newStoreMemoryCollector(sys.Store),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "campaignstats_store_unsettled_events",
				Help: "Events appended to the embedded store since maintenance last caught up (compacted, moved credits, merged user sets); 0 when settled."},
				func() float64 { return float64(sys.Store.Unsettled()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "campaignstats_store_maintenance_running",
				Help: "1 while the embedded store's maintenance compacts, moves credits, merges user sets, rewrites or checkpoints."},
				func() float64 {
					if sys.Store.MaintenanceRunning() {
						return 1
					}
					return 0
				}))
	}
	if w := sys.Worker; w != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "campaignstats_derive_lag_events",
			Help: "Events acknowledged by this node that the upkeep of derived data (inference, credits) has not processed yet."},
			func() float64 { return float64(max(sys.Intake.Watermark()-w.Progress(), 0)) }))
	}
	wsSvc := workspace.New(st, now, cfg.DefaultRateLimit)
	engine := sys.Engine
	limiter, closeLimiter, err := openRateLimiter(cfg, now, logger, reg)
	if err != nil {
		closeSys()
		return nil, err
	}
	closers = append(closers, closeLimiter)
	files, err := openReportStorage(ctx, cfg)
	if err != nil {
		closeSys()
		return nil, err
	}
	var notifier *report.WebhookNotifier
	var snapshots report.Snapshotter
	build := o.generator
	if build == nil {
		// The default: files from the metric engine, each run read from a snapshot, webhooks on run end (SPEC
		// §8.4–§8.11).
		build = func(d ReportDeps) (report.Generator, error) {
			sender := report.NewWebhookSender(report.WebhookConfig{Timeout: d.Config.WebhookTimeout,
				AllowPrivate: d.Config.AllowPrivateWebhooks, UserAgent: "campaignstats/" + d.Config.Version})
			notifier = report.NewWebhookNotifier(sender, d.Store, d.Logger, d.Registerer)
			gen := report.NewFileGenerator(report.GeneratorConfig{Engine: d.Engine, Files: files})
			snapshots = gen
			return gen, nil
		}
	}
	gen, err := build(ReportDeps{Config: cfg, Store: st, Engine: engine, Logger: logger, Now: now, Registerer: reg})
	if err != nil {
		closeSys()
		return nil, fmt.Errorf("report generator: %w", err)
	}
	var observer report.RunObserver
	if notifier != nil {
		observer = notifier
	}
	reports := report.NewService(st, report.Options{Now: now, Logger: logger, Generator: gen, Snapshots: snapshots,
		Observer: observer, Metrics: report.NewMetrics(reg), Retention: cfg.ReportRetention, LeaseDuration: cfg.ReportLease,
		LeaseRenewInterval: cfg.ReportLease / 3})
	api := httpapi.New(httpapi.Deps{
		Config: cfg, Store: st, Intake: sys.Intake, Fresh: sys.FreshCatalog, Engine: engine, Workspaces: wsSvc,
		Limiter: limiter, Logger: logger, Now: now, Registry: reg, OpenAPI: api.Spec(), Reports: reports,
		ReportFiles: files,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		closeSys()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// Runs left RUNNING by a previous process (crash or timeout) go back to the queue (SPEC §8.4). Nodes sharing
	// the stores leave that to the runs' leases instead: a run RUNNING here may be another node's.
	if coord == nil {
		if n, err := reports.RequeueInterrupted(ctx); err != nil {
			logger.Warn("re-queue interrupted report runs", "error", err.Error())
		} else if n > 0 {
			logger.Info("re-queued interrupted report runs", "runs", n)
		}
	}
	s := &Server{cfg: cfg, logger: logger, store: st, sys: sys, closeRest: closeAll, api: api, ws: wsSvc, reports: reports, files: files, notifier: notifier,
		listener: ln, served: make(chan error, 1),
		bgDone: make(chan struct{}), schedDone: make(chan struct{})}
	// Bounded headers and timeouts so that a slow client cannot hold a connection forever (SPEC §12.10). net/http
	// reads up to MaxHeaderBytes plus 4096 bytes of slack for the request line and headers: the bound is 1 MiB.
	s.http = &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		WriteTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 1<<20 - 4096,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			closeSys()
			return nil, fmt.Errorf("load TLS key pair: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.listener = tls.NewListener(ln, s.http.TLSConfig)
	}
	if cfg.PprofAddr != "" {
		if err := s.servePprof(cfg.PprofAddr); err != nil {
			ln.Close()
			closeSys()
			return nil, err
		}
	}
	go func() { s.served <- s.http.Serve(s.listener) }()
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go s.background(bg, now, quarantineGauge)
	go func() {
		defer close(s.schedDone)
		report.NewScheduler(reports).Run(bg, ReportSchedulerInterval)
	}()
	s.workers = report.NewWorkers(reports, cfg.ReportWorkers)
	s.workers.Start()
	logger.Info("listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "store", cfg.Store,
		"dashboard", dashboardURL(cfg, ln.Addr()))
	return s, nil
}

// background runs the sweepers every minute: quarantine retention, expired idempotency keys, the quarantine
// gauge, expired report files and old run metadata.
func (s *Server) background(ctx context.Context, now func() time.Time, gauge prometheus.Gauge) {
	defer close(s.bgDone)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if s.cfg.QuarantineRetention > 0 {
			if n, err := s.store.PurgeQuarantine(ctx, "", now().Add(-s.cfg.QuarantineRetention)); err != nil {
				if ctx.Err() == nil {
					s.logger.Warn("quarantine sweep failed", "error", err.Error())
				}
			} else if n > 0 {
				s.logger.Info("quarantine sweep", "deleted", n)
			}
		}
		if _, err := s.store.PurgeIdempotency(ctx, now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.logger.Warn("idempotency sweep failed", "error", err.Error())
		}
		if n, err := s.store.CountQuarantine(ctx); err == nil {
			gauge.Set(float64(n))
		}
		// Report retention (SPEC §8.10): expired files go, run metadata stays 90 days after expiry.
		if n, err := report.SweepExpiredFiles(ctx, s.store, s.files, now(), s.cfg.ReportRetention); err != nil && ctx.Err() == nil {
			s.logger.Warn("report file sweep failed", "error", err.Error())
		} else if n > 0 {
			s.logger.Info("report file sweep", "deleted", n)
		}
		if _, err := s.store.PurgeRuns(ctx, now().Add(-90*24*time.Hour)); err != nil && ctx.Err() == nil {
			s.logger.Warn("report run purge failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Workspaces returns the workspace service (the demo creates its workspace through it).
func (s *Server) Workspaces() *workspace.Service { return s.ws }

// Reports returns the report service.
func (s *Server) Reports() *report.Service { return s.reports }

// LocalURL returns a URL that reaches the server from this machine, also when it listens on all interfaces.
func (s *Server) LocalURL() string {
	_, port, _ := net.SplitHostPort(s.Addr())
	host, _, _ := net.SplitHostPort(s.Addr())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// Addr returns the bound address.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL returns the base URL of the server.
func (s *Server) URL() string {
	scheme := "http"
	if s.cfg.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + s.Addr()
}

// Done is closed with the serve error when the HTTP server stops on its own.
func (s *Server) Done() <-chan error { return s.served }

// Close drains and stops the server: /readyz turns 503, listeners close, in-flight requests finish within ctx,
// the scheduler stops, running report runs are re-queued (SPEC §10.3), then the store closes.
//
// ctx bounds the drain (--shutdown-timeout), and running out of it is not a failure: the connections still open
// are then cut (their handlers end with their requests' contexts) and the running report runs re-queued at once.
// Close returns an error only for what failed to stop or close.
func (s *Server) Close(ctx context.Context) error {
	s.api.StartDrain()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.logger.Warn("shutdown: requests still in flight when the drain's time ran out; their connections are closed")
		// Shutdown has closed the listeners already: what Close could report is about them, not the connections.
		_ = s.http.Close()
		err = nil
	}
	if s.pprof != nil {
		s.pprof.Close()
	}
	s.stop()
	<-s.bgDone
	<-s.schedDone
	if werr := s.workers.Stop(ctx); werr != nil {
		err = errors.Join(err, werr)
	}
	if s.notifier != nil {
		s.notifier.Close() // pending webhook retries stop; their runs keep webhook_status "pending"
	}
	if cerr := s.closeRest(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}
