package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/campaignstats/campaignstats/internal/attribution"
	"github.com/campaignstats/campaignstats/internal/domain"
	"github.com/campaignstats/campaignstats/internal/store"
)

// testConversions checks that credits are maintained by Append and PutCampaigns and aggregated per node
// (SPEC §6, §5.12): a viewer who buys is credited under view-through but not click-through; a held-out buyer is
// credited to the control group under every type; a goal added later by PUT rebuilds the credits.
func testConversions(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	push := domain.ChannelPush
	goals := &domain.GoalDetails{Goals: []domain.Goal{{Name: "Purchase", EventName: "Purchase", RevenueAttribute: "amount"}}}
	if err := s.PutCampaigns(ctx, "w", []domain.Campaign{{ID: "P", Explicit: domain.CampaignFields{Channel: &push, Goals: goals}, HasExplicit: true,
		CreatedAt: t0, UpdatedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	view := ev("i1", 0, "u1", "P", domain.CounterImpression)
	view.Platform, view.Locale, view.Variation = "ios", "en", "variation_1"
	held := ev("h1", 0, "u2", "P", domain.CounterHeldOutCampaign)
	held.Channels, held.Class, held.Variation = domain.AllChannelsSet(), domain.ClassHeldOut, domain.CampaignControlGroup
	held.PlatformDefault = domain.DefaultUnknown // control-group codes: platform from attributes, else unknown
	buy := func(uuid, user string, at time.Duration, amount string) domain.Event {
		return domain.Event{UUID: uuid, TimeMS: t0.Add(at).UnixMilli(), Name: "Purchase", UserKey: "uid:" + user,
			Attributes: json.RawMessage(`{"amount":` + amount + `}`), Source: "track"}
	}
	// The purchases arrive before the interactions that explain them: credits must not depend on arrival order.
	for _, batch := range [][]domain.Event{{buy("b1", "u1", time.Hour, "10.5"), buy("b2", "u2", 2*time.Hour, "5")}, {view, held}} {
		if _, err := s.Append(ctx, store.Batch{WorkspaceID: "w", ReceivedAt: t0, Events: batch}); err != nil {
			t.Fatal(err)
		}
	}
	target := []store.AggregateTarget{target("P", push, "P")}
	conv := func(at attribution.Type) map[string][3]int64 {
		rows, err := s.Conversions(ctx, store.ConversionQuery{WorkspaceID: "w", FromMS: t0.Add(-time.Hour).UnixMilli(),
			ToMS: t0.Add(24 * time.Hour).UnixMilli(), Type: at, Targets: target})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][3]int64{}
		for _, r := range rows {
			node := r.AllLocales && ((r.Group == attribution.Regular && r.AllVariations) ||
				(r.Group != attribution.Regular && !r.AllVariations && r.Variation == r.Group.String()))
			if node {
				key := r.Platform + "/" + r.Group.String()
				if r.AllPlatforms {
					key = "*/" + r.Group.String()
				}
				out[key+"/"+r.Goal] = [3]int64{r.Total, r.Unique, r.RevenueMicros}
			}
		}
		return out
	}
	want := map[string][3]int64{
		"ios/regular/Purchase":                    {1, 1, 10_500_000},
		"unknown/campaign_control_group/Purchase": {1, 1, 5_000_000},
		"*/regular/Purchase":                      {1, 1, 10_500_000},
		"*/campaign_control_group/Purchase":       {1, 1, 5_000_000},
	}
	if diff := cmp.Diff(want, conv(attribution.ViewThrough)); diff != "" {
		t.Fatalf("view-through (-want +got):\n%s", diff)
	}
	delete(want, "ios/regular/Purchase")
	delete(want, "*/regular/Purchase")
	if diff := cmp.Diff(want, conv(attribution.ClickThrough)); diff != "" {
		t.Fatalf("click-through: no click, only the control-group credit (-want +got):\n%s", diff)
	}
	// The all-platform control-group node (the uplift base of SPEC §5.12): distinct held-out users over every
	// platform and locale, whatever metrics are asked for and even when the shapes leave out specific platforms,
	// locales and variations.
	for _, metrics := range [][]string{nil, {domain.MetricOpened, domain.MetricHeldCampaign, domain.MetricHeldGlobal}} {
		for _, shapes := range []store.NodeShapes{{}, {OnlyAllPlatforms: true, OnlyAllLocales: true, OnlyAllVariations: true}} {
			rows, err := s.Aggregate(ctx, store.AggregateQuery{WorkspaceID: "w", FromMS: 0, ToMS: 1 << 62, Unique: true, Targets: target,
				Metrics: metrics, Shapes: shapes})
			if err != nil {
				t.Fatal(err)
			}
			var wide []store.AggregateRow
			for _, r := range rows {
				if r.AllPlatforms && r.AllLocales && !r.AllVariations && r.Variation == domain.CampaignControlGroup && isHeldOutMetric(r.Metric) {
					wide = append(wide, r)
				}
			}
			ref := store.NodeRef{Target: "P", AllPlatforms: true, AllLocales: true, Variation: domain.CampaignControlGroup}
			want := []store.AggregateRow{{NodeRef: ref, Metric: domain.MetricHeldCampaign, Value: 1}}
			if diff := cmp.Diff(want, nonZero(wide)); diff != "" {
				t.Fatalf("all-platform control-group node, metrics %v, shapes %+v (-want +got):\n%s", metrics, shapes, diff)
			}
		}
	}
	// A second goal written later by PUT applies to past events (SPEC §3.6: stats follow the current catalog).
	goals2 := &domain.GoalDetails{Goals: append(goals.Goals, domain.Goal{Name: "Any purchase", EventName: "Purchase"})}
	if err := s.PutCampaigns(ctx, "w", []domain.Campaign{{ID: "P", Explicit: domain.CampaignFields{Channel: &push, Goals: goals2}, HasExplicit: true,
		CreatedAt: t0, UpdatedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	if got := conv(attribution.TotalConversions)["ios/regular/Any purchase"]; got != [3]int64{1, 1, 0} {
		t.Fatalf("goal added by PUT: %v", got)
	}
	active, err := s.ActiveCampaigns(ctx, "w", t0.Add(90*time.Minute).UnixMilli(), t0.Add(3*time.Hour).UnixMilli(), attribution.ClickThrough)
	if err != nil || len(active) != 1 || active[0] != "P" {
		t.Fatalf("a control-group credit in range selects the campaign: %v %v", active, err)
	}
}

func isHeldOutMetric(m string) bool {
	return m == domain.MetricHeldCampaign || m == domain.MetricHeldGlobal
}

// nonZero drops rows whose value is 0 (a store may or may not return them).
func nonZero(rows []store.AggregateRow) []store.AggregateRow {
	var out []store.AggregateRow
	for _, r := range rows {
		if r.Value != 0 {
			out = append(out, r)
		}
	}
	return out
}
