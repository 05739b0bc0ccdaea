package app

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/campaignstats/campaignstats/internal/cluster"
	"github.com/campaignstats/campaignstats/internal/config"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/clickhouse"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
	"github.com/campaignstats/campaignstats/internal/store/postgres"
)

// Stores are the opened halves of the storage contract and the deployment's optional capabilities.
type Stores struct {
	Meta   store.MetaStore
	Events store.EventStore
	// Snapshots opens consistent snapshots for report runs (SPEC §8.4); nil when the deployment has none.
	Snapshots store.Snapshotter
	// Embedded is the embedded store when it holds a half (both, unless --store is ClickHouse); nil otherwise.
	Embedded *duckdb.Store
	close    func() error
}

// Close closes the stores.
func (s Stores) Close() error { return s.close() }

// OpenStores opens the configured stores without the service around them (the workspace commands use it): the
// embedded DuckDB store holds both halves and takes snapshots with its MVCC transactions; with --store
// clickhouse://… the events live in ClickHouse and the metadata in PostgreSQL (--meta) or, for a single node, in the
// embedded store.
func OpenStores(ctx context.Context, cfg config.Config, now func() time.Time) (Stores, error) {
	return openStores(ctx, cfg, slog.New(slog.DiscardHandler), now)
}

func openStores(ctx context.Context, cfg config.Config, logger *slog.Logger, now func() time.Time) (Stores, error) {
	if cfg.Store == "embedded" {
		st, err := openEmbedded(ctx, cfg, logger, now)
		if err != nil {
			return Stores{}, err
		}
		return Stores{Meta: st, Events: st, Snapshots: st, Embedded: st, close: st.Close}, nil
	}
	events, err := clickhouse.Open(ctx, clickhouseOptions(cfg, logger, now))
	if err != nil {
		return Stores{}, fmt.Errorf("open the ClickHouse event store: %w", err)
	}
	if cfg.Meta == "" {
		st, err := openEmbedded(ctx, cfg, logger, now)
		if err != nil {
			events.Close()
			return Stores{}, err
		}
		return Stores{Meta: st, Events: events, Embedded: st, close: func() error { return joinClose(events, st) }}, nil
	}
	meta, err := postgres.Open(ctx, cfg.Meta, now)
	if err != nil {
		events.Close()
		return Stores{}, fmt.Errorf("open the PostgreSQL metadata store: %w", err)
	}
	return Stores{Meta: meta, Events: events, close: func() error { return joinClose(events, meta) }}, nil
}

func openEmbedded(ctx context.Context, cfg config.Config, logger *slog.Logger, now func() time.Time) (*duckdb.Store, error) {
	st, err := duckdb.Open(ctx, filepath.Join(cfg.DataDir, DBFile), duckdb.Options{MemoryLimit: cfg.DuckDBMemoryLimit, Threads: cfg.DuckDBThreads,
		CheckpointThreshold: cfg.DuckDBCheckpointThreshold, Logger: logger}, now)
	if err != nil {
		return nil, openError(cfg, err)
	}
	return st, nil
}

func clickhouseOptions(cfg config.Config, logger *slog.Logger, now func() time.Time) clickhouse.Options {
	return clickhouse.Options{Shards: cfg.StoreShards(), Now: now, Logger: logger}
}

type closer interface{ Close() error }

func joinClose(cs ...closer) error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// openCoordinator connects the node to its cluster when several nodes may share the stores (ClickHouse events,
// PostgreSQL metadata); nil otherwise.
func openCoordinator(ctx context.Context, cfg config.Config, logger *slog.Logger) (*cluster.Coordinator, error) {
	if !cfg.Shared() {
		return nil, nil
	}
	c, err := cluster.Open(ctx, cluster.Options{DSN: cfg.Meta, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("join the cluster: %w", err)
	}
	return c, nil
}

// Migrate creates or upgrades the schema of the configured stores and returns what it migrated.
func Migrate(ctx context.Context, cfg config.Config, now func() time.Time) ([]string, error) {
	logger := slog.New(slog.DiscardHandler)
	if cfg.Store == "embedded" {
		st, err := openEmbedded(ctx, cfg, logger, now) // the embedded store migrates itself when it opens
		if err != nil {
			return nil, err
		}
		return []string{"embedded store in " + cfg.DataDir}, st.Close()
	}
	var done []string
	if err := clickhouse.Migrate(ctx, clickhouseOptions(cfg, logger, now)); err != nil {
		return done, fmt.Errorf("ClickHouse: %w", err)
	}
	done = append(done, fmt.Sprintf("ClickHouse event store (%d shards)", len(cfg.StoreShards())))
	if cfg.Meta == "" {
		st, err := openEmbedded(ctx, cfg, logger, now)
		if err != nil {
			return done, err
		}
		return append(done, "embedded metadata store in "+cfg.DataDir), st.Close()
	}
	if err := postgres.Migrate(ctx, cfg.Meta); err != nil {
		return done, fmt.Errorf("PostgreSQL: %w", err)
	}
	return append(done, "PostgreSQL metadata store"), nil
}
