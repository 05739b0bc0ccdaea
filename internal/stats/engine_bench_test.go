package stats_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/stats"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
)

// loadDemo fills a fresh store with demo traffic through the ingest decoder, as the HTTP layer does.
func loadDemo(b *testing.B, events int) (*duckdb.Store, *demo.Generator, time.Time) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "db.duckdb")
	if p := os.Getenv("BENCH_DB"); p != "" {
		path = p
	}
	st, err := duckdb.Open(ctx, path, duckdb.Options{}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	gen := demo.New(demo.Options{Campaigns: 100, Users: 100_000, Days: 60, Events: events, Seed: 1, End: end, Prefix: "bench"})
	var buf bytes.Buffer
	flush := func() {
		items, err := ingest.DecodeStreams(buf.Bytes(), true, end)
		if err != nil {
			b.Fatal(err)
		}
		batch := store.Batch{WorkspaceID: "w", ReceivedAt: end}
		for _, it := range items {
			if it.Event == nil {
				b.Fatalf("demo event rejected: %s", it.Reject)
			}
			batch.Events = append(batch.Events, *it.Event)
		}
		if _, err := st.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		buf.Reset()
	}
	gen.Generate(func(line []byte) error {
		buf.Write(line)
		if buf.Len() > 8<<20 {
			flush()
		}
		return nil
	})
	flush()
	return st, gen, end
}

// BenchmarkStatsLargest30dUnique is the Stats query of the largest campaign over 30 days, UNIQUE.
func BenchmarkStatsLargest30dUnique(b *testing.B) {
	st, gen, end := loadDemo(b, 300_000)
	defer st.Close()
	eng := stats.New(st)
	q := stats.Query{Workspace: domain.Workspace{ID: "w", Timezone: "UTC"}, CampaignIDs: gen.Largest(1),
		Start: end.AddDate(0, 0, -30), End: end.AddDate(0, 0, -1), Attribution: attribution.ViewThrough, Unique: true, Limit: 10}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := eng.Stats(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}
