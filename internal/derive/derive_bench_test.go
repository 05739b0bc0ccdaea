package derive

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/demo"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/ingest"
	"github.com/campaignstats/campaignstats/internal/intake"
)

// BenchmarkDerive measures the worker catching up with 300K demo events (campaigns with goals, purchases after
// sends): inference, per-user index, attribution and credits. The events are committed with the worker stopped.
func BenchmarkDerive(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		t := &testing.T{}
		e := open(t, b.TempDir(), false)
		end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
		gen := demo.New(demo.Options{Campaigns: 100, Users: 100_000, Days: 60, Events: 300_000, Seed: 1, End: end, Prefix: "bench"})
		for _, c := range gen.Campaigns() {
			fields := c.Body
			_ = fields
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
		e.putGoals(t, gen.Largest(1)[0])
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
