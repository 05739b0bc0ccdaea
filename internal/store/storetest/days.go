package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// testDays checks the day split of the node queries (store.AggregateQuery.Days): every event counts on the local
// calendar date of its instant, across a DST change and in a zone whose midnight falls in a DST gap (America/Havana
// springs from 00:00 to 01:00). The expected dates come from Go's time package, one instant at a time.
func testDays(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	for _, zone := range []string{"America/New_York", "America/Havana", "Asia/Kolkata"} {
		t.Run(zone, func(t *testing.T) {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Skip(err)
			}
			wsID := "days-" + zone
			// Instants around local midnights and the 2025-03-09 spring-forward of both American zones.
			base := time.Date(2025, 3, 7, 12, 0, 0, 0, loc)
			var instants []time.Time
			for h := 0; h < 4*24; h += 5 {
				instants = append(instants, base.Add(time.Duration(h)*time.Hour))
			}
			for _, d := range []int{8, 9, 10} {
				mid := time.Date(2025, 3, d, 0, 0, 0, 0, loc)
				instants = append(instants, mid.Add(-time.Millisecond), mid, mid.Add(time.Millisecond))
			}
			var events []domain.Event
			wantSent := map[string]int64{}
			wantUsers := map[string]map[string]bool{}
			wantBuys := map[string]int64{}
			heldUsers := map[string]map[string]bool{}
			for i, at := range instants {
				user := fmt.Sprintf("u%d", i%3) // users recur across days: UNIQUE is distinct per day
				e := ev(fmt.Sprintf("%s-s%d", zone, i), 0, user, "P", domain.CounterSent)
				e.TimeMS = at.UnixMilli()
				events = append(events, e)
				date := at.In(loc).Format(time.DateOnly)
				wantSent[date]++
				if wantUsers[date] == nil {
					wantUsers[date] = map[string]bool{}
				}
				wantUsers[date][user] = true
				if i%4 == 0 {
					h := ev(fmt.Sprintf("%s-h%d", zone, i), 0, "held"+user, "P", domain.CounterHeldOutCampaign)
					h.Channels, h.Class, h.Variation, h.TimeMS = domain.AllChannelsSet(), domain.ClassHeldOut, domain.CampaignControlGroup, at.UnixMilli()
					events = append(events, h)
					if heldUsers[date] == nil {
						heldUsers[date] = map[string]bool{}
					}
					heldUsers[date]["held"+user] = true
				}
			}
			// A purchase credited at each second instant: each credit counts on its goal event's local date.
			var credits []store.Credit
			for i, at := range instants {
				if i%2 == 1 {
					continue
				}
				credits = append(credits, credit(wsID, fmt.Sprintf("%s-b%d", zone, i), "buyer", at, "P", attribution.ViewThrough,
					attribution.Regular, "android", 0))
				wantBuys[at.In(loc).Format(time.DateOnly)]++
			}
			appendEvents(t, s, wsID, events...)
			if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: credits}); err != nil {
				t.Fatal(err)
			}
			from, to := base.Add(-48*time.Hour).UnixMilli(), base.Add(7*24*time.Hour).UnixMilli()
			targets := []store.AggregateTarget{target("P", domain.ChannelPush, "P")}
			byDay := func(unique bool) map[string]int64 {
				rows, err := s.Aggregate(ctx, store.AggregateQuery{WorkspaceID: wsID, FromMS: from, ToMS: to, Unique: unique,
					Targets: targets, Days: loc})
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]int64{}
				for _, r := range rows {
					if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Metric == domain.MetricSent {
						out[store.DayDate(r.Day)] += r.Value
					}
				}
				return out
			}
			if diff := cmp.Diff(wantSent, byDay(false)); diff != "" {
				t.Errorf("TOTAL sent per local date (-want +got):\n%s", diff)
			}
			wantUnique := map[string]int64{}
			for d, us := range wantUsers {
				wantUnique[d] = int64(len(us))
			}
			if diff := cmp.Diff(wantUnique, byDay(true)); diff != "" {
				t.Errorf("UNIQUE sent per local date (-want +got):\n%s", diff)
			}
			conv, err := s.Conversions(ctx, store.ConversionQuery{WorkspaceID: wsID, FromMS: from, ToMS: to, Type: attribution.ViewThrough,
				Targets: targets, Days: loc})
			if err != nil {
				t.Fatal(err)
			}
			gotBuys := map[string]int64{}
			for _, r := range conv {
				if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Group == attribution.Regular {
					gotBuys[store.DayDate(r.Day)] += r.Total
				}
			}
			if diff := cmp.Diff(wantBuys, gotBuys); diff != "" {
				t.Errorf("credited purchases per local date (-want +got):\n%s", diff)
			}
			held, err := s.Aggregate(ctx, store.AggregateQuery{WorkspaceID: wsID, FromMS: from, ToMS: to, Unique: true, Targets: targets,
				Days: loc, Shapes: store.NodeShapes{OnlyAllPlatforms: true, OnlyAllLocales: true, OnlyAllVariations: true}})
			if err != nil {
				t.Fatal(err)
			}
			wantHeld, gotHeld := map[string]int64{}, map[string]int64{}
			for d, us := range heldUsers {
				wantHeld[d] = int64(len(us))
			}
			for _, h := range held {
				if h.AllPlatforms && h.AllLocales && h.Variation == domain.CampaignControlGroup && h.Metric == domain.MetricHeldCampaign && h.Value > 0 {
					gotHeld[store.DayDate(h.Day)] += h.Value
				}
			}
			if diff := cmp.Diff(wantHeld, gotHeld); diff != "" {
				t.Errorf("held-out users per local date (-want +got):\n%s", diff)
			}
		})
	}
}

