package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
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

// BenchmarkAppend1000 measures one durable 1000-event append into a store that already holds 200K events.
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
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkPutCampaigns compares the two ways a catalog write stores its rows, for the few changed campaigns of a
// derivation step (3 of a workspace's 1000), each in its own committed transaction.
func BenchmarkPutCampaigns(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "db.duckdb"), Options{}, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	all := make([]domain.Campaign, 1000)
	for i := range all {
		all[i] = domain.Campaign{ID: fmt.Sprintf("c%04d", i), CreatedAt: now, UpdatedAt: now}
		all[i].Inferred.Name.Offer(fmt.Sprint("Campaign ", i), now.UnixMilli(), "e0")
	}
	if err := s.UpdateCampaigns(ctx, "w", func([]domain.Campaign) ([]domain.Campaign, error) { return all, nil }); err != nil {
		b.Fatal(err)
	}
	for _, put := range []struct {
		name string
		fn   func(context.Context, *sql.Conn, string, []domain.Campaign) error
	}{{"few", putFewCampaigns}, {"many", putManyCampaigns}} {
		b.Run(put.name, func(b *testing.B) {
			conn, err := s.db.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			i := 0
			for b.Loop() {
				i++
				changed := slices.Clone(all[i%997 : i%997+3])
				for k := range changed {
					changed[k].Inferred.Name.Offer("Renamed", now.UnixMilli()+int64(i), "e1")
				}
				if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
					b.Fatal(err)
				}
				if err := put.fn(ctx, conn, "w", changed); err != nil {
					b.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
