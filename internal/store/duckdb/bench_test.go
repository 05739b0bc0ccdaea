package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// benchBatch builds a realistic batch: 100 campaigns, names and delivery types on every event.
func benchBatch(b, size int) []domain.Event {
	out := make([]domain.Event, size)
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range out {
		n := b*size + i
		out[i] = domain.Event{UUID: fmt.Sprintf("ev-%d", n), TimeMS: base + int64(n)*1000, Campaign: true,
			UserKey: fmt.Sprintf("uid:u%d", n%100000), CampaignID: fmt.Sprintf("c%03d", n%100),
			Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: domain.CounterSent, Class: domain.ClassSend,
			PlatformDefault: domain.DefaultAndroid, Locale: "en", Variation: "variation_1",
			CampaignName: fmt.Sprintf("Campaign %d", n%100), InferredChannel: domain.ChannelPush, DeliveryType: domain.DeliveryOneTime,
			Source: "streams"}
	}
	return out
}

// BenchmarkAppend1000 measures one durable 1000-event append into a store that already holds 200K events, with the
// loader's work: the timing ends once every appended event is in the events table.
func BenchmarkAppend1000(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "db.duckdb"), Options{}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 200; i++ {
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: benchBatch(i, 1000)}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: time.Now(), Events: benchBatch(1000+i, 1000)}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.awaitLog(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
}