// testSnapshot checks store.Snapshotter: a snapshot keeps answering with the data committed before it opened —
// events, credits, catalog and funnel posts — while later writes succeed and are visible to the live store, even
// when the snapshot's first read happens after them.
func testSnapshot(t *testing.T, s SnapshotStore) {
	defer s.Close()
	ctx := context.Background()
	push := domain.ChannelPush
	put := func(name string) {
		t.Helper()
		if err := s.UpdateCampaigns(ctx, "w", func([]domain.Campaign) ([]domain.Campaign, error) {
			return []domain.Campaign{{ID: "P", Explicit: domain.CampaignFields{Channel: &push, Name: &name}, HasExplicit: true,
				CreatedAt: t0, UpdatedAt: t0}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	credit := func(uuid, user string) {
		t.Helper()
		if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{credit("w", uuid, user, t0.Add(time.Hour), "P",
			attribution.ViewThrough, attribution.Regular, "android", 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	put("Before")
	appendEvents(t, s, "w", ev("a1", 0, "u1", "P", domain.CounterImpression))
	credit("b1", "u1")

	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	// Later writes: a new viewer and buyer, another viewer, a rename, a funnel post.
	appendEvents(t, s, "w", ev("a2", 0, "u2", "P", domain.CounterImpression), ev("a3", 0, "u3", "P", domain.CounterImpression))
	credit("b2", "u2")
	put("After")
	if err := s.PutFunnel(ctx, "w", []store.FunnelEntry{{CampaignID: "P", Date: "2025-03-01", Stage: "Step", Value: 5}}); err != nil {
		t.Fatal(err)
	}

	targets := []store.AggregateTarget{target("P", push, "P")}
	type view struct {
		Impressions, Credited int64
		Name                  string
		Funnel                int
	}
	read := func(r store.Reader) view {
		t.Helper()
		var v view
		rows, err := r.Aggregate(ctx, store.AggregateQuery{WorkspaceID: "w", FromMS: 0, ToMS: 1 << 62, Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			if row.AllPlatforms && row.AllLocales && row.AllVariations && row.Metric == domain.MetricImpression {
				v.Impressions += row.Value
			}
		}
		conv, err := r.Conversions(ctx, store.ConversionQuery{WorkspaceID: "w", FromMS: 0, ToMS: 1 << 62, Type: attribution.ViewThrough, Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range conv {
			if c.AllPlatforms && c.AllLocales && c.AllVariations && c.Group == attribution.Regular {
				v.Credited += c.Total
			}
		}
		cs, err := r.Campaigns(ctx, "w")
		if err != nil || len(cs) != 1 || cs[0].Explicit.Name == nil {
			t.Fatalf("campaigns: %+v %v", cs, err)
		}
		v.Name = *cs[0].Explicit.Name
		entries, err := r.FunnelEntries(ctx, "w", []string{"P"}, "2025-01-01", "2025-12-31")
		if err != nil {
			t.Fatal(err)
		}
		v.Funnel = len(entries)
		return v
	}
	if diff := cmp.Diff(view{Impressions: 1, Credited: 1, Name: "Before"}, read(snap)); diff != "" {
		t.Errorf("snapshot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(view{Impressions: 3, Credited: 2, Name: "After", Funnel: 1}, read(s)); diff != "" {
		t.Errorf("live store (-want +got):\n%s", diff)
	}
	if cs, err := snap.Campaigns(ctx, "other"); err != nil || len(cs) != 0 {
		t.Errorf("another workspace's catalog through the snapshot: %v %v", cs, err)
	}
}

// credit builds a stored credit of one goal event.
func credit(ws, uuid, user string, at time.Time, unit string, typ attribution.Type, group attribution.Group, platform string, revenue int64) store.Credit {
	return store.Credit{WorkspaceID: ws, User: domain.HashUser("uid:" + user), Credit: attribution.Credit{GoalUUID: uuid, TimeMS: at.UnixMilli(),
		Unit: unit, Goal: "Purchase", Type: typ, Group: group, Platform: platform, RevenueMicros: revenue}}
}
