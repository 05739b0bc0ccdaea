package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// testEventLog checks store.EventLog: Seqs increase in append order, every field reads back, the dedup helpers
// find stored uuids per workspace, and user events are found by name.
func testEventLog(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	if wm, err := s.Watermark(ctx); err != nil || wm != 0 {
		t.Fatalf("empty log watermark %d %v", wm, err)
	}
	full := ev("e1", 0, "u1", "c1", domain.CounterClick)
	full.Code, full.Name, full.ParentCampaignID, full.Platform, full.Locale, full.Variation = "NOTIFICATION_CLICKED_MOE", "Clicked", "p1", "ios", "en", "variation_2"
	full.FailureKey, full.CampaignName, full.InferredChannel, full.DeliveryType = "fk", "Name", domain.ChannelPush, domain.DeliveryPeriodic
	full.Tags, full.HasTags = []string{"a", "b"}, true
	buy := domain.Event{UUID: "g1", TimeMS: t0.Add(time.Hour).UnixMilli(), Name: "Purchase", Code: "PURCHASE", UserKey: "uid:u1",
		Attributes: json.RawMessage(`{"amount":1.5}`), Source: "track"}
	other := domain.Event{UUID: "x1", TimeMS: t0.UnixMilli(), Name: "App Opened", UserKey: "uid:u2", Source: "streams"}
	first := appendEvents(t, s, "w", full, buy)
	second := appendEvents(t, s, "w2", ev("e1", 0, "u1", "c1", domain.CounterSent), other)
	if first != 2 || second != 4 {
		t.Fatalf("watermarks after the appends: %d, %d; want 2, 4", first, second)
	}
	if wm, _ := s.Watermark(ctx); wm != 4 {
		t.Fatalf("watermark %d, want 4", wm)
	}
	got, err := s.ReadEvents(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("read %d events, want 4", len(got))
	}
	wantFull := full
	wantFull.UserKey, wantFull.User = "", domain.HashUser("uid:u1")
	if diff := cmp.Diff(store.StoredEvent{WorkspaceID: "w", Seq: 1, ReceivedAtMS: t0.UnixMilli(), Event: wantFull}, got[0]); diff != "" {
		t.Errorf("campaign event round trip (-want +got):\n%s", diff)
	}
	wantBuy := buy
	wantBuy.UserKey, wantBuy.User = "", domain.HashUser("uid:u1")
	if diff := cmp.Diff(store.StoredEvent{WorkspaceID: "w", Seq: 2, ReceivedAtMS: t0.UnixMilli(), Event: wantBuy}, got[1]); diff != "" {
		t.Errorf("user event round trip (-want +got):\n%s", diff)
	}
	if got[2].WorkspaceID != "w2" || got[2].Seq != 3 || got[3].Seq != 4 {
		t.Errorf("order: %+v", got[2:])
	}
	if rest, err := s.ReadEvents(ctx, 3, 10); err != nil || len(rest) != 1 || rest[0].UUID != "x1" {
		t.Errorf("read after 3: %+v %v", rest, err)
	}
	if page, err := s.ReadEvents(ctx, 0, 3); err != nil || len(page) != 3 {
		t.Errorf("limit: %d %v", len(page), err)
	}
	found, err := s.StoredUUIDs(ctx, "w", []string{"e1", "x1", "g1", "nope"})
	if err != nil || !cmp.Equal(map[string]bool{"e1": true, "g1": true}, found) {
		t.Errorf("stored uuids of w: %v %v", found, err)
	}
	var hashes []uint64
	if err := s.UUIDHashes(ctx, func(hs []uint64) error { hashes = append(hashes, hs...); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(hashes)
	want := []uint64{store.UUIDHash("w", "e1"), store.UUIDHash("w", "g1"), store.UUIDHash("w2", "e1"), store.UUIDHash("w2", "x1")}
	slices.Sort(want)
	if !slices.Equal(want, hashes) {
		t.Errorf("uuid hashes %x, want %x", hashes, want)
	}
	var named []string
	if err := s.UserEventsNamed(ctx, "w", []string{"PURCHASE", "App Opened"}, func(evs []store.StoredEvent) error {
		for _, e := range evs {
			named = append(named, e.UUID)
		}
		return nil
	}); err != nil || !slices.Equal([]string{"g1"}, named) {
		t.Errorf("user events named: %v %v", named, err)
	}
}

// testCredits checks store.Credits: replacing a goal event's credits, rebuilding a workspace, and the progress
// recorded with them.
func testCredits(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	if p, err := s.Progress(ctx); err != nil || p != 0 {
		t.Fatalf("initial progress %d %v", p, err)
	}
	target := []store.AggregateTarget{target("P", domain.ChannelPush, "P")}
	total := func(ws string) int64 {
		t.Helper()
		rows, err := s.Conversions(ctx, store.ConversionQuery{WorkspaceID: ws, FromMS: 0, ToMS: 1 << 62, Type: attribution.ViewThrough, Targets: target})
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, r := range rows {
			if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Group == attribution.Regular {
				n += r.Total
			}
		}
		return n
	}
	c := func(ws, uuid string) store.Credit {
		return credit(ws, uuid, "u1", t0, "P", attribution.ViewThrough, attribution.Regular, "android", 0)
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: []store.Credit{c("w", "g1"), c("w", "g2"), c("w2", "g1")}, Progress: 7}); err != nil {
		t.Fatal(err)
	}
	if total("w") != 2 || total("w2") != 1 {
		t.Fatalf("after the first update: %d, %d", total("w"), total("w2"))
	}
	// Replacing g1's credits of w with none leaves g2 and w2's g1.
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1"}}}); err != nil {
		t.Fatal(err)
	}
	if total("w") != 1 || total("w2") != 1 {
		t.Fatalf("after a replace: %d, %d", total("w"), total("w2"))
	}
	if p, _ := s.Progress(ctx); p != 7 {
		t.Fatalf("progress %d, want 7 (an update without Progress keeps it)", p)
	}
	// A replacement removes the credits stored before it, not those of its own update, nor of later ones.
	for i, want := range []int64{2, 2} {
		extra := c("w", "g2")
		extra.Goal = fmt.Sprint("again", i) // a second goal of g2: one more conversion under P
		if err := s.ApplyCredits(ctx, store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g2"}},
			Credits: []store.Credit{c("w", "g2"), extra}}); err != nil {
			t.Fatal(err)
		}
		if got := total("w"); got != want {
			t.Fatalf("after replacing g2 by two credits (round %d): %d, want %d", i, got, want)
		}
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g2"}}, Credits: []store.Credit{c("w", "g2")}}); err != nil {
		t.Fatal(err)
	}
	if total("w") != 1 || total("w2") != 1 {
		t.Fatalf("after replacing g2 by one credit: %d, %d", total("w"), total("w2"))
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Rebuild: []string{"w"}, Credits: []store.Credit{c("w", "g3")}, Progress: 9}); err != nil {
		t.Fatal(err)
	}
	if total("w") != 1 || total("w2") != 1 {
		t.Fatalf("after a rebuild: %d, %d", total("w"), total("w2"))
	}
	if p, _ := s.Progress(ctx); p != 9 {
		t.Fatalf("progress %d, want 9", p)
	}
	active, err := s.ActiveCampaigns(ctx, "w", t0.Add(-time.Minute).UnixMilli(), t0.Add(time.Minute).UnixMilli(), attribution.ClickThrough)
	if err != nil || len(active) != 0 {
		t.Fatalf("a view-through credit selects nothing under click-through: %v %v", active, err)
	}
	if active, err = s.ActiveCampaigns(ctx, "w", t0.Add(-time.Minute).UnixMilli(), t0.Add(time.Minute).UnixMilli(), attribution.ViewThrough); err != nil || !slices.Equal([]string{"P"}, active) {
		t.Fatalf("a credit in range selects its unit: %v %v", active, err)
	}
}

