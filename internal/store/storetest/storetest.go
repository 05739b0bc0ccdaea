// Package storetest is the conformance suite of the storage contract: every backend runs Run against a fresh
// store. Expected values are worked out by hand from SPEC §3.6, §4.3, §5.11 and §5.15 for small data sets.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// SnapshotStore is a backend that holds both halves of the contract and opens snapshots (the embedded store).
type SnapshotStore interface {
	store.Store
	store.Snapshotter
}

// Factory returns a fresh, empty store for one test; the suite closes it.
type Factory func(t *testing.T) SnapshotStore

// Run runs the whole suite on a backend that holds both halves of the contract and opens snapshots.
func Run(t *testing.T, newStore Factory) {
	RunMeta(t, func(t *testing.T) store.MetaStore { return newStore(t) })
	RunEvents(t, func(t *testing.T) store.EventStore { return newStore(t) })
	t.Run("Snapshot", func(t *testing.T) { testSnapshot(t, newStore(t)) })
}

// RunMeta runs the MetaStore half of the suite.
func RunMeta(t *testing.T, newStore func(t *testing.T) store.MetaStore) {
	t.Run("Workspaces", func(t *testing.T) { testWorkspaces(t, newStore(t)) })
	t.Run("Catalog", func(t *testing.T) { testCatalog(t, newStore(t)) })
	t.Run("CatalogConcurrentUpdates", func(t *testing.T) { testCatalogConcurrent(t, newStore(t)) })
	t.Run("Funnel", func(t *testing.T) { testFunnel(t, newStore(t)) })
	t.Run("Quarantine", func(t *testing.T) { testQuarantine(t, newStore(t)) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, newStore(t)) })
	runReports(t, newStore)
	runProfiles(t, newStore)
}

// RunEvents runs the EventStore half of the suite.
func RunEvents(t *testing.T, newStore func(t *testing.T) store.EventStore) {
	t.Run("EventLog", func(t *testing.T) { testEventLog(t, newStore(t)) })
	t.Run("Aggregate", func(t *testing.T) { testAggregate(t, newStore(t)) })
	t.Run("AggregateRandom", func(t *testing.T) { testAggregateRandom(t, newStore(t)) })
	t.Run("ConversionsRandom", func(t *testing.T) { testConversionsRandom(t, newStore(t)) })
	t.Run("Credits", func(t *testing.T) { testCredits(t, newStore(t)) })
	t.Run("CreditsPerUnit", func(t *testing.T) { testUnitCredits(t, newStore(t)) })
	t.Run("Conversions", func(t *testing.T) { testConversions(t, newStore(t)) })
	t.Run("Days", func(t *testing.T) { testDays(t, newStore(t)) })
}

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

func ws(id string) domain.Workspace {
	return domain.Workspace{ID: id, Name: "n-" + id, Timezone: "UTC", Status: domain.WorkspaceActive, RateLimitPerMinute: 100,
		CreatedAt: t0, ReportKey: "rk-" + id, DataKey: "dk-" + id}
}

