package duckdb

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"golang.org/x/sync/errgroup"
)

// BenchmarkStoredAggregate measures UNIQUE node queries on a database file written by the service (for example a
// copy of the data directory `scripts/bench.sh` fills; the file must not be open elsewhere):
//
//	CAMPAIGNSTATS_BENCH_DB=/path/campaignstats.duckdb go test -run '^$' -bench StoredAggregate ./internal/store/duckdb
//
// With CAMPAIGNSTATS_BENCH_EXPLAIN=/path/prefix it also writes each query and its EXPLAIN ANALYZE there.
// It asks for the largest campaign and for the ten largest, over the last 30 days of data, with every node shape,
// as a Stats call does. Without the variable it is skipped.
func BenchmarkStoredAggregate(b *testing.B) {
	path := os.Getenv("CAMPAIGNSTATS_BENCH_DB")
	if path == "" {
		b.Skip("CAMPAIGNSTATS_BENCH_DB is not set")
	}
	ctx := context.Background()
	threads, _ := strconv.Atoi(os.Getenv("CAMPAIGNSTATS_BENCH_THREADS"))
	s, err := Open(ctx, path, Options{Threads: threads}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	// A file written before the user sets existed gets them from a compaction, as the service's next one would.
	var zones int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM user_set_zones`).Scan(&zones); err != nil {
		b.Fatal(err)
	}
	if zones == 0 {
		start := time.Now()
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
		b.Logf("compaction with user sets: %v", time.Since(start))
	}
	// As maintenance does at its first step: the log's tail users are numbered from memory (unless
	// CAMPAIGNSTATS_BENCH_JOIN is set: joined to user_ids, as before maintenance has loaded the numbers).
	if os.Getenv("CAMPAIGNSTATS_BENCH_JOIN") == "" {
		if err := s.numbers.load(ctx, s.db); err != nil {
			b.Fatal(err)
		}
		// And the tail is read from the tail index (unless CAMPAIGNSTATS_BENCH_LOG is set: from the log).
		if os.Getenv("CAMPAIGNSTATS_BENCH_LOG") == "" {
			if err := s.loadTail(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	// As maintenance does once appends and node queries pause: one row of user sets per day.
	if os.Getenv("CAMPAIGNSTATS_BENCH_MERGE") != "" {
		start := time.Now()
		if _, err := s.MergeUserSets(ctx); err != nil {
			b.Fatal(err)
		}
		b.Logf("user sets merged: %v", time.Since(start))
	}
	// As maintenance does once appends pause (the service clusters them after every start).
	if os.Getenv("CAMPAIGNSTATS_BENCH_CLUSTER") != "" {
		start := time.Now()
		if _, err := s.moveCredits(ctx, true, false, false); err != nil {
			b.Fatal(err)
		}
		b.Logf("credits clustered: %v", time.Since(start))
	}
	var ws string
	var maxTS int64
	if err := s.db.QueryRowContext(ctx, `SELECT ws, max(ts) FROM facts GROUP BY ws ORDER BY count(*) DESC LIMIT 1`).Scan(&ws, &maxTS); err != nil {
		b.Fatal(err)
	}
	campaigns, err := s.Campaigns(ctx, ws)
	if err != nil {
		b.Fatal(err)
	}
	channels := map[string]domain.Channel{}
	for _, c := range campaigns {
		channels[c.ID] = domain.Channel(c.Inferred.Channel.Value)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT campaign_id FROM facts WHERE ws = ? GROUP BY campaign_id ORDER BY count(*) DESC LIMIT 10`, ws)
	if err != nil {
		b.Fatal(err)
	}
	var targets []store.AggregateTarget
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		targets = append(targets, store.AggregateTarget{ID: id, Units: []store.AggregateUnit{{ID: id, Channel: channels[id]}}})
	}
	rows.Close()
	to := maxTS - maxTS%msPerDay
	from := to - 30*msPerDay
	for _, bc := range []struct {
		name    string
		targets []store.AggregateTarget
	}{{"largest", targets[:1]}, {"top10", targets}} {
		b.Run(bc.name, func(b *testing.B) {
			q := store.AggregateQuery{WorkspaceID: ws, FromMS: from, ToMS: to, Unique: true, Targets: bc.targets}
			if path := os.Getenv("CAMPAIGNSTATS_BENCH_EXPLAIN"); path != "" {
				explain(b, s, func() error { _, err := s.Aggregate(ctx, q); return err }, path+"."+bc.name)
			}
			var n int
			for b.Loop() {
				out, err := s.Aggregate(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "rows")
		})
		b.Run(bc.name+"/both", func(b *testing.B) {
			q := store.AggregateQuery{WorkspaceID: ws, FromMS: from, ToMS: to, Unique: true, Targets: bc.targets}
			cq := store.ConversionQuery{WorkspaceID: ws, FromMS: from, ToMS: to, Type: attribution.ViewThrough, Targets: bc.targets}
			for b.Loop() {
				var g errgroup.Group
				g.Go(func() error { _, err := s.Aggregate(ctx, q); return err })
				g.Go(func() error { _, err := s.Conversions(ctx, cq); return err })
				if err := g.Wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/conversions", func(b *testing.B) {
			q := store.ConversionQuery{WorkspaceID: ws, FromMS: from, ToMS: to, Type: attribution.ViewThrough, Targets: bc.targets}
			if path := os.Getenv("CAMPAIGNSTATS_BENCH_EXPLAIN"); path != "" {
				explain(b, s, func() error { _, err := s.Conversions(ctx, q); return err }, path+"."+bc.name+".conversions")
			}
			var n int
			for b.Loop() {
				out, err := s.Conversions(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "rows")
		})
	}
}

// explain writes the node query that run sends and DuckDB's EXPLAIN ANALYZE of it to the file path.
func explain(b *testing.B, s *Store, run func() error, path string) {
	var query string
	var args []any
	s.reader.onQuery = func(qs string, a []any) { query, args = qs, a }
	err := run()
	s.reader.onQuery = nil
	if err != nil {
		b.Fatal(err)
	}
	var kind, plan string
	if err := s.db.QueryRowContext(context.Background(), "EXPLAIN (ANALYZE, FORMAT JSON) "+query, args...).Scan(&kind, &plan); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(query+"\n\n"+plan), 0o644); err != nil {
		b.Fatal(err)
	}
}
