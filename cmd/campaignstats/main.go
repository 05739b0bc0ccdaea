// Command campaignstats is the campaign analytics service and its command-line tools (SPEC §9.2).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	_ "time/tzdata" // workspace time zones must load on machines without a zoneinfo database

	"github.com/campaignstats/campaignstats/internal/app"
	"github.com/campaignstats/campaignstats/internal/config"
)

// version is the release version, set with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes of SPEC §9.2.
const (
	exitOK       = 0
	exitRuntime  = 1
	exitUsage    = 2
	exitRejected = 3
)

const usage = `campaignstats — self-hostable campaign analytics

usage: campaignstats <command> [flags]

commands:
  serve       run the HTTP server
  demo        create a workspace with synthetic data across every channel, then serve
  workspace   create|list|get|update|disable|enable|rotate|quarantine workspaces
  ingest      send event files (Streams, NDJSON, Track, Bulk) to a server
  stats       call the Stats API
  report      create|list|get|update|delete|run|runs|download report definitions and files
  bench       load-test a server: ingest throughput, Stats latency, time to visibility
  migrate     create or upgrade the schema of the configured stores (ClickHouse, PostgreSQL)
  version     print the version

Every flag can be set through CAMPAIGNSTATS_<FLAG> (e.g. --data-dir ↔ CAMPAIGNSTATS_DATA_DIR).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command and returns its exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stderr)
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "workspace":
		return runWorkspace(ctx, rest, getenv, stdout, stderr)
	case "ingest":
		return runIngest(ctx, rest, getenv, stdin, stdout, stderr)
	case "stats":
		return runStats(ctx, rest, getenv, stdout, stderr)
	case "report":
		return runReport(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, getenv, stdout, stderr)
	case "bench-naive": // internal: one phase of the bench's naive baseline, run as a child process
		return runBenchNaive(ctx, stdin, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "campaignstats", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "campaignstats: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// newLogger builds the service logger from the configuration.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// runServe is `campaignstats serve`.
func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, err := config.Load(args, getenv)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			config.PrintUsage(stderr)
			return exitOK
		}
		fmt.Fprintf(stderr, "campaignstats serve: %v\n", err)
		return exitUsage
	}
	cfg.Version = version
	logger := newLogger(cfg, stderr)
	setGoMemoryLimit(cfg, getenv)
	srv, err := app.Start(ctx, cfg, logger, time.Now)
	if err != nil {
		fmt.Fprintf(stderr, "campaignstats serve: %v\n", err)
		return exitRuntime
	}
	return serveUntilDone(ctx, srv, cfg, logger)
}

// setGoMemoryLimit applies --go-memory-limit to the Go runtime unless GOMEMLIMIT is set (the runtime reads that
// itself). The soft limit makes the collector work harder as the heap nears it, instead of letting the heap grow
// to twice its live size, so the process's memory stays within its configuration.
func setGoMemoryLimit(cfg config.Config, getenv func(string) string) {
	if getenv("GOMEMLIMIT") == "" && cfg.GoMemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.GoMemoryLimit)
	}
}

// serveUntilDone waits for a signal (or a server failure), then shuts down gracefully.
func serveUntilDone(ctx context.Context, srv *app.Server, cfg config.Config, logger *slog.Logger) int {
	code := exitOK
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	case err := <-srv.Done():
		logger.Error("server stopped", "error", fmt.Sprint(err))
		code = exitRuntime
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Close(sctx); err != nil {
		logger.Error("shutdown", "error", err.Error())
		return exitRuntime
	}
	logger.Info("stopped")
	return code
}