func testWorkspaces(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	a, b := ws("aaaaaaaaaaaaaaaaaaaaaaaa"), ws("bbbbbbbbbbbbbbbbbbbbbbbb")
	b.CreatedAt = t0.Add(time.Second)
	for _, w := range []domain.Workspace{b, a} {
		if err := s.CreateWorkspace(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateWorkspace(ctx, a); !errors.Is(err, domain.ErrAlreadyExists) {
		t.Fatalf("duplicate create: got %v, want ErrAlreadyExists", err)
	}
	got, err := s.Workspace(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Fatalf("workspace round trip (-want +got):\n%s", diff)
	}
	if _, err := s.Workspace(ctx, "cccccccccccccccccccccccc"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown workspace: %v", err)
	}
	disabledAt := t0.Add(time.Hour)
	a.Status, a.DisabledAt, a.DataKey = domain.WorkspaceDisabled, &disabledAt, "rotated"
	if err := s.UpdateWorkspace(ctx, a); err != nil {
		t.Fatal(err)
	}
	// A read after the update sees it (a key rotation or suspension applies to the next request).
	if got, err := s.Workspace(ctx, a.ID); err != nil || got.DataKey != "rotated" || got.Status != domain.WorkspaceDisabled {
		t.Fatalf("workspace after update: %+v %v", got, err)
	}
	list, err := s.ListWorkspaces(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list order by created_at: %+v", list)
	}
	if list[0].DataKey != "rotated" || list[0].DisabledAt == nil || !list[0].DisabledAt.Equal(disabledAt) {
		t.Fatalf("update not stored: %+v", list[0])
	}
	active, _ := s.ListWorkspaces(ctx, domain.WorkspaceActive)
	if len(active) != 1 || active[0].ID != b.ID {
		t.Fatalf("status filter: %+v", active)
	}
}

// ev builds a push campaign event.
func ev(uuid string, at time.Duration, user, campaign string, counter domain.Counter) domain.Event {
	e := domain.Event{UUID: uuid, TimeMS: t0.Add(at).UnixMilli(), Campaign: true, UserKey: "uid:" + user, CampaignID: campaign,
		Channels: domain.ChannelSetOf(domain.ChannelPush), Counter: counter, PlatformDefault: domain.DefaultAndroid, Source: "streams"}
	switch counter {
	case domain.CounterSent:
		e.Class = domain.ClassSend
	case domain.CounterImpression:
		e.Class = domain.ClassView
	case domain.CounterClick:
		e.Class = domain.ClassClick
	}
	return e
}

// appendEvents appends events of one workspace as one batch, with their users hashed.
func appendEvents(t *testing.T, s store.EventStore, wsID string, events ...domain.Event) store.Seq {
	t.Helper()
	for i := range events {
		events[i].User = domain.HashUser(events[i].UserKey)
	}
	seq, err := s.Append(context.Background(), []store.EventBatch{{WorkspaceID: wsID, ReceivedAt: t0, Events: events}})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// target builds an aggregate target whose units all have channel ch.
func target(id string, ch domain.Channel, units ...string) store.AggregateTarget {
	t := store.AggregateTarget{ID: id}
	for _, u := range units {
		t.Units = append(t.Units, store.AggregateUnit{ID: u, Channel: ch})
	}
	return t
}

// aggregate runs one query over a wide range.
func aggregate(t *testing.T, s store.EventStore, wsID string, unique bool, targets ...store.AggregateTarget) []store.AggregateRow {
	t.Helper()
	rows, err := s.Aggregate(context.Background(), store.AggregateQuery{WorkspaceID: wsID, FromMS: t0.Add(-24 * time.Hour).UnixMilli(),
		ToMS: t0.Add(24 * time.Hour).UnixMilli(), Unique: unique, Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// pick keeps non-zero rows of the given metrics at locale l and variation v ("*" = aggregate key), keyed
// target/platform/locale/variation/metric (platform "*" for the all-platform node).
func pick(rows []store.AggregateRow, l, v string, metrics ...string) map[string]int64 {
	want := map[string]bool{}
	for _, m := range metrics {
		want[m] = true
	}
	out := map[string]int64{}
	for _, r := range rows {
		keys := nodeKeys(r.NodeRef)
		if !strings.HasSuffix(keys, "/"+l+"/"+v) || !want[r.Metric] || r.Value == 0 {
			continue // metrics without a row are zero
		}
		out[fmt.Sprintf("%s/%s/%s", r.Target, keys, r.Metric)] = r.Value
	}
	return out
}

func testAggregate(t *testing.T, s store.EventStore) {
	defer s.Close()
	ctx := context.Background()
	var events []domain.Event
	add := func(e domain.Event, locale, variation, platform string) {
		e.Locale, e.Variation, e.Platform = locale, variation, platform
		events = append(events, e)
	}
	// Parent P with child C; user u1 reached by both (UNIQUE counts u1 once in P); user u2 reached on two
	// platforms (UNIQUE counts u2 once in the all-platform node).
	add(ev("p1", 0, "u1", "P", domain.CounterSent), "en", "variation_1", "")
	add(ev("c1", 0, "u1", "C", domain.CounterSent), "en", "variation_2", "")
	add(ev("c2", 0, "u2", "C", domain.CounterSent), "fr", "variation_2", "ios")
	add(ev("c3", time.Minute, "u1", "C", domain.CounterImpression), "en", "variation_2", "")
	fail := ev("c4", 0, "u3", "C", domain.CounterFailedSend)
	fail.FailureKey = "users_removed_due_to_dnd"
	add(fail, "en", "", "")
	held := ev("c5", 0, "u4", "C", domain.CounterHeldOutCampaign)
	held.Channels, held.FailureKey = domain.AllChannelsSet(), domain.FailureKeyCampaignControlGroup
	add(held, "en", domain.CampaignControlGroup, "")
	email := ev("c6", 0, "u5", "C", domain.CounterSent)
	email.Channels = domain.ChannelSetOf(domain.ChannelEmail) // does not feed a PUSH campaign
	add(email, "", "", "")
	out := ev("c7", 48*time.Hour, "u6", "C", domain.CounterSent) // outside the range
	add(out, "", "", "")
	add(ev("c8", 0, "u2", "C", domain.CounterSent), "", "", "")
	appendEvents(t, s, "w", events...)
	parent := target("P", domain.ChannelPush, "P", "C")
	childT := target("C", domain.ChannelPush, "C")

	uniq := aggregate(t, s, "w", true, parent, childT)
	want := map[string]int64{
		"P/android/*/*/sent": 2, "P/android/*/*/attempted": 3, "P/android/*/*/failed": 1, "P/android/*/*/impression": 1,
		"P/ios/*/*/sent": 1, "P/ios/*/*/attempted": 1,
		"P/*/*/*/sent": 2, "P/*/*/*/attempted": 3, "P/*/*/*/failed": 1, "P/*/*/*/impression": 1,
		"C/android/*/*/sent": 2, "C/android/*/*/attempted": 3, "C/android/*/*/failed": 1, "C/android/*/*/impression": 1,
		"C/ios/*/*/sent": 1, "C/ios/*/*/attempted": 1,
		"C/*/*/*/sent": 2, "C/*/*/*/attempted": 3, "C/*/*/*/failed": 1, "C/*/*/*/impression": 1,
		// Held-out rows under all_variations only mark that the node exists (store.Aggregator.Aggregate).
		"P/android/*/*/held_out_campaign": 1, "C/android/*/*/held_out_campaign": 1,
		"P/*/*/*/held_out_campaign": 1, "C/*/*/*/held_out_campaign": 1,
	}
	metrics := []string{domain.MetricSent, domain.MetricAttempted, domain.MetricFailed, domain.MetricImpression, domain.MetricHeldCampaign}
	if diff := cmp.Diff(want, pick(uniq, "*", "*", metrics...)); diff != "" {
		t.Fatalf("UNIQUE all/all (-want +got):\n%s", diff)
	}
	total := aggregate(t, s, "w", false, parent)
	want = map[string]int64{"P/*/*/*/sent": 4, "P/*/*/*/attempted": 5, "P/*/*/*/failed": 1, "P/*/*/*/impression": 1,
		"P/*/*/*/held_out_campaign": 1, "P/android/*/*/sent": 3, "P/android/*/*/attempted": 4, "P/android/*/*/failed": 1,
		"P/android/*/*/impression": 1, "P/android/*/*/held_out_campaign": 1, "P/ios/*/*/sent": 1, "P/ios/*/*/attempted": 1}
	if diff := cmp.Diff(want, pick(total, "*", "*", metrics...)); diff != "" {
		t.Fatalf("TOTAL all/all (-want +got):\n%s", diff)
	}
	want = map[string]int64{"P/android/en/variation_1/sent": 1, "P/android/en/variation_1/attempted": 1,
		"P/*/en/variation_1/sent": 1, "P/*/en/variation_1/attempted": 1}
	if diff := cmp.Diff(want, pick(total, "en", "variation_1", metrics...)); diff != "" {
		t.Fatalf("TOTAL en/variation_1 (-want +got):\n%s", diff)
	}
	want = map[string]int64{"P/android/en/*/sent": 2, "P/android/en/*/attempted": 3, "P/android/en/*/failed": 1, "P/android/en/*/impression": 1,
		"P/android/en/*/held_out_campaign": 1, "P/*/en/*/sent": 2, "P/*/en/*/attempted": 3, "P/*/en/*/failed": 1,
		"P/*/en/*/impression": 1, "P/*/en/*/held_out_campaign": 1}
	if diff := cmp.Diff(want, pick(total, "en", "*", metrics...)); diff != "" {
		t.Fatalf("TOTAL en/all (-want +got):\n%s", diff)
	}
	want = map[string]int64{"P/android/en/campaign_control_group/held_out_campaign": 1, "P/*/en/campaign_control_group/held_out_campaign": 1}
	if diff := cmp.Diff(want, pick(total, "en", domain.CampaignControlGroup, metrics...)); diff != "" {
		t.Fatalf("held-out node (-want +got):\n%s", diff)
	}
	fb := pick(total, "*", "*", domain.FailurePrefix+"users_removed_due_to_dnd")
	if fb["P/android/*/*/failure:users_removed_due_to_dnd"] != 1 || fb["P/*/*/*/failure:users_removed_due_to_dnd"] != 1 {
		t.Fatalf("failure breakdown: %v", fb)
	}
	// Channel decides the platform: as an EMAIL campaign, only the email-only event feeds, under "EMAIL".
	asEmail := aggregate(t, s, "w", false, target("C", domain.ChannelEmail, "C"))
	want = map[string]int64{"C/EMAIL/*/*/sent": 1, "C/EMAIL/*/*/attempted": 1, "C/EMAIL/*/*/held_out_campaign": 1,
		"C/*/*/*/sent": 1, "C/*/*/*/attempted": 1, "C/*/*/*/held_out_campaign": 1}
	if diff := cmp.Diff(want, pick(asEmail, "*", "*", metrics...)); diff != "" {
		t.Fatalf("EMAIL channel (-want +got):\n%s", diff)
	}
	// Counter-less events create no node (SPEC §12.3); held-out events feed every channel, UNKNOWN included.
	appendEvents(t, s, "w",
		func() domain.Event { e := ev("x1", 0, "u1", "Q", domain.CounterNone); e.Platform = "ios"; return e }(),
		func() domain.Event {
			e := ev("x2", 0, "u2", "H", domain.CounterHeldOutGlobal)
			e.Channels, e.Variation, e.Platform = domain.AllChannelsSet(), domain.GlobalControlGroup, "web"
			return e
		}())
	for _, unique := range []bool{false, true} {
		rows := aggregate(t, s, "w", unique, target("Q", domain.ChannelPush, "Q"), target("H", domain.ChannelUnknown, "H"))
		got := map[string]int64{}
		for _, r := range rows {
			if r.Value != 0 && r.AllLocales {
				p := r.Platform
				if r.AllPlatforms {
					p = "*"
				}
				got[fmt.Sprintf("%s/%s/%s/%s", r.Target, p, r.Variation, r.Metric)] = r.Value
			}
		}
		want := map[string]int64{"H/web/global_control_group/held_out_global": 1, "H/web//held_out_global": 1,
			"H/*/global_control_group/held_out_global": 1, "H/*//held_out_global": 1}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("node rules, unique=%v (-want +got):\n%s", unique, diff)
		}
		for _, r := range rows {
			if r.Target == "Q" {
				t.Fatalf("a counter-less event created a node: %+v", r)
			}
		}
	}
	// Units keep their own channel inside one target (a parent with a child of another channel).
	mixed := aggregate(t, s, "w", false, store.AggregateTarget{ID: "M", Units: []store.AggregateUnit{{ID: "C", Channel: domain.ChannelEmail}, {ID: "P", Channel: domain.ChannelPush}}})
	want = map[string]int64{"M/EMAIL/*/*/sent": 1, "M/android/*/*/sent": 1, "M/*/*/*/sent": 2}
	if diff := cmp.Diff(want, pick(mixed, "*", "*", domain.MetricSent)); diff != "" {
		t.Fatalf("per-unit channels (-want +got):\n%s", diff)
	}

	active, err := s.ActiveCampaigns(ctx, "w", t0.Add(-time.Hour).UnixMilli(), t0.Add(time.Hour).UnixMilli(), attribution.ViewThrough)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(active)
	if diff := cmp.Diff([]string{"C", "H", "P", "Q"}, active); diff != "" {
		t.Fatalf("active campaigns (-want +got):\n%s", diff)
	}
}

func testFunnel(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	e := store.FunnelEntry{CampaignID: "c1", Date: "2025-03-01", Platform: "android", Stage: "after_fc", Value: 10}
	if err := s.PutFunnel(ctx, "w", []store.FunnelEntry{e}); err != nil {
		t.Fatal(err)
	}
	e.Value = 7 // set, not add
	e2 := e
	e2.Date, e2.Value = "2025-03-05", 3
	if err := s.PutFunnel(ctx, "w", []store.FunnelEntry{e, e2}); err != nil {
		t.Fatal(err)
	}
	got, err := s.FunnelEntries(ctx, "w", []string{"c1", "c2"}, "2025-03-01", "2025-03-02")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.FunnelEntry{e}, got); diff != "" {
		t.Fatalf("funnel entries (-want +got):\n%s", diff)
	}
}

func testQuarantine(t *testing.T, s store.MetaStore) {
	defer s.Close()
	ctx := context.Background()
	var recs []store.QuarantineRecord
	for i := 0; i < 5; i++ {
		recs = append(recs, store.QuarantineRecord{ID: fmt.Sprintf("%024d", i), WorkspaceID: "w", ReceivedAt: t0.Add(time.Duration(i) * time.Minute),
			RequestID: "r", Endpoint: "streams", Index: i, EventUUID: fmt.Sprint("u", i), Reason: fmt.Sprint("reason ", i%2),
			Payload: []byte(fmt.Sprintf(`{"i":%d}`, i))})
	}
	if err := s.AddQuarantine(ctx, recs); err != nil {
		t.Fatal(err)
	}
	page, next, err := s.ListQuarantine(ctx, "w", store.QuarantineFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 2 || page[0].Index != 4 || page[1].Index != 3 || next == "" || page[0].Payload != nil {
		t.Fatalf("first page: %+v next %q", page, next)
	}
	page, next, _ = s.ListQuarantine(ctx, "w", store.QuarantineFilter{Limit: 2, Cursor: next})
	if len(page) != 2 || page[0].Index != 2 || page[1].Index != 1 {
		t.Fatalf("second page: %+v", page)
	}
	page, next, _ = s.ListQuarantine(ctx, "w", store.QuarantineFilter{Limit: 2, Cursor: next})
	if len(page) != 1 || page[0].Index != 0 || next != "" {
		t.Fatalf("last page: %+v next %q", page, next)
	}
	page, _, _ = s.ListQuarantine(ctx, "w", store.QuarantineFilter{Limit: 10, Reason: "reason 1"})
	if len(page) != 2 {
		t.Fatalf("reason filter: %+v", page)
	}
	got, err := s.GetQuarantine(ctx, "w", recs[3].ID)
	if err != nil || string(got.Payload) != `{"i":3}` {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := s.DeleteQuarantine(ctx, "w", recs[3].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetQuarantine(ctx, "w", recs[3].ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("deleted record: %v", err)
	}
	n, err := s.PurgeQuarantine(ctx, "w", t0.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("purge: %d %v", n, err)
	}
	if c, _ := s.CountQuarantine(ctx); c != 2 {
		t.Fatalf("count after purge = %d, want 2", c)
	}
}
