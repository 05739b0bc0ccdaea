package clickhouse_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
	"github.com/campaignstats/campaignstats/internal/store/duckdb"
	"github.com/campaignstats/campaignstats/internal/testserver"
)

// TestSameRowsAsDuckDB appends one random workload of events and credit steps to the embedded store and to two
// ClickHouse shards, and checks that every node query answers with the same rows, over a grid of query options.
func TestSameRowsAsDuckDB(t *testing.T) {
	ctx := context.Background()
	c := testserver.StartClickHouse(t, 2)
	chStore := open(t, newOptions(t, c))
	defer chStore.Close()
	duck, err := duckdb.Open(ctx, "", duckdb.Options{Threads: 1}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	stores := []store.EventStore{duck, chStore}

	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(options ...string) string { return options[rng.IntN(len(options))] }
	counters := []domain.Counter{domain.CounterNone, domain.CounterSent, domain.CounterImpression, domain.CounterClick,
		domain.CounterFailedSend, domain.CounterFailedDelivery, domain.CounterDelivered, domain.CounterOpened,
		domain.CounterHardBounce, domain.CounterHeldOutCampaign, domain.CounterHeldOutGlobal}
	channels := []domain.Channel{domain.ChannelPush, domain.ChannelEmail, domain.ChannelSMS, domain.ChannelInApp, domain.ChannelOnSite}
	for batch := range 3 {
		var events []domain.Event
		for i := range 300 {
			key := fmt.Sprintf("uid:u%d", rng.IntN(25))
			e := domain.Event{UUID: fmt.Sprintf("e%d-%d", batch, i), TimeMS: t0.Add(time.Duration(rng.IntN(72*60)) * time.Minute).UnixMilli(),
				Campaign: true, UserKey: key, User: domain.HashUser(key), CampaignID: pick("P", "C1", "C2", "Q"),
				Counter: counters[rng.IntN(len(counters))], Platform: pick("", "", "ios", "android", "web"),
				PlatformDefault: domain.PlatformDefault(rng.IntN(4)), Locale: pick("", "en", "fr"),
				Variation: pick("", "variation_1", "variation_2"), Source: "streams"}
			e.Channels = domain.ChannelSetOf(channels[rng.IntN(len(channels))], channels[rng.IntN(len(channels))])
			switch e.Counter {
			case domain.CounterFailedSend, domain.CounterFailedDelivery:
				e.FailureKey = pick("dnd", "invalid_token", "")
			case domain.CounterHeldOutCampaign:
				e.Channels, e.Variation, e.FailureKey = domain.AllChannelsSet(), domain.CampaignControlGroup, domain.FailureKeyCampaignControlGroup
			case domain.CounterHeldOutGlobal:
				e.Channels, e.Variation = domain.AllChannelsSet(), domain.GlobalControlGroup
			}
			events = append(events, e)
		}
		for _, s := range stores {
			if _, err := s.Append(ctx, []store.EventBatch{{WorkspaceID: "w", ReceivedAt: t0, Events: events}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var goals []string
	for step := range 4 {
		u := store.CreditUpdate{Progress: store.Seq(step + 1)}
		for i := range 80 {
			// A goal event has one user, time, goal and revenue, whichever units, types and groups credit it.
			n := i % 50
			g := fmt.Sprintf("g%d-%d", step, n)
			goals = append(goals, g)
			group := attribution.Group(rng.IntN(3))
			typ := attribution.Type(1 + rng.IntN(5))
			variation := pick("", "variation_1", "variation_2")
			if group != attribution.Regular {
				typ, variation = attribution.None, ""
			}
			u.Credits = append(u.Credits, store.Credit{WorkspaceID: "w", User: domain.HashUser(fmt.Sprintf("uid:u%d", n%25)),
				Credit: attribution.Credit{GoalUUID: g, TimeMS: t0.Add(time.Duration(n*80+step) * time.Minute).UnixMilli(),
					Unit: pick("P", "C1", "C2", "Q"), Goal: []string{"Purchase", "Signup"}[n%2], Type: typ, Group: group,
					Platform: pick("ios", "android", "unknown"), Locale: pick("", "en"), Variation: variation,
					RevenueMicros: int64(n) * 100_001}})
		}
		switch step {
		case 2:
			u.Replace = []store.GoalRef{{WorkspaceID: "w", UUID: goals[3]}, {WorkspaceID: "w", UUID: goals[60]}, {WorkspaceID: "w", UUID: "g2-7"}}
		case 3:
			u.Rebuild = []string{"other"}
		}
		for _, s := range stores {
			if err := s.ApplyCredits(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
	}

	targets := []store.AggregateTarget{
		{ID: "P", Units: []store.AggregateUnit{{ID: "P", Channel: domain.ChannelPush}, {ID: "C1", Channel: domain.ChannelPush}, {ID: "C2", Channel: domain.ChannelEmail}}},
		{ID: "C1", Units: []store.AggregateUnit{{ID: "C1", Channel: domain.ChannelInApp}}},
		{ID: "C2", Units: []store.AggregateUnit{{ID: "C2", Channel: domain.ChannelOnSite}}},
		{ID: "Q", Units: []store.AggregateUnit{{ID: "Q", Channel: domain.ChannelUnknown}}},
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	from, to := t0.Add(-time.Hour).UnixMilli(), t0.Add(60*time.Hour).UnixMilli()
	for _, days := range []*time.Location{nil, newYork} {
		for _, shapes := range []store.NodeShapes{{}, {OnlyAllPlatforms: true, OnlyAllLocales: true, OnlyAllVariations: true}, {OnlyAllLocales: true}} {
			for _, unique := range []bool{false, true} {
				for _, metrics := range [][]string{nil, {domain.MetricSent, domain.MetricFailed}} {
					q := store.AggregateQuery{WorkspaceID: "w", FromMS: from, ToMS: to, Unique: unique, Targets: targets, Days: days,
						Metrics: metrics, Shapes: shapes}
					var got [2][]store.AggregateRow
					for i, s := range stores {
						if got[i], err = s.Aggregate(ctx, q); err != nil {
							t.Fatal(err)
						}
						sortRows(got[i], func(r store.AggregateRow) string { return fmt.Sprintf("%+v", r) })
					}
					if len(got[0]) == 0 {
						t.Fatalf("no rows for %+v", q)
					}
					if diff := cmp.Diff(got[0], got[1]); diff != "" {
						t.Errorf("aggregate days=%v shapes=%+v unique=%v metrics=%v (-duckdb +clickhouse):\n%s", days, shapes, unique, metrics, diff)
					}
				}
			}
			for _, typ := range []attribution.Type{attribution.ViewThrough, attribution.InSession} {
				q := store.ConversionQuery{WorkspaceID: "w", FromMS: from, ToMS: to, Type: typ, Targets: targets, Days: days, Shapes: shapes}
				var got [2][]store.ConversionRow
				for i, s := range stores {
					if got[i], err = s.Conversions(ctx, q); err != nil {
						t.Fatal(err)
					}
					sortRows(got[i], func(r store.ConversionRow) string { return fmt.Sprintf("%+v", r) })
				}
				if len(got[0]) == 0 {
					t.Fatalf("no rows for %+v", q)
				}
				if diff := cmp.Diff(got[0], got[1]); diff != "" {
					t.Errorf("conversions days=%v shapes=%+v type=%v (-duckdb +clickhouse):\n%s", days, shapes, typ, diff)
				}
			}
		}
	}
	for _, typ := range []attribution.Type{attribution.ViewThrough, attribution.ClickConversions} {
		var got [2][]string
		for i, s := range stores {
			if got[i], err = s.ActiveCampaigns(ctx, "w", t0.Add(2*time.Hour).UnixMilli(), t0.Add(3*time.Hour).UnixMilli(), typ); err != nil {
				t.Fatal(err)
			}
			sort.Strings(got[i])
		}
		if diff := cmp.Diff(got[0], got[1]); diff != "" {
			t.Errorf("active campaigns %v (-duckdb +clickhouse):\n%s", typ, diff)
		}
	}
}

func sortRows[T any](rows []T, key func(T) string) {
	sort.Slice(rows, func(i, j int) bool { return key(rows[i]) < key(rows[j]) })
}
