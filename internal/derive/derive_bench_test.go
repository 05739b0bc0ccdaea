package derive

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/catalog"
	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/intake"
)

// BenchmarkDerive measures the worker catching up with demo events (CAMPAIGNSTATS_DERIVE_EVENTS, default 300K;
// one user per 10 events, one campaign per 3,000, every campaign with the demo's goals, purchases after sends):
// inference, per-user index, attribution and credits. The catalog is written first and the events are committed
// with the worker stopped, as a replay of an export would.
func BenchmarkDerive(b *testing.B) {
	ctx := context.Background()
	events := 300_000
	if v, err := strconv.Atoi(os.Getenv("CAMPAIGNSTATS_DERIVE_EVENTS")); err == nil && v > 0 {
		events = v
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t := &testing.T{}
		e := open(t, b.TempDir(), false)
		end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		gen := demo.New(demo.Options{Campaigns: max(events/3000, 10), Users: events / 10, Days: 60, Events: events, Seed: 1, End: end, Prefix: "bench"})
		for _, c := range gen.Campaigns() {
			body, err := json.Marshal(c.Body)
			if err != nil {
				b.Fatal(err)
			}
			fields, ferr := catalog.ParsePut(body, c.ID, ingest.ParseTime)
			if ferr != nil {
				b.Fatalf("%s: %v", c.ID, ferr)
			}
			if err := e.in.UpdateCatalog(ctx, "w", func(cs []domain.Campaign) ([]domain.Campaign, error) {
				records, _, ferr := catalog.Apply(domain.NewCatalogView(cs), c.ID, fields, end)
				if ferr != nil {
					return nil, ferr
				}
				return records, nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		var buf bytes.Buffer
		n := 0
		flush := func() {
			items, err := ingest.DecodeStreams(buf.Bytes(), true, end)
			if err != nil {
				b.Fatal(err)
			}
			var evs []domain.Event
			for _, it := range items {
				if it.Event != nil {
					evs = append(evs, *it.Event)
				}
			}
			n += len(evs)
			if _, err := e.in.Commit(ctx, intake.Request{WorkspaceID: "w", ReceivedAt: end, Events: evs}); err != nil {
				b.Fatal(err)
			}
			buf.Reset()
		}
		gen.Generate(func(line []byte) error {
			buf.Write(line)
			if buf.Len() > 4<<20 {
				flush()
			}
			return nil
		})
		flush()
		b.StartTimer()
		start := time.Now()
		e.start()
		if err := e.w.Wait(ctx, e.in.Watermark()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "events/s")
		b.StopTimer()
		e.close(t)
	}
}