// testUnitCredits checks replacements limited to one unit's credits of a goal event (store.GoalRef.Unit): they
// remove that unit's credits stored before them and nothing else — not the goal event's other units, not the
// unit's credits of other goal events or workspaces — and a whole replacement still removes every unit's.
func testUnitCredits(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	targets := []store.AggregateTarget{target("P", domain.ChannelPush, "P"), target("Q", domain.ChannelPush, "Q")}
	// totals returns the regular conversions of P and Q in workspace ws (every node, each goal event once).
	totals := func(ws string) [2]int64 {
		t.Helper()
		rows, err := s.Conversions(ctx, store.ConversionQuery{WorkspaceID: ws, FromMS: 0, ToMS: 1 << 62, Type: attribution.ViewThrough, Targets: targets})
		if err != nil {
			t.Fatal(err)
		}
		var n [2]int64
		for _, r := range rows {
			if r.AllPlatforms && r.AllLocales && r.AllVariations && r.Group == attribution.Regular {
				n[strings.Index("PQ", r.Target)] += r.Total
			}
		}
		return n
	}
	c := func(ws, uuid, unit, goal string) store.Credit {
		cr := credit(ws, uuid, "u1", t0, unit, attribution.ViewThrough, attribution.Regular, "android", 0)
		cr.Goal = goal
		return cr
	}
	apply := func(u store.CreditUpdate) {
		t.Helper()
		if err := s.ApplyCredits(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	check := func(stage string, ws string, want [2]int64) {
		t.Helper()
		if got := totals(ws); got != want {
			t.Fatalf("%s: conversions of P, Q in %s = %v, want %v", stage, ws, got, want)
		}
	}
	// g1 credited to P and to Q (two goals under Q), g2 to Q; w2's g1 to Q.
	apply(store.CreditUpdate{Credits: []store.Credit{c("w", "g1", "P", "Purchase"), c("w", "g1", "Q", "Purchase"),
		c("w", "g1", "Q", "Sign Up"), c("w", "g2", "Q", "Purchase"), c("w2", "g1", "Q", "Purchase")}})
	check("stored", "w", [2]int64{1, 3})
	// g1's credits under Q replaced by one: P's credit of g1, g2's and w2's stay.
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1", Unit: "Q"}}, Credits: []store.Credit{c("w", "g1", "Q", "Purchase")}})
	check("g1 replaced under Q", "w", [2]int64{1, 2})
	check("w2 after w's g1 replaced under Q", "w2", [2]int64{0, 1})
	// Under a unit it has no credits for: nothing changes.
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g2", Unit: "P"}}})
	check("g2 replaced under P", "w", [2]int64{1, 2})
	// g1's credits under P removed; a later update's credits are not removed by an earlier replacement.
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1", Unit: "P"}}})
	check("g1 removed under P", "w", [2]int64{0, 2})
	apply(store.CreditUpdate{Credits: []store.Credit{c("w", "g1", "P", "Purchase")}})
	check("g1 credited under P again", "w", [2]int64{1, 2})
	// A whole replacement of g1 removes both units' credits, whichever way they were written.
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1"}}, Credits: []store.Credit{c("w", "g1", "Q", "Sign Up")}})
	check("g1 replaced whole", "w", [2]int64{0, 2})
	// A unit replacement after a whole one removes only what it covers.
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1", Unit: "P"}, {WorkspaceID: "w", UUID: "g2", Unit: "Q"}}})
	check("g1 under P and g2 under Q replaced", "w", [2]int64{0, 1})
	check("unchanged", "w2", [2]int64{0, 1})
	// A unit replacement removes the credits a whole replacement wrote under that unit, and keeps later ones.
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1", Unit: "Q"}}})
	check("g1 removed under Q after its whole replacement", "w", [2]int64{0, 0})
	apply(store.CreditUpdate{Replace: []store.GoalRef{{WorkspaceID: "w", UUID: "g1", Unit: "Q"}}, Credits: []store.Credit{c("w", "g1", "Q", "Purchase")}})
	check("g1 replaced under Q again", "w", [2]int64{0, 1})
	check("unchanged at the end", "w2", [2]int64{0, 1})
}

// testConversions checks the aggregation of credits per node (SPEC §5.12, §12.1): a goal event counts once per
// node, also when it is credited to two units of a target on two platforms (the ALL_PLATFORMS node); control-group
// credits count under every attribution type and only in their control-group nodes; revenue is the goal events'.
func testConversions(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	cr := func(uuid, user, unit string, typ attribution.Type, group attribution.Group, platform, locale, variation string, revenue int64) store.Credit {
		c := credit("w", uuid, user, t0, unit, typ, group, platform, revenue)
		c.Locale, c.Variation = locale, variation
		return c
	}
	credits := []store.Credit{
		// g1 by u1 credited to both children of P: on ios through C1, on android through C2.
		cr("g1", "u1", "C1", attribution.ViewThrough, attribution.Regular, "ios", "en", "variation_1", 10_500_000),
		cr("g1", "u1", "C2", attribution.ViewThrough, attribution.Regular, "android", "en", "variation_1", 10_500_000),
		cr("g2", "u2", "C1", attribution.ViewThrough, attribution.Regular, "ios", "fr", "", 2_000_000),
		cr("g2", "u2", "C1", attribution.ClickThrough, attribution.Regular, "ios", "fr", "", 2_000_000),
		// A held-out buyer: a control-group credit (type None) counts under every type.
		cr("g3", "u3", "C1", attribution.None, attribution.CampaignControl, "unknown", "", "", 5_000_000),
	}
	if err := s.ApplyCredits(ctx, store.CreditUpdate{Credits: credits}); err != nil {
		t.Fatal(err)
	}
	targets := []store.AggregateTarget{{ID: "P", Units: []store.AggregateUnit{{ID: "P", Channel: domain.ChannelPush},
		{ID: "C1", Channel: domain.ChannelPush}, {ID: "C2", Channel: domain.ChannelPush}}}}
	conv := func(at attribution.Type, shapes store.NodeShapes) map[string][3]int64 {
		t.Helper()
		rows, err := s.Conversions(ctx, store.ConversionQuery{WorkspaceID: "w", FromMS: t0.Add(-time.Hour).UnixMilli(),
			ToMS: t0.Add(time.Hour).UnixMilli(), Type: at, Targets: targets, Shapes: shapes})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][3]int64{}
		for _, r := range rows {
			p, l, v := r.Platform, r.Locale, r.Variation
			if r.AllPlatforms {
				p = "*"
			}
			if r.AllLocales {
				l = "*"
			}
			if r.AllVariations {
				v = "*"
			}
			key := fmt.Sprintf("%s/%s/%s/%s/%s/%s", r.Target, p, l, v, r.Group, r.Goal)
			if _, dup := out[key]; dup {
				t.Errorf("two rows for %s", key)
			}
			out[key] = [3]int64{r.Total, r.Unique, r.RevenueMicros}
		}
		return out
	}
	vt := conv(attribution.ViewThrough, store.NodeShapes{})
	for key, want := range map[string][3]int64{
		"P/*/*/*/regular/Purchase":                                           {2, 2, 12_500_000}, // g1 once, g2
		"P/ios/*/*/regular/Purchase":                                         {2, 2, 12_500_000},
		"P/android/*/*/regular/Purchase":                                     {1, 1, 10_500_000},
		"P/*/en/*/regular/Purchase":                                          {1, 1, 10_500_000},
		"P/*/en/variation_1/regular/Purchase":                                {1, 1, 10_500_000},
		"P/*/*/variation_1/regular/Purchase":                                 {1, 1, 10_500_000},
		"P/*/*/campaign_control_group/campaign_control_group/Purchase":       {1, 1, 5_000_000},
		"P/unknown/*/campaign_control_group/campaign_control_group/Purchase": {1, 1, 5_000_000},
	} {
		if got := vt[key]; got != want {
			t.Errorf("view-through %s = %v, want %v", key, got, want)
		}
	}
	ct := conv(attribution.ClickThrough, store.NodeShapes{})
	if got := ct["P/*/*/*/regular/Purchase"]; got != [3]int64{1, 1, 2_000_000} {
		t.Errorf("click-through all nodes = %v, want g2 only", got)
	}
	if got := ct["P/*/*/campaign_control_group/campaign_control_group/Purchase"]; got != [3]int64{1, 1, 5_000_000} {
		t.Errorf("control-group credit under click-through = %v", got)
	}
	// With every dimension rolled up, the all-platform control-group node is still computed (the uplift base).
	only := conv(attribution.ViewThrough, store.NodeShapes{OnlyAllPlatforms: true, OnlyAllLocales: true, OnlyAllVariations: true})
	if got := only["P/*/*/campaign_control_group/campaign_control_group/Purchase"]; got != [3]int64{1, 1, 5_000_000} {
		t.Errorf("control-group node with rolled-up shapes = %v", got)
	}
	for key := range only {
		if key[2] != '*' {
			t.Errorf("a specific platform with OnlyAllPlatforms: %s", key)
		}
	}
}

// testCatalog checks store.Catalog: UpdateCampaigns stores what update returns, update sees the stored catalog, and
// an error stores nothing.
func testCatalog(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	name := "First"
	push := domain.ChannelPush
	rec := domain.Campaign{ID: "c1", Explicit: domain.CampaignFields{Name: &name, Channel: &push}, HasExplicit: true, CreatedAt: t0, UpdatedAt: t0}
	rec.Inferred.Name.Offer("Inferred", 5, "u")
	if err := s.UpdateCampaigns(ctx, "w", func(cur []domain.Campaign) ([]domain.Campaign, error) {
		if len(cur) != 0 {
			t.Errorf("empty catalog: %+v", cur)
		}
		return []domain.Campaign{rec}, nil
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := s.Campaigns(ctx, "w")
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns: %+v %v", cs, err)
	}
	if diff := cmp.Diff(rec, cs[0]); diff != "" {
		t.Fatalf("record round trip (-want +got):\n%s", diff)
	}
	errStop := fmt.Errorf("refused")
	if err := s.UpdateCampaigns(ctx, "w", func(cur []domain.Campaign) ([]domain.Campaign, error) {
		return []domain.Campaign{{ID: "c2", CreatedAt: t0, UpdatedAt: t0}}, errStop
	}); err != errStop {
		t.Fatalf("update error: %v", err)
	}
	if cs, _ := s.Campaigns(ctx, "w"); len(cs) != 1 {
		t.Fatalf("a failed update stored %+v", cs)
	}
	if cs, _ := s.Campaigns(ctx, "other"); len(cs) != 0 {
		t.Fatalf("another workspace: %+v", cs)
	}
	// One write of new ids sorting before and after a stored one, and the stored one again: Campaigns returns each
	// id once, with its last record, sorted by id.
	renamed := "Renamed"
	write := []domain.Campaign{{ID: "a1", CreatedAt: t0, UpdatedAt: t0}, {ID: "b1", CreatedAt: t0, UpdatedAt: t0},
		{ID: "d1", CreatedAt: t0, UpdatedAt: t0}, rec}
	write[3].Explicit.Name = &renamed
	if err := s.UpdateCampaigns(ctx, "w", func([]domain.Campaign) ([]domain.Campaign, error) { return write, nil }); err != nil {
		t.Fatal(err)
	}
	cs, err = s.Campaigns(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		n := ""
		if c.Explicit.Name != nil {
			n = *c.Explicit.Name
		}
		got = append(got, c.ID+"="+n)
	}
	if want := []string{"a1=", "b1=", "c1=Renamed", "d1="}; !slices.Equal(got, want) {
		t.Fatalf("catalog after a write of new and stored ids: %v, want %v", got, want)
	}
}

// testCatalogConcurrent checks that concurrent read-modify-writes of one workspace's catalog are serialised: every
// one of many concurrent updates, each adding one tag to the record it read, is kept.
func testCatalogConcurrent(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	const n = 16
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := s.UpdateCampaigns(ctx, "w", func(cur []domain.Campaign) ([]domain.Campaign, error) {
				c := domain.Campaign{ID: "c1", CreatedAt: t0, UpdatedAt: t0, HasExplicit: true}
				var tags []string
				for _, old := range cur {
					if old.ID == "c1" && old.Explicit.Tags != nil {
						c, tags = old, append(tags, *old.Explicit.Tags...)
					}
				}
				tags = append(tags, fmt.Sprint("t", i))
				c.Explicit.Tags = &tags
				time.Sleep(time.Millisecond) // widen the read-modify-write window
				return []domain.Campaign{c}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	cs, err := s.Campaigns(ctx, "w")
	if err != nil || len(cs) != 1 || cs[0].Explicit.Tags == nil || len(*cs[0].Explicit.Tags) != n {
		t.Fatalf("after %d concurrent updates: %+v %v", n, cs, err)
	}
}

// testIdempotency checks the stored first responses of Idempotency-Keys (SPEC §3.10).
func testIdempotency(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	r := store.IdempotentResponse{Endpoint: "/v1/event", Key: "k1", Status: 200, Body: []byte(`{"ok":1}`), RequestID: "rid", CreatedAt: t0}
	if err := s.PutIdempotentResponse(ctx, "w", r); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.IdempotentResponse(ctx, "w", "/v1/event", "k1", t0.Add(-time.Hour))
	if err != nil || !ok || !cmp.Equal(r, got) {
		t.Fatalf("stored response: %+v %t %v", got, ok, err)
	}
	for _, c := range []struct{ ws, endpoint, key string }{{"w2", "/v1/event", "k1"}, {"w", "/v1/transition", "k1"}, {"w", "/v1/event", "k2"}} {
		if _, ok, _ := s.IdempotentResponse(ctx, c.ws, c.endpoint, c.key, t0.Add(-time.Hour)); ok {
			t.Errorf("scope %+v found a response", c)
		}
	}
	if _, ok, _ := s.IdempotentResponse(ctx, "w", "/v1/event", "k1", t0.Add(time.Second)); ok {
		t.Errorf("a response older than since was returned")
	}
	if n, err := s.PurgeIdempotency(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("purge: %d %v", n, err)
	}
}
