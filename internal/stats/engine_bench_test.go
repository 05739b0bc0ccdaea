package stats_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/embedded"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/stats"
)

// loadDemo fills a fresh store with demo traffic through the ingest decoder, as the HTTP layer does.
func loadDemo(b *testing.B, events int) (*embedded.System, *demo.Generator, time.Time) {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	if p := os.Getenv("BENCH_DATA_DIR"); p != "" {
		dir = p
	}
	sys, err := embedded.Open(ctx, embedded.Options{DataDir: dir})
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
		var evs []domain.Event
		for _, it := range items {
			if it.Event == nil {
				b.Fatalf("demo event rejected: %s", it.Reject)
			}
			evs = append(evs, *it.Event)
		}
		if _, err := sys.Ingest(ctx, "w", end, evs); err != nil {
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
	if err := sys.Store.Compact(ctx); err != nil { // as the service does once ingest pauses
		b.Fatal(err)
	}
	return sys, gen, end
}

// BenchmarkStatsLargest30dUnique is the Stats query of the largest campaign over 30 days, UNIQUE.
func BenchmarkStatsLargest30dUnique(b *testing.B) {
	sys, gen, end := loadDemo(b, 300_000)
	defer sys.Close()
	eng := sys.Engine
	q := stats.Query{Workspace: domain.Workspace{ID: "w", Timezone: "UTC"}, CampaignIDs: gen.Largest(1),
		Start: end.AddDate(0, 0, -30), End: end.AddDate(0, 0, -1), Attribution: attribution.ViewThrough, Unique: true, Limit: 10}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := eng.Stats(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}
