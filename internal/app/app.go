// Package app wires the service together: store, engine, HTTP server and background sweepers. `campaignstats
// serve`, `campaignstats demo` and the end-to-end tests start it the same way.
package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/campaignstats/campaignstats/api"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/httpapi"
	"github.com/campaignstats/campaignstats/internal/ratelimit"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
	"github.com/campaignstats/campaignstats/internal/workspace"
)

// DBFile is the embedded database file name inside --data-dir.
const DBFile = "campaignstats.duckdb"

// OpenStore opens the configured store. Only the embedded store exists so far.
func OpenStore(ctx context.Context, cfg config.Config, now func() time.Time) (store.Store, error) {
	if cfg.Store != "embedded" {
		return nil, fmt.Errorf("store %q is not available in this build; use --store embedded", cfg.Store)
	}
	st, err := duckdb.Open(ctx, filepath.Join(cfg.DataDir, DBFile), duckdb.Options{MemoryLimit: cfg.DuckDBMemoryLimit, Threads: cfg.DuckDBThreads}, now)
	if err != nil {
		if strings.Contains(err.Error(), "lock") {
			return nil, fmt.Errorf("the embedded store in %s is held by another process (is a server running? use --server): %w", cfg.DataDir, err)
		}
		return nil, err
	}
	return st, nil
}

// Server is a running campaignstats service.
type Server struct {
	cfg      config.Config
	logger   *slog.Logger
	store    store.Store
	api      *httpapi.Server
	ws       *workspace.Service
	http     *http.Server
	listener net.Listener
	served   chan error
	stop     context.CancelFunc
	bgDone   chan struct{}
}

// Start opens the store, binds cfg.Addr and serves until Close.
func Start(ctx context.Context, cfg config.Config, logger *slog.Logger, now func() time.Time) (*Server, error) {
	st, err := OpenStore(ctx, cfg, now)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	quarantineGauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "campaignstats_quarantine_records", Help: "Quarantine records held."})
	reg.MustRegister(quarantineGauge)
	wsSvc := workspace.New(st, now, cfg.DefaultRateLimit)
	api := httpapi.New(httpapi.Deps{
		Config: cfg, Store: st, Engine: stats.New(st), Workspaces: wsSvc,
		Limiter: ratelimit.New(now), Logger: logger, Now: now, Registry: reg, OpenAPI: api.Spec(),
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, logger: logger, store: st, api: api, ws: wsSvc, listener: ln, served: make(chan error, 1), bgDone: make(chan struct{})}
	// Bounded headers and timeouts so that a slow client cannot hold a connection forever (SPEC §12.10).
	s.http = &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute,
		WriteTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 1 << 20,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			st.Close()
			return nil, fmt.Errorf("load TLS key pair: %w", err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.listener = tls.NewListener(ln, s.http.TLSConfig)
	}
	go func() { s.served <- s.http.Serve(s.listener) }()
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go s.background(bg, now, quarantineGauge)
	logger.Info("listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "store", cfg.Store)
	return s, nil
}

// background runs the sweepers: quarantine retention, expired idempotency keys and the quarantine gauge.
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
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Workspaces returns the workspace service (the demo creates its workspace through it).
func (s *Server) Workspaces() *workspace.Service { return s.ws }

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
// then the store closes.
func (s *Server) Close(ctx context.Context) error {
	s.api.StartDrain()
	err := s.http.Shutdown(ctx)
	s.stop()
	<-s.bgDone
	if cerr := s.store.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}
